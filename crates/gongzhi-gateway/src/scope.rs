//! Role and area scope (DESIGN §1, §7): who may read which cases, and how much of the
//! reporter they see. The domain checks what a role may do; this checks where.

use gongzhi_accounts::User;
use gongzhi_domain::{AreaLevel, Code, Directory, Reporter, Role};
use gongzhi_views::CaseSummary;

use crate::error::ApiError;

/// The community a user's area stands for when it is below one (a grid worker).
fn community_of<'a>(directory: &'a Directory, area: &'a Code) -> &'a Code {
    match directory.area(area) {
        Some(node) if node.level > AreaLevel::Community => node.parent.as_ref().unwrap_or(area),
        _ => area,
    }
}

/// The communities a staff member (other than a handler) may see.
pub fn communities(directory: &Directory, user: &User) -> Vec<String> {
    let Some(area) = &user.area else {
        return Vec::new();
    };
    let anchor = community_of(directory, area);
    directory
        .communities()
        .filter(|community| directory.is_within(&community.code, anchor))
        .map(|community| community.code.to_string())
        .collect()
}

/// Whether `user` may see this case at all.
pub fn can_see(directory: &Directory, user: &User, case: &CaseSummary) -> bool {
    match user.role {
        Role::Handler => user
            .unit
            .as_ref()
            .is_some_and(|unit| case.unit.as_deref() == Some(unit.as_str())),
        _ => communities(directory, user).contains(&case.community),
    }
}

/// Refuses with 403 unless `user` may see the case.
pub fn check(directory: &Directory, user: &User, case: &CaseSummary) -> Result<(), ApiError> {
    if can_see(directory, user, case) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "case {} is outside your area or unit / 该工单不在您的辖区或单位范围内",
            case.case_id
        )))
    }
}

/// How much of the reporter a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReporterView {
    /// Operators and council members call the resident back and triage with them.
    Full,
    /// Leaders and admins read figures, not people.
    Masked,
    /// A confidential concern hides the reporter from the handling unit.
    Hidden,
}

pub fn reporter_view(user: &User, confidential: bool) -> ReporterView {
    match user.role {
        Role::Operator | Role::Council => ReporterView::Full,
        Role::Handler if confidential => ReporterView::Hidden,
        Role::Handler => ReporterView::Full,
        Role::Leader | Role::Admin => ReporterView::Masked,
    }
}

/// The reporter as `view` allows.
pub fn show_reporter(reporter: Option<&Reporter>, view: ReporterView) -> Option<Reporter> {
    match view {
        ReporterView::Full => reporter.cloned(),
        ReporterView::Hidden => None,
        ReporterView::Masked => reporter.map(|r| Reporter {
            name: r.name.as_deref().map(mask_name),
            phone: r.phone.as_deref().map(mask_phone),
            email: r.email.as_deref().map(mask_email),
        }),
    }
}

/// `13812345678` → `138****5678`; short numbers keep only their last two digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 7 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let keep = chars.len().min(2);
        let tail: String = chars[chars.len() - keep..].iter().collect();
        format!("{}{tail}", "*".repeat(chars.len() - keep))
    }
}

/// `张三丰` → `张**`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

/// `zhang@example.com` → `z***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().unwrap_or('*');
            format!("{first}***@{domain}")
        }
        None => mask_name(email),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_names_and_emails_are_masked_as_people_expect() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "***45");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_email("zhang@example.com"), "z***@example.com");
    }

    #[test]
    fn a_confidential_reporter_is_hidden_from_the_handler_only() {
        let user = |role| User {
            username: "u".into(),
            role,
            area: None,
            unit: None,
            display_name: String::new(),
        };
        assert_eq!(
            reporter_view(&user(Role::Handler), true),
            ReporterView::Hidden
        );
        assert_eq!(
            reporter_view(&user(Role::Handler), false),
            ReporterView::Full
        );
        assert_eq!(
            reporter_view(&user(Role::Council), true),
            ReporterView::Full
        );
        assert_eq!(
            reporter_view(&user(Role::Leader), false),
            ReporterView::Masked
        );
    }
}
