//! The figures of DESIGN §4 from `/api/v1/stats` against a hand-computed expectation.
//!
//! Four concerns, Monday 2026-11-23 to Friday 11-27 (China time):
//! - A (石龙, noise): dispatched Mon 10:00, contacted Mon 12:00 (2 h, on time), resolved
//!   Tue 10:00 (24 h), rated satisfied and resolved.
//! - B (石龙, noise): dispatched Mon 10:00, response due Tue 10:00, contacted Wed 10:00
//!   (48 h, late: the timer records ResponseOverdue), resolved Wed 14:00 (52 h), rated
//!   unsatisfied, not resolved.
//! - C (石龙): filed Tue, never classified.
//! - D (浪心, environment): dispatched Mon 11:30, contacted Mon 12:00 (0.5 h), resolved
//!   Mon 20:00 (8.5 h), rated satisfied and resolved.

use std::sync::Arc;
use std::time::Duration;

use gongzhi_service::ManualClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Options, Server, concern, id};
use crate::support::cst;

async fn wait_for_event(server: &Server, token: &str, case: &str, kind: &str) {
    for _ in 0..200 {
        let (_, events) = server
            .get(&format!("/api/v1/cases/{case}/events"), Some(token))
            .await;
        if events.as_array().unwrap().iter().any(|e| e["type"] == kind) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{kind} was never recorded for {case}");
}

/// Files, triages, dispatches and accepts; returns the case id and tracking secret.
async fn dispatched(
    server: &Server,
    council: &str,
    handler: &str,
    community: &str,
    category: &str,
    unit: &str,
    (filed, dispatched): ((u32, u32, u32), (u32, u32, u32)),
) -> (String, String) {
    server.clock.set(cst(11, filed.0, filed.1, filed.2));
    let reply = server
        .file(None, concern(community, &format!("{category} 诉求")))
        .await;
    let case = id(&reply);
    server
        .act(
            council,
            &case,
            "triage",
            json!({"category": category, "priority": "normal"}),
        )
        .await;
    server
        .clock
        .set(cst(11, dispatched.0, dispatched.1, dispatched.2));
    server
        .act(council, &case, "dispatch", json!({"unit": unit}))
        .await;
    server.act(handler, &case, "accept", json!({})).await;
    (case, reply["tracking_secret"].as_str().unwrap().to_owned())
}

async fn rate(server: &Server, case: &str, secret: &str, satisfaction: &str, resolved: bool) {
    let (status, body) = server
        .post(
            &format!("/api/v1/cases/{case}/feedback"),
            None,
            json!({"satisfaction": satisfaction, "resolved": resolved, "tracking_secret": secret}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn figures(value: &Value) -> Value {
    let keys = [
        "filed",
        "dispatched",
        "resolved",
        "closed",
        "open",
        "overdue",
        "rated",
        "response_rate",
        "resolution_rate",
        "satisfaction_rate",
        "on_time_rate",
        "median_hours_to_contact",
        "median_hours_to_resolve",
        "returns",
        "reopened",
        "response_overdue",
    ];
    Value::Object(
        keys.iter()
            .map(|k| ((*k).to_owned(), value[*k].clone()))
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_agree_with_a_hand_computed_expectation() {
    the_figures_agree_with_a_hand_computed_expectation_with(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_agree_with_a_hand_computed_expectation_distributed() {
    the_figures_agree_with_a_hand_computed_expectation_with(true).await;
}

async fn the_figures_agree_with_a_hand_computed_expectation_with(distributed: bool) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let options = Options {
        min_sample: 2,
        distributed,
        ..Options::default()
    };
    let server = Server::start_with(dir.path(), clock, &options).await;
    let council = server.login("council").await; // 石龙
    let admin = server.login("admin").await; // the street: triages 浪心 too
    let handler = server.login("handler").await; // shilong-workstation
    let handler2 = server.login("handler2").await; // urban-management
    let leader = server.login("leader").await;

    let (a, a_secret) = dispatched(
        &server,
        &council,
        &handler,
        "shilong",
        "noise",
        "shilong-workstation",
        ((23, 9, 0), (23, 10, 0)),
    )
    .await;
    let (b, b_secret) = dispatched(
        &server,
        &council,
        &handler,
        "shilong",
        "noise",
        "shilong-workstation",
        ((23, 9, 30), (23, 10, 0)),
    )
    .await;
    let (d, d_secret) = dispatched(
        &server,
        &admin,
        &handler2,
        "langxin",
        "environment",
        "urban-management",
        ((23, 11, 0), (23, 11, 30)),
    )
    .await;

    server.clock.set(cst(11, 23, 12, 0));
    server
        .act(&handler, &a, "contact", json!({"via": "phone"}))
        .await;
    server
        .act(&handler2, &d, "contact", json!({"via": "visit"}))
        .await;
    server.clock.set(cst(11, 23, 20, 0));
    server
        .act(
            &handler2,
            &d,
            "resolve",
            json!({"outcome": "resolved", "summary": "已清理"}),
        )
        .await;
    rate(&server, &d, &d_secret, "satisfied", true).await;

    server.clock.set(cst(11, 24, 9, 0));
    let c = id(&server.file(None, concern("shilong", "其他诉求")).await);
    server.clock.set(cst(11, 24, 10, 0));
    server
        .act(
            &handler,
            &a,
            "resolve",
            json!({"outcome": "resolved", "summary": "已处理"}),
        )
        .await;
    rate(&server, &a, &a_secret, "satisfied", true).await;

    server.clock.set(cst(11, 25, 10, 0));
    wait_for_event(&server, &council, &b, "ResponseOverdue").await;
    server
        .act(&handler, &b, "contact", json!({"via": "phone"}))
        .await;
    server.clock.set(cst(11, 25, 14, 0));
    server
        .act(
            &handler,
            &b,
            "resolve",
            json!({"outcome": "explained", "summary": "已解释"}),
        )
        .await;
    rate(&server, &b, &b_secret, "unsatisfied", false).await;
    assert_eq!(server.case(&council, &c).await["status"], "filed");

    let (status, stats) = server
        .get(
            "/api/v1/stats?from=2026-11-23&to=2026-11-27&group_by=community",
            Some(&leader),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(
        figures(&stats["total"]),
        json!({
            "filed": 4, "dispatched": 3, "resolved": 3, "closed": 0, "open": 4, "overdue": 0,
            "rated": 3,
            "response_rate": 0.6667, // A and D contacted by their deadline, B not: 2 / 3
            "resolution_rate": 0.6667, // A and D rated resolved: 2 / 3
            "satisfaction_rate": 0.6667, // A and D satisfied: 2 / 3
            "on_time_rate": 1.0, // all three resolved within 13 or 3 working days
            // Contact hours 0.5, 2, 48 in buckets (0,1], (1,2], (24,48]: the 1.5th of 3
            // lies half-way into (1,2].
            "median_hours_to_contact": 1.5,
            // Resolve hours 8.5, 24, 52 in (8,24], (8,24], (48,72]: 8 + 16 × 1.5/2.
            "median_hours_to_resolve": 20.0,
            "returns": 0, "reopened": 0, "response_overdue": 1,
        })
    );
    let groups = stats["groups"].as_array().unwrap();
    let group = |key: &str| groups.iter().find(|g| g["key"] == key).unwrap().clone();
    let shilong = group("shilong");
    assert_eq!(shilong["name"], "石龙社区 Shilong");
    assert_eq!(
        figures(&shilong),
        json!({
            "filed": 3, "dispatched": 2, "resolved": 2, "closed": 0, "open": 3, "overdue": 0,
            "rated": 2, "response_rate": 0.5, "resolution_rate": 0.5, "satisfaction_rate": 0.5,
            "on_time_rate": 1.0,
            "median_hours_to_contact": 2.0, // 2 and 48 h: the first of two, at its bucket's top
            "median_hours_to_resolve": 24.0, // 24 and 52 h
            "returns": 0, "reopened": 0, "response_overdue": 1,
        })
    );
    assert_eq!(
        shilong["rank"], 1,
        "two rated cases reach the minimum sample of 2"
    );
    let langxin = group("langxin");
    assert_eq!(langxin["satisfaction_rate"], 1.0);
    assert!(
        langxin["rank"].is_null(),
        "one rated case is below the minimum sample: a perfect score must not top the league"
    );

    // By category: the unclassified concern is its own group; by day, no snapshot counts.
    let (_, by_category) = server
        .get(
            "/api/v1/stats?from=2026-11-23&to=2026-11-27&group_by=category",
            Some(&leader),
        )
        .await;
    let unclassified = by_category["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "")
        .unwrap()
        .clone();
    assert_eq!(unclassified["filed"], 1);
    assert_eq!(unclassified["name"], "未分类 Not classified");
    let (_, by_day) = server
        .get(
            "/api/v1/stats?from=2026-11-23&to=2026-11-23&group_by=day",
            Some(&leader),
        )
        .await;
    let monday = &by_day["groups"][0];
    assert_eq!(monday["key"], "2026-11-23");
    assert_eq!(monday["filed"], 3);
    assert_eq!(monday["dispatched"], 3);
    assert!(monday["open"].is_null());

    // A whole month is read from month rows: the same figures as its busy days.
    let (_, november) = server
        .get(
            "/api/v1/stats?from=2026-11-01&to=2026-11-30&group_by=community",
            Some(&leader),
        )
        .await;
    assert_eq!(figures(&november["total"]), figures(&stats["total"]));
    assert_eq!(november["groups"], stats["groups"]);

    // One named dimension is answered from its rollup, two from the full cube: the same
    // figures either way.
    let (_, rollup) = server
        .get(
            "/api/v1/stats?from=2026-11-23&to=2026-11-27&group_by=community&category=noise",
            Some(&leader),
        )
        .await;
    let (_, cube) = server
        .get("/api/v1/stats?from=2026-11-23&to=2026-11-27&group_by=community&category=noise&channel=app", Some(&leader))
        .await;
    assert_eq!(rollup["total"]["filed"], 2);
    assert_eq!(rollup["total"]["rated"], 2);
    assert_eq!(figures(&rollup["total"]), figures(&cube["total"]));
    assert_eq!(rollup["groups"], cube["groups"]);

    // A council member's statistics cover their community only.
    let (_, own) = server
        .get(
            "/api/v1/stats?from=2026-11-23&to=2026-11-27",
            Some(&council),
        )
        .await;
    assert_eq!(own["total"]["filed"], 3);
    server.stop().await;
}
