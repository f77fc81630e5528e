//! Every text people read, in Chinese (the default) and English: one catalogue for the pages
//! and the API's bilingual names, checked by the compiler, so a text cannot exist in one
//! language only.
//!
//! Names from the directory are written "中文 English" in its data file; `name` picks the
//! reader's half.

use gongzhi_domain::{Channel, Problem};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }
}

macro_rules! texts {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        /// A text of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T { $($key),* }

        impl T {
            pub fn get(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Self::$key, Lang::Zh) => $zh, (Self::$key, Lang::En) => $en,)*
                }
            }
        }
    };
}

texts! {
    Brand => "共治", "Gongzhi";
    Tagline => "民生诉求，接诉即办", "Resident concerns, answered";
    SkipToContent => "跳到正文", "Skip to content";
    BackHome => "返回首页", "Back to the start page";
    Forbidden => "无权访问", "Not allowed";
    ForbiddenPage => "您的角色不能打开此页面。", "Your role cannot open this page.";
    NotFound => "未找到", "Not found";
    Error => "出错了", "Something went wrong";
    CsrfFailed => "表单已过期，请刷新页面后重试。", "This form has expired; reload the page and try again.";
    FixBelow => "请修改下面标出的内容。", "Please correct the fields marked below.";
    // Start page
    WhereToGo => "您要做什么？", "Where do you want to go?";
    ForResidents => "居民", "Residents";
    ForResidentsText => "反映问题、查询进度、评价办理结果，无需注册。", "Raise a concern, follow it and rate the outcome, no account needed.";
    ForStaff => "工作人员", "Staff";
    ForStaffText => "话务员登记来电；议事会成员分拨派单；承办单位办理；领导查看统计。", "Operators file calls; council members triage and dispatch; units resolve; leaders read the figures.";
    DemoAccounts => "演示账号", "Demo accounts";
    DemoPassword => "所有演示账号的密码", "Password of every demo account";
    Username => "用户名", "Username";
    Password => "密码", "Password";
    RoleCol => "角色", "Role";
    OpensAt => "登录后进入", "Opens at";
    ForDevelopers => "开发者", "Developers";
    ApiDocs => "接口文档 (OpenAPI)", "API document (OpenAPI)";
    // Roles
    RoleOperator => "话务员", "Operator";
    RoleCouncil => "议事会成员", "Council member";
    RoleHandler => "承办人", "Handler";
    RoleLeader => "领导", "Leader";
    RoleAdmin => "管理员", "Admin";
    // Navigation
    NavReport => "我要反映", "Raise a concern";
    NavTrack => "进度查询", "Track";
    NavLogin => "工作人员登录", "Staff sign-in";
    NavLogout => "退出", "Sign out";
    NavOperator => "来电登记", "Calls";
    NavQueue => "待办队列", "Queue";
    NavInbox => "承办工单", "Inbox";
    NavDashboard => "统计看板", "Dashboard";
    Language => "语言", "Language";
    // Login
    LoginTitle => "工作人员登录", "Staff sign-in";
    LoginButton => "登录", "Sign in";
    LoginFailed => "用户名或密码错误。", "Wrong username or password.";
    // Resident filing
    ReportTitle => "我要反映", "Raise a concern";
    ReportIntro => "请描述您遇到的问题，我们会在规定时限内联系您并办理。", "Tell us what is wrong; we contact you and handle it within set deadlines.";
    Community => "所在社区", "Community";
    Category => "问题类别", "Category";
    CategoryUnknown => "不确定（由工作人员分类）", "Not sure (staff will classify)";
    Choose => "请选择", "Choose";
    TitleField => "标题", "Title";
    TitleHint => "一句话说明问题", "The problem in one line";
    Description => "详细描述", "Description";
    DescriptionHint => "时间、地点、经过，越具体越好", "When, where, what happened: the more precise the better";
    Address => "地址", "Address";
    YourName => "您的姓名（选填）", "Your name (optional)";
    YourPhone => "联系电话（选填）", "Phone (optional)";
    PhoneHint => "用于回访，只有办理人员能看到", "For the call-back; only the people handling it see it";
    Anonymous => "匿名反映（不留姓名）", "Anonymous (no name)";
    Confidential => "保密（不向承办单位透露我的信息）", "Confidential (hide my details from the handling unit)";
    Submit => "提交", "Submit";
    // Receipt
    ReceiptTitle => "已受理", "Received";
    ReceiptText => "请保存以下查询码和查询密码，用于查询进度和评价。密码只显示这一次。", "Keep this tracking code and secret to follow and rate your concern. The secret is shown only this once.";
    TrackingCode => "查询码", "Tracking code";
    TrackingSecret => "查询密码", "Tracking secret";
    TrackIt => "查询办理进度", "Follow its progress";
    // Tracking
    TrackTitle => "进度查询", "Track a concern";
    TrackButton => "查询", "Look up";
    Status => "状态", "Status";
    FiledAt => "提交时间", "Filed";
    UpdatedAt => "更新时间", "Updated";
    Timeline => "办理过程", "Timeline";
    NoSuchConcern => "查无此诉求，请核对查询码。", "No concern has this tracking code; please check it.";
    RateTitle => "评价办理结果", "Rate the outcome";
    RateIntro => "请用提交时得到的查询密码评价。", "Rate with the secret you got when filing.";
    Satisfaction => "满意度", "Satisfaction";
    Satisfied => "满意", "Satisfied";
    BasicallySatisfied => "基本满意", "Basically satisfied";
    Unsatisfied => "不满意", "Unsatisfied";
    WasResolved => "问题是否解决", "Was it resolved?";
    Yes => "是", "Yes";
    No => "否", "No";
    Comment => "意见（选填）", "Comment (optional)";
    WrongSecret => "查询密码不正确", "The tracking secret does not match";
    RateButton => "提交评价", "Send rating";
    ThanksRated => "感谢您的评价。", "Thank you for your rating.";
    // Operator
    OperatorTitle => "来电登记", "Calls";
    QuickFile => "为来电群众登记", "File for a caller";
    CallerPhone => "来电号码", "Caller's phone";
    Filed => "已登记", "Filed";
    FollowUp => "回访队列", "Call-back queue";
    FollowUpText => "已办结、等待回访评价的工单。电话回访后记录群众的评价。", "Resolved cases waiting for a call-back; record the caller's rating after the call.";
    Record => "记录", "Record";
    NothingHere => "暂无", "Nothing here";
    // Lists
    QueueTitle => "待办队列", "Queue";
    QueueText => "新诉求会自动出现，无需刷新。", "New concerns appear here without reloading.";
    InboxTitle => "承办工单", "Inbox";
    Filter => "筛选", "Filter";
    Search => "搜索（查询码或标题）", "Search (tracking code or title)";
    AnyCategory => "全部类别", "Any category";
    OnlyOverdue => "只看超期", "Overdue only";
    Title => "标题", "Title";
    Deadline => "时限", "Deadline";
    Overdue => "已超期", "Overdue";
    Live => "实时更新中", "Live";
    // Statuses
    StFiled => "待分拨", "New";
    StTriaged => "待派单", "Awaiting dispatch";
    StDispatched => "已派单", "Dispatched";
    StInProgress => "办理中", "In progress";
    StResolved => "已办结", "Resolved";
    StClosed => "已结案", "Closed";
    StWithdrawn => "已撤回", "Withdrawn";
    StRejected => "不予受理", "Rejected";
    StMerged => "已合并", "Merged";
    Returned => "已退回", "Returned";
    // Channels
    ChHotline => "12345热线", "Hotline";
    ChApp => "App", "App";
    ChWeb => "网站", "Web";
    ChWalkIn => "窗口", "Walk-in";
    ChCouncilSession => "议事会", "Council session";
    ChEnterpriseService => "益企行", "Enterprise service";
    ChGridPatrol => "网格巡查", "Grid patrol";
    // Case page
    CaseTitle => "工单", "Case";
    Reporter => "反映人", "Reporter";
    ReporterHidden => "保密（不向承办单位显示）", "Confidential (hidden from the unit)";
    Channel => "渠道", "Channel";
    Unit => "承办单位", "Handling unit";
    Priority => "紧急程度", "Priority";
    Urgent => "紧急", "Urgent";
    Normal => "一般", "Normal";
    Low => "较低", "Low";
    ResponseDue => "响应时限", "Respond by";
    ResolutionDue => "办结时限", "Resolve by";
    Actions => "办理", "Actions";
    Duplicates => "疑似重复", "Likely duplicates";
    DuplicatesText => "同社区、同类别、近期且内容相近的诉求。合并后本工单随主工单办理。", "Same community and category, recent, with similar text. A merged case follows the main one.";
    MergeInto => "合并到此工单", "Merge into this one";
    NoDuplicates => "没有发现疑似重复的诉求。", "No likely duplicates found.";
    Done => "已完成", "Done";
    Conflict => "工单已被他人更新，请查看最新状态后重试。", "Someone else changed this case; look at it again and retry.";
    Note => "说明", "Note";
    NoteOptional => "说明（选填）", "Note (optional)";
    Reason => "原因", "Reason";
    Summary => "办理结果", "Summary";
    Outcome => "办理结论", "Outcome";
    OutcomeResolved => "已解决", "Resolved";
    OutcomeExplained => "已解释说明", "Explained";
    OutcomeUnresolvable => "无法解决", "Cannot be resolved";
    Via => "联系方式", "By";
    ViaPhone => "电话", "Phone";
    ViaVisit => "上门", "Visit";
    ViaMessage => "短信", "Message";
    EscalateTo => "上报至", "Escalate to";
    NewDeadline => "新的办结日期", "New resolution date";
    ActTriage => "分拨研判", "Classify";
    ActDispatch => "派单", "Dispatch";
    ActReject => "不予受理", "Reject";
    ActEscalate => "上报", "Escalate";
    ActMerge => "合并", "Merge";
    ActAccept => "签收", "Accept";
    ActReturn => "退回", "Return";
    ActContact => "记录联系", "Record contact";
    ActProgress => "记录进展", "Record progress";
    ActResolve => "办结", "Resolve";
    ActFeedback => "记录评价", "Record rating";
    ActReopen => "重办", "Reopen";
    ActClose => "结案", "Close";
    ActExtend => "延期", "Extend deadline";
    ActWithdraw => "撤回", "Withdraw";
    EvAmended => "补充诉求", "Amended";
    EvTriaged => "已分拨研判", "Classified";
    EvDispatched => "已派单", "Dispatched";
    EvAccepted => "已签收", "Accepted by the unit";
    EvReturned => "已退回重新分拨", "Returned for re-dispatch";
    EvEscalated => "已上报", "Escalated";
    EvMerged => "已合并", "Merged as a duplicate";
    EvRejected => "不予受理", "Not accepted";
    EvExtended => "已延期", "Deadline extended";
    EvContacted => "已联系诉求人", "Resident contacted";
    EvProgress => "办理进展", "Progress recorded";
    EvResolved => "已办结", "Resolved";
    EvRated => "已评价", "Rated";
    EvReopened => "重办", "Reopened";
    EvClosed => "已结案", "Closed";
    EvWithdrawn => "已撤回", "Withdrawn";
    EvResponseOverdue => "响应超期", "Response overdue";
    EvResolutionOverdue => "办结超期", "Resolution overdue";
    // Dashboard
    DashboardTitle => "统计看板", "Dashboard";
    Period => "统计期间", "Period";
    From => "开始日期", "From";
    To => "结束日期", "To";
    Area => "区域", "Area";
    AnyChannel => "全部渠道", "Any channel";
    ByDay => "按日", "By day";
    ByWeek => "按周", "By week";
    Apply => "查询", "Apply";
    Previous => "上期", "Previous period";
    Current => "本期", "This period";
    FiledCount => "受理量", "Filed";
    ResolvedCount => "办结量", "Resolved";
    ResponseRate => "及时响应率", "Response rate";
    ResolutionRate => "解决率", "Resolution rate";
    SatisfactionRate => "满意率", "Satisfaction rate";
    OnTimeRate => "按期办结率", "On-time rate";
    OpenNow => "在办", "Open now";
    OverdueNow => "超期在办", "Overdue now";
    Returns => "退单", "Returns";
    Reopened => "重办", "Reopened";
    Rated => "已评价", "Rated";
    MedianContact => "响应用时中位数（小时）", "Median hours to contact";
    MedianResolve => "办结用时中位数（小时）", "Median hours to resolve";
    Trend => "趋势", "Trend";
    ByCommunity => "按社区", "By community";
    ByUnit => "按承办单位", "By unit";
    Rank => "排名", "Rank";
    RankNote => "评价数不少于最小样本的才参与排名", "Only groups with at least the minimum sample of ratings are ranked";
    OverdueByAge => "超期工单（按超期时长）", "Overdue cases by age";
    UpToDay => "1天以内", "Up to 1 day";
    OneToThree => "1-3天", "1-3 days";
    ThreeToSeven => "3-7天", "3-7 days";
    OverSeven => "7天以上", "Over 7 days";
    Cases => "件", "cases";
    Export => "导出", "Export";
    Figure => "指标", "Figure";
    Change => "变化", "Change";
    Day => "日期", "Day";
}

/// A channel's name for people.
pub fn channel_text(channel: Channel) -> T {
    match channel {
        Channel::Hotline => T::ChHotline,
        Channel::App => T::ChApp,
        Channel::Web => T::ChWeb,
        Channel::WalkIn => T::ChWalkIn,
        Channel::CouncilSession => T::ChCouncilSession,
        Channel::EnterpriseService => T::ChEnterpriseService,
        Channel::GridPatrol => T::ChGridPatrol,
    }
}

/// The reader's name of a channel given by its API name (the name itself if unknown).
pub fn channel(lang: Lang, channel: &str) -> &str {
    Channel::parse(channel).map_or(channel, |c| channel_text(c).get(lang))
}

/// The reader's half of a directory name written "中文 English".
pub fn name(lang: Lang, name: &str) -> &str {
    match (lang, name.split_once(' ')) {
        (Lang::Zh, Some((zh, _))) => zh,
        (Lang::En, Some((_, en))) => en,
        _ => name,
    }
}

/// A field problem in the reader's language.
pub fn problem(lang: Lang, problem: &Problem) -> String {
    match lang {
        Lang::En => problem.to_string(),
        Lang::Zh => match problem {
            Problem::Missing | Problem::Empty => "此项必填".to_owned(),
            Problem::TooLong { max } => format!("最多 {max} 个字"),
            Problem::ControlCharacters => "含有不可见的控制字符".to_owned(),
            Problem::Phone => "请填写 5-15 位数字的电话号码".to_owned(),
            Problem::Email => "电子邮箱须包含 @".to_owned(),
            Problem::NameWhenAnonymous => "匿名反映时不能填写姓名".to_owned(),
            Problem::Other(text) => format!("填写有误：{text}"),
        },
    }
}

/// A refusal that belongs to no one field, in the reader's language.
pub fn refusal(lang: Lang, error: &ApiError) -> String {
    let text = match error {
        ApiError::Conflict {
            code: "version_conflict",
            ..
        } => T::Conflict,
        ApiError::Forbidden(_) | ApiError::Unauthorized(_) => T::ForbiddenPage,
        ApiError::NotFound(_) => T::NotFound,
        _ => T::Error,
    };
    // The API's own words carry the detail (a rule, a state); they are bilingual or English.
    match error {
        ApiError::Internal(_) => text.get(lang).to_owned(),
        other => format!("{} ({other})", text.get(lang)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_split_into_the_readers_language() {
        assert_eq!(name(Lang::Zh, "石龙社区 Shilong"), "石龙社区");
        assert_eq!(name(Lang::En, "宝安区 Bao'an District"), "Bao'an District");
        assert_eq!(name(Lang::En, "App"), "App");
    }

    #[test]
    fn problems_are_said_in_chinese_first() {
        assert_eq!(problem(Lang::Zh, &Problem::Empty), "此项必填");
        assert_eq!(
            problem(Lang::En, &Problem::TooLong { max: 200 }),
            "must be at most 200 characters"
        );
    }
}
