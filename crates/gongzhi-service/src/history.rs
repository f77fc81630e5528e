//! A realistic case history, made by running the real deciders over simulated time: demo
//! data for a street office and the load for rebuild benchmarks. Deterministic per seed.

use chrono::{DateTime, Duration, Utc};
use gongzhi_domain::{
    Actor, AssignmentCommand, Case, CaseEvent, CaseId, Channel, Code, Command, Contact, ContactVia,
    Directory, FileConcern, IntakeCommand, Outcome, Priority, Reporter, ResolutionCommand, Role,
    Rules, Satisfaction, TrackingCode, decide,
};

use std::collections::HashMap;

use gongzhi_store::{AppendError, AppendRequest, EventStore, Metadata, NewEvent, Position};
use uuid::Uuid;

use crate::causal::Seen;
use crate::filing::secret_digest;
use crate::service::Policy;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct HistoryPlan {
    pub cases: usize,
    /// Filing times are spread evenly over `days` days ending at `now`; anything that would
    /// happen after `now` has not happened yet, so recent cases are still open.
    pub days: u32,
    pub now: DateTime<Utc>,
    pub street_prefix: String,
    pub communities: Vec<Code>,
    pub categories: Vec<Code>,
    pub units: Vec<Code>,
    pub seed: u64,
}

impl HistoryPlan {
    /// A plan over every community, category and unit of a directory, with the tracking
    /// prefix of its (first) street.
    pub fn for_directory(
        directory: &Directory,
        cases: usize,
        days: u32,
        now: DateTime<Utc>,
        seed: u64,
    ) -> Self {
        Self {
            cases,
            days,
            now,
            street_prefix: directory
                .areas
                .iter()
                .find_map(|a| a.prefix.clone())
                .unwrap_or_else(|| "GZ".to_owned()),
            communities: directory.communities().map(|a| a.code.clone()).collect(),
            categories: directory
                .categories
                .iter()
                .map(|c| c.code.clone())
                .collect(),
            units: directory.units.iter().map(|u| u.code.clone()).collect(),
            seed,
        }
    }
}

/// One event of the simulated history, with when and by whom it happened.
#[derive(Debug, Clone)]
pub struct HistoricEvent {
    /// Made once, so every replica the history is loaded into holds the same event.
    pub event_id: Uuid,
    pub case_id: CaseId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub event: CaseEvent,
}

/// A small, fast, deterministic generator (splitmix64); no need for a crate.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn minutes(&mut self, low: i64, high: i64) -> Duration {
        Duration::minutes(low + (self.next() % (high - low + 1) as u64) as i64)
    }
}

const TITLES: &[(&str, &str)] = &[
    ("夜间施工噪音扰民", "工地每晚施工到凌晨，严重影响休息"),
    ("小区垃圾清运不及时", "垃圾桶满溢三天无人清理，气味很大"),
    ("物业擅自提高停车费", "物业未经业主大会同意上调月租车位费"),
    ("楼道照明损坏", "3栋2单元楼道灯坏了两周，老人上下楼不便"),
    ("工厂拖欠工资", "所在工厂已拖欠两个月工资，多次讨要无果"),
    ("路口违停严重", "石龙路口长期有车辆违停，造成拥堵"),
    ("小区二次供水水质发黄", "早上放水发黄，担心水质安全"),
    (
        "企业申报高新技术资质咨询",
        "希望了解高新技术企业认定的申报条件和流程",
    ),
    ("共享单车乱停放", "地铁口共享单车堆积堵塞人行道"),
    ("餐馆油烟扰民", "楼下餐馆油烟直排，窗户无法打开"),
];

/// Appends a generated history to a store in time order, `batch` events per transaction,
/// calling `progress` with the number written so far. Returns the position of the last
/// event written. The same history loaded into several stores gives each the same events
/// (ids, order and what each writer had seen): replicas of one another.
pub async fn load<S: EventStore>(
    store: &S,
    events: &[HistoricEvent],
    batch: usize,
    mut progress: impl FnMut(usize),
) -> Result<Position, AppendError> {
    let mut last = Position::START;
    let mut seen: HashMap<CaseId, Seen> = HashMap::new();
    let mut written = 0;
    for chunk in events.chunks(batch.max(1)) {
        let owned: Vec<(Uuid, u64, [NewEvent; 1], Metadata)> = chunk
            .iter()
            .map(|e| {
                let case = seen.entry(e.case_id).or_default();
                let before = *case;
                case.add(e.event.context());
                let event = NewEvent {
                    event_id: e.event_id,
                    context: e.event.context().as_str(),
                    event_type: e.event.event_type(),
                    schema_version: e.event.schema_version(),
                    payload: e.event.to_payload(),
                    causal: Some(before.to_string()),
                };
                let metadata = Metadata {
                    actor: e.actor.label(),
                    correlation_id: Uuid::now_v7(),
                    causation_id: None,
                    idempotency_key: None,
                    recorded_at: e.at,
                };
                (e.case_id.as_uuid(), before.total(), [event], metadata)
            })
            .collect();
        let requests: Vec<AppendRequest<'_>> = owned
            .iter()
            .map(|(stream_id, expected, events, metadata)| AppendRequest {
                stream_id: *stream_id,
                expected_version: *expected,
                events,
                metadata,
            })
            .collect();
        if let Some(appended) = store.append_batch(&requests).await?.last() {
            last = appended.last_position;
        }
        written += chunk.len();
        progress(written);
    }
    Ok(last)
}

/// Simulates the plan; events come back in time order.
pub fn generate(plan: &HistoryPlan, policy: &Policy) -> Vec<HistoricEvent> {
    let mut dice = Dice(plan.seed);
    let start = plan.now - Duration::days(i64::from(plan.days));
    let spacing = Duration::days(i64::from(plan.days)) / (plan.cases.max(1) as i32);
    let mut events = Vec::with_capacity(plan.cases * 11);
    let mut recent: Vec<CaseId> = Vec::new();
    for n in 0..plan.cases {
        let filed_at = start + spacing * n as i32 + dice.minutes(0, 30);
        if filed_at >= plan.now {
            break;
        }
        // A UUIDv7 stamped with the filing time, its random part from the dice.
        let random: [u8; 16] = [dice.next().to_le_bytes(), dice.next().to_le_bytes()]
            .concat()
            .try_into()
            .unwrap_or([0; 16]);
        let millis = u64::try_from(filed_at.timestamp_millis()).unwrap_or(0);
        let case_id = CaseId::from_uuid(
            uuid::Builder::from_unix_timestamp_millis(
                millis,
                &random[..10].try_into().unwrap_or([0; 10]),
            )
            .into_uuid(),
        );
        let mut case = CaseSim::new(case_id, plan, policy, filed_at, &mut events);
        case.live(&mut dice, plan, &recent);
        recent.push(case.case.id);
        if recent.len() > 50 {
            recent.remove(0);
        }
    }
    events.sort_by_key(|e| e.at);
    events
}

/// One case moving through time.
struct CaseSim<'a> {
    case: Case,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    policy: &'a Policy,
    out: &'a mut Vec<HistoricEvent>,
}

impl<'a> CaseSim<'a> {
    fn new(
        case_id: CaseId,
        plan: &HistoryPlan,
        policy: &'a Policy,
        filed_at: DateTime<Utc>,
        out: &'a mut Vec<HistoricEvent>,
    ) -> Self {
        Self {
            case: Case::new(case_id),
            at: filed_at,
            now: plan.now,
            policy,
            out,
        }
    }

    /// Runs a command `after` the previous step; false once the simulated present is reached.
    fn step(&mut self, after: Duration, actor: &Actor, command: Command) -> bool {
        let at = self.at + after;
        self.run_timers(at);
        if at > self.now {
            return false;
        }
        self.at = at;
        self.apply(at, actor, &command)
    }

    fn apply(&mut self, at: DateTime<Utc>, actor: &Actor, command: &Command) -> bool {
        let rules = Rules {
            now: at,
            sla: &self.policy.sla,
            calendar: &self.policy.calendar,
        };
        let Ok(events) = decide(&self.case, actor, command, &rules) else {
            return false;
        };
        for event in events {
            self.case = self.case.clone().evolve(&event, at);
            self.out.push(HistoricEvent {
                event_id: Uuid::now_v7(),
                case_id: self.case.id,
                at,
                actor: actor.clone(),
                event,
            });
        }
        true
    }

    /// The deadline timer and the feedback-window timer, firing at their moments up to `until`.
    fn run_timers(&mut self, until: DateTime<Utc>) {
        let until = until.min(self.now);
        if let Some(dispatch) = self.case.dispatch.clone() {
            for due in [dispatch.response_due, dispatch.resolution_due] {
                if due <= until && due > self.at {
                    self.apply(
                        due,
                        &Actor::System,
                        &Command::Assignment(AssignmentCommand::CheckDeadlines),
                    );
                }
            }
        }
        if let Some(resolved_at) = self.case.resolved_at {
            let window_ends = self
                .policy
                .sla
                .feedback_window
                .after(resolved_at, &self.policy.calendar);
            if window_ends <= until {
                self.apply(
                    window_ends,
                    &Actor::System,
                    &Command::Resolution(ResolutionCommand::CheckFeedbackWindow),
                );
            }
        }
    }

    fn live(&mut self, dice: &mut Dice, plan: &HistoryPlan, recent: &[CaseId]) {
        let operator = Actor::staff("operator", Role::Operator, None);
        let council = Actor::staff("council", Role::Council, None);
        let community = dice.pick(&plan.communities).clone();
        let category = dice.pick(&plan.categories).clone();
        let (title, description) = *dice.pick(TITLES);
        let channel = *dice.pick(&[
            Channel::Hotline,
            Channel::Hotline,
            Channel::App,
            Channel::Web,
            Channel::WalkIn,
            Channel::CouncilSession,
            Channel::EnterpriseService,
            Channel::GridPatrol,
        ]);
        let filer = if matches!(channel, Channel::App | Channel::Web) {
            Actor::Resident
        } else {
            operator.clone()
        };
        let phone = format!("13{:09}", dice.next() % 1_000_000_000);
        let filing = FileConcern {
            tracking_code: TrackingCode::generate(
                &plan.street_prefix,
                self.at,
                self.policy.calendar.offset(),
                dice.next().to_le_bytes()[..4].try_into().unwrap_or([0; 4]),
            ),
            secret_digest: secret_digest(&format!("{:X}", dice.next())),
            channel,
            community,
            category: dice.chance(40).then(|| category.clone()),
            title: title.to_owned(),
            description: description.to_owned(),
            address: None,
            location: None,
            reporter: Some(Reporter {
                name: None,
                phone: Some(phone),
                email: None,
            }),
            anonymous: dice.chance(10),
            confidential: dice.chance(5),
        };
        if !self.apply(
            self.at,
            &filer,
            &Command::Intake(IntakeCommand::FileConcern(Box::new(filing))),
        ) {
            return;
        }
        if dice.chance(3) {
            self.step(
                dice.minutes(10, 600),
                &filer,
                Command::Intake(IntakeCommand::WithdrawConcern {
                    reason: Some("问题已自行解决".into()),
                }),
            );
            return;
        }
        if dice.chance(3) && !recent.is_empty() {
            let into = *dice.pick(recent);
            self.step(
                dice.minutes(20, 240),
                &council,
                Command::Assignment(AssignmentCommand::MergeDuplicate { into }),
            );
            return;
        }
        if dice.chance(3) {
            self.step(
                dice.minutes(20, 240),
                &council,
                Command::Assignment(AssignmentCommand::RejectConcern {
                    reason: "不属于受理范围".into(),
                }),
            );
            return;
        }
        let priority = if dice.chance(8) {
            Priority::Urgent
        } else {
            Priority::Normal
        };
        // Most concerns are triaged within hours; a backlog waits days.
        let triage_after = if dice.chance(85) {
            dice.minutes(20, 240)
        } else {
            dice.minutes(600, 4_000)
        };
        if !self.step(
            triage_after,
            &council,
            Command::Assignment(AssignmentCommand::TriageCase { category, priority }),
        ) {
            return;
        }
        let mut unit = dice.pick(&plan.units).clone();
        let dispatch_after = if dice.chance(85) {
            dice.minutes(10, 120)
        } else {
            dice.minutes(300, 3_000)
        };
        if !self.step(
            dispatch_after,
            &council,
            Command::Assignment(AssignmentCommand::DispatchCase {
                unit: unit.clone(),
                note: None,
            }),
        ) {
            return;
        }
        if dice.chance(12) {
            let handler = Actor::staff("handler", Role::Handler, Some(unit.clone()));
            if !self.step(
                dice.minutes(30, 600),
                &handler,
                Command::Assignment(AssignmentCommand::ReturnDispatch {
                    reason: "不属于本单位职责".into(),
                }),
            ) {
                return;
            }
            unit = dice.pick(&plan.units).clone();
            if !self.step(
                dice.minutes(10, 120),
                &council,
                Command::Assignment(AssignmentCommand::DispatchCase {
                    unit: unit.clone(),
                    note: None,
                }),
            ) {
                return;
            }
        }
        let handler = Actor::staff("handler", Role::Handler, Some(unit));
        let accept_after = if dice.chance(85) {
            dice.minutes(10, 300)
        } else {
            dice.minutes(600, 3_000)
        };
        if !self.step(
            accept_after,
            &handler,
            Command::Assignment(AssignmentCommand::AcceptDispatch),
        ) {
            return;
        }
        for round in 0..2 {
            let contact = Command::Resolution(ResolutionCommand::RecordContact(Contact {
                via: ContactVia::Phone,
                note: None,
            }));
            // Most contacts land within the working day; some are late.
            let delay = if dice.chance(85) {
                dice.minutes(30, 900)
            } else {
                dice.minutes(1_500, 4_000)
            };
            if !self.step(delay, &handler, contact) {
                return;
            }
            if dice.chance(50)
                && !self.step(
                    dice.minutes(600, 4_000),
                    &handler,
                    Command::Resolution(ResolutionCommand::RecordProgress {
                        note: "已现场核查，正在协调处理".into(),
                    }),
                )
            {
                return;
            }
            let outcome = *dice.pick(&[
                Outcome::Resolved,
                Outcome::Resolved,
                Outcome::Resolved,
                Outcome::Explained,
                Outcome::Unresolvable,
            ]);
            let work = if dice.chance(90) {
                dice.minutes(600, 12_000)
            } else {
                dice.minutes(20_000, 30_000)
            };
            if !self.step(
                work,
                &handler,
                Command::Resolution(ResolutionCommand::ResolveCase {
                    outcome,
                    summary: "已办结，详见处理意见".into(),
                }),
            ) {
                return;
            }
            if dice.chance(15) {
                // No rating: the feedback window closes the case by itself.
                self.run_timers(self.at + Duration::days(8));
                return;
            }
            let roll = dice.next() % 100;
            let satisfaction = match roll {
                0..70 => Satisfaction::Satisfied,
                70..85 => Satisfaction::BasicallySatisfied,
                _ => Satisfaction::Unsatisfied,
            };
            let rater = if dice.chance(60) {
                operator.clone()
            } else {
                Actor::Resident
            };
            // Whether the problem was solved and how the resident feels are separate answers.
            let resolved = match satisfaction {
                Satisfaction::Satisfied => dice.chance(95),
                Satisfaction::BasicallySatisfied => dice.chance(75),
                Satisfaction::Unsatisfied => dice.chance(10),
            };
            let feedback = Command::Resolution(ResolutionCommand::GiveFeedback {
                satisfaction,
                resolved,
                comment: None,
            });
            if !self.step(dice.minutes(60, 2_000), &rater, feedback) {
                return;
            }
            if satisfaction == Satisfaction::Unsatisfied && round == 0 && dice.chance(60) {
                if !self.step(
                    dice.minutes(30, 600),
                    &rater,
                    Command::Resolution(ResolutionCommand::ReopenCase {
                        reason: "诉求人不满意，重新办理".into(),
                    }),
                ) {
                    return;
                }
                continue;
            }
            self.step(
                dice.minutes(30, 300),
                &operator,
                Command::Resolution(ResolutionCommand::CloseCase {
                    reason: "回访结束，结案".into(),
                }),
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::TimeZone;
    use gongzhi_domain::{Calendar, SlaPolicy, Status};

    use super::*;

    fn plan(cases: usize) -> HistoryPlan {
        let code = |c: &str| Code::parse("code", c).unwrap();
        HistoryPlan {
            cases,
            days: 90,
            now: Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap(),
            street_prefix: "SY".into(),
            communities: ["shilong", "shiyan", "guantian"].map(code).to_vec(),
            categories: ["noise", "environment", "wage-arrears"].map(code).to_vec(),
            units: ["env-office", "urban-management", "labour-office"]
                .map(code)
                .to_vec(),
            seed: 7,
        }
    }

    fn policy() -> Policy {
        let sla = SlaPolicy::from_toml(include_str!("../../../data/sla.toml")).unwrap();
        let mut calendar = Calendar::china();
        calendar
            .load_year(include_str!("../../../data/calendar/2026.toml"))
            .unwrap();
        Policy { sla, calendar }
    }

    #[test]
    fn a_simulated_history_reaches_every_status_in_time_order() {
        let events = generate(&plan(600), &policy());
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
        let mut cases: std::collections::HashMap<CaseId, Case> = Default::default();
        for e in &events {
            let case = cases
                .remove(&e.case_id)
                .unwrap_or_else(|| Case::new(e.case_id));
            cases.insert(e.case_id, case.evolve(&e.event, e.at));
        }
        let statuses: HashSet<Status> = cases.values().filter_map(|c| c.status).collect();
        for status in [
            Status::Filed,
            Status::Triaged,
            Status::Dispatched,
            Status::InProgress,
            Status::Resolved,
            Status::Closed,
            Status::Withdrawn,
            Status::Rejected,
            Status::Merged,
        ] {
            assert!(
                statuses.contains(&status),
                "no case ended {status}: {statuses:?}"
            );
        }
        let kinds: HashSet<&str> = events.iter().map(|e| e.event.event_type()).collect();
        for kind in [
            "ResponseOverdue",
            "ResolutionOverdue",
            "CaseReopened",
            "DispatchReturned",
        ] {
            assert!(kinds.contains(kind), "no {kind}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_history_and_another_seed_another() {
        let a = generate(&plan(50), &policy());
        let b = generate(&plan(50), &policy());
        let mut other_plan = plan(50);
        other_plan.seed = 8;
        let other = generate(&other_plan, &policy());
        assert_ne!(
            a.first().map(|e| e.case_id),
            other.first().map(|e| e.case_id)
        );
        assert!(
            a.iter()
                .all(|e| e.at <= plan(50).now && e.at >= plan(50).now - chrono::Duration::days(90))
        );
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.case_id == y.case_id && x.event == y.event && x.at == y.at)
        );
    }
}
