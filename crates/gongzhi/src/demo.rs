//! Demo accounts for `gongzhi dev`, one per role, scoped to places in the directory, and
//! the welcome text that tells a newcomer where to go.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Result;
use gongzhi_accounts::{Accounts, NewAccount};
use gongzhi_domain::{AreaLevel, Code, Directory, Role};

/// The password of every demo account. Demo data only: `gongzhi admin user add` makes real
/// accounts.
pub const DEMO_PASSWORD: &str = "gongzhi-demo";

/// The demo accounts by name and role, as the start page lists them (the plan below makes
/// `handler2` only when the directory has a second unit; the shipped one does).
const DEMO_USERS: &[(&str, Role)] = &[
    ("hotline", Role::Operator),
    ("council", Role::Council),
    ("handler", Role::Handler),
    ("handler2", Role::Handler),
    ("leader", Role::Leader),
    ("admin", Role::Admin),
];

#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub role: Role,
    pub scope: String,
    pub display_name: String,
}

/// Creates one account per role: the operator, leader and admin over the first street,
/// the council member over its first community, a handler in a unit of that community.
pub async fn create_accounts(
    accounts: &Accounts,
    directory: &Directory,
) -> Result<Vec<DemoAccount>> {
    let street = directory
        .areas
        .iter()
        .find(|a| a.level == AreaLevel::Street)
        .or_else(|| directory.areas.first());
    let community = directory.communities().next();
    let Some((street, community)) = street.zip(community) else {
        anyhow::bail!("the directory needs a street and a community for demo accounts");
    };
    let unit = directory
        .units
        .iter()
        .find(|u| u.area == community.code)
        .or_else(|| directory.units.first());
    let Some(unit) = unit else {
        anyhow::bail!("the directory needs a handling unit for demo accounts");
    };
    let other_unit = directory.units.iter().find(|u| u.code != unit.code);
    let account =
        |username: &str, role, area: Option<&Code>, unit: Option<&Code>, name: String| NewAccount {
            username: username.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
            role,
            area: area.cloned(),
            unit: unit.cloned(),
            display_name: name,
        };
    let mut plan = vec![
        account(
            "hotline",
            Role::Operator,
            Some(&street.code),
            None,
            format!("话务员 Hotline operator, {}", street.name),
        ),
        account(
            "council",
            Role::Council,
            Some(&community.code),
            None,
            format!("议事会 Council member, {}", community.name),
        ),
        account(
            "handler",
            Role::Handler,
            None,
            Some(&unit.code),
            format!("承办人 Handler, {}", unit.name),
        ),
        account(
            "leader",
            Role::Leader,
            Some(&street.code),
            None,
            format!("街道领导 Leader, {}", street.name),
        ),
        account(
            "admin",
            Role::Admin,
            Some(&street.code),
            None,
            format!("管理员 Admin, {}", street.name),
        ),
    ];
    if let Some(other) = other_unit {
        plan.push(account(
            "handler2",
            Role::Handler,
            None,
            Some(&other.code),
            format!("承办人 Handler, {}", other.name),
        ));
    }
    let mut created = Vec::new();
    for new in plan {
        accounts.add(&new).await?;
        created.push(DemoAccount {
            scope: new
                .area
                .as_ref()
                .or(new.unit.as_ref())
                .map(ToString::to_string)
                .unwrap_or_default(),
            username: new.username,
            role: new.role,
            display_name: new.display_name,
        });
    }
    Ok(created)
}

/// The demo accounts the start page lists, whether made at this start or an earlier one.
pub fn start_page_accounts() -> Vec<(String, Role)> {
    DEMO_USERS
        .iter()
        .map(|(username, role)| ((*username).to_owned(), *role))
        .collect()
}

/// What a newcomer reads when `gongzhi dev` is ready.
pub fn print_welcome(
    address: SocketAddr,
    data_dir: &Path,
    accounts: &[DemoAccount],
    demo_events: usize,
) {
    let host = if address.ip().is_unspecified() {
        format!("127.0.0.1:{}", address.port())
    } else {
        address.to_string()
    };
    println!("\n共治 Gongzhi 已启动 is running at http://{host}/");
    println!("  API 文档 OpenAPI:  http://{host}/api/v1/openapi.json");
    println!("  健康 health:       http://{host}/healthz   指标 metrics: http://{host}/metrics");
    println!("  数据目录 data dir: {}", data_dir.display());
    if demo_events > 0 {
        println!("  演示数据 demo history: {demo_events} events over the last 90 days");
    }
    if !accounts.is_empty() {
        println!("\n  演示账号 demo accounts (password / 密码: {DEMO_PASSWORD}):");
        for account in accounts {
            println!(
                "    {:<10} {:<9} {:<20} {}",
                account.username,
                account.role.as_str(),
                account.scope,
                account.display_name
            );
        }
        println!(
            "\n  例 e.g.: curl -s -X POST http://{host}/api/v1/sessions -H 'content-type: application/json' \\\n         -d '{{\"username\":\"leader\",\"password\":\"{DEMO_PASSWORD}\"}}'"
        );
    }
    println!("\n  按 Ctrl-C 停止 / press Ctrl-C to stop.\n");
}
