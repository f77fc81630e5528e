//! Deadlines keep running across a restart, the feedback window closes a case by itself,
//! and after a restart the views equal a rebuild from the event log.

use std::sync::Arc;

use gongzhi_service::{DataFiles, ManualClock};
use gongzhi_store::connect;
use gongzhi_views::{Projector, ViewStore};
use serde_json::json;

use super::{Options, Server, concern, id};
use crate::support::cst;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_that_passes_while_the_server_is_down_is_recorded_once_after_restart() {
    a_deadline_passes_while_down_with(&Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_that_passes_while_the_services_are_down_is_recorded_once_distributed() {
    a_deadline_passes_while_down_with(&distributed()).await;
}

fn distributed() -> Options {
    Options {
        distributed: true,
        ..Options::default()
    }
}

async fn a_deadline_passes_while_down_with(options: &Options) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start_with(dir.path(), clock, options).await;
    let council = server.login("council").await;
    let case = id(&server.file(None, concern("shilong", "电梯困人")).await);
    server
        .act(
            &council,
            &case,
            "triage",
            json!({"category": "public-safety", "priority": "urgent"}),
        )
        .await;
    let dispatched = server
        .act(
            &council,
            &case,
            "dispatch",
            json!({"unit": "shilong-workstation"}),
        )
        .await;
    let summary = server.case(&council, &case).await;
    assert_eq!(summary["overdue"], false);
    // A later concern, still waiting for triage.
    server.clock.set(cst(11, 23, 9, 30));
    let later = id(&server.file(None, concern("shilong", "楼道灯坏")).await);

    // Urgent: contact within 2 hours, resolve within a day. The server is down for two days.
    let server = server
        .restart(dir.path(), options, |clock| clock.set(cst(11, 25, 9, 0)))
        .await;
    let council = server.login("council").await;
    let summary = server
        .eventually(&council, &case, |s| s["overdue"] == true)
        .await;
    // ResponseOverdue and ResolutionOverdue, once each, however often the timer looks.
    let version = summary["version"].as_u64().unwrap();
    assert_eq!(
        version,
        dispatched["version"].as_u64().unwrap() + 2,
        "{summary}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, events) = server
        .get(&format!("/api/v1/cases/{case}/events"), Some(&council))
        .await;
    let overdue: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str().filter(|t| t.ends_with("Overdue")))
        .collect();
    assert_eq!(overdue, ["ResponseOverdue", "ResolutionOverdue"]);
    let (_, list) = server
        .get("/api/v1/cases?overdue=true", Some(&council))
        .await;
    assert_eq!(list["total"], 1);
    // The council's queue puts the overdue case first; the plain list the newest.
    let (_, queue) = server.get("/api/v1/cases?sort=queue", Some(&council)).await;
    assert_eq!(queue["items"][0]["case_id"], case.as_str());
    let (_, newest) = server.get("/api/v1/cases", Some(&council)).await;
    assert_eq!(newest["items"][0]["case_id"], later.as_str());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_case_closes_itself_when_the_feedback_window_passes() {
    a_resolved_case_closes_itself_with(&Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_case_closes_itself_when_the_feedback_window_passes_distributed() {
    a_resolved_case_closes_itself_with(&distributed()).await;
}

async fn a_resolved_case_closes_itself_with(options: &Options) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 2, 9, 0)));
    let server = Server::start_with(dir.path(), clock, options).await;
    let council = server.login("council").await;
    let handler = server.login("handler").await;
    let case = id(&server
        .file(None, concern("shilong", "垃圾清运不及时"))
        .await);
    server
        .act(
            &council,
            &case,
            "triage",
            json!({"category": "environment", "priority": "normal"}),
        )
        .await;
    server
        .act(
            &council,
            &case,
            "dispatch",
            json!({"unit": "shilong-workstation"}),
        )
        .await;
    server.act(&handler, &case, "accept", json!({})).await;
    server
        .act(&handler, &case, "contact", json!({"via": "visit"}))
        .await;
    server
        .act(
            &handler,
            &case,
            "resolve",
            json!({"outcome": "resolved", "summary": "已清运"}),
        )
        .await;
    server.clock.set(cst(11, 8, 9, 0));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        server.case(&council, &case).await["status"],
        "resolved",
        "6 days: still open for rating"
    );
    server.clock.set(cst(11, 9, 9, 30));
    let closed = server
        .eventually(&council, &case, |s| s["status"] == "closed")
        .await;
    assert!(closed["satisfaction"].is_null());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_views_equal_a_rebuild_from_the_log() {
    after_a_restart_the_views_equal_a_rebuild_with(&Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_views_equal_a_rebuild_from_the_log_distributed() {
    after_a_restart_the_views_equal_a_rebuild_with(&distributed()).await;
}

async fn after_a_restart_the_views_equal_a_rebuild_with(options: &Options) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start_with(dir.path(), clock, options).await;
    let council = server.login("council").await;
    let handler = server.login("handler").await;
    let mut cases = Vec::new();
    for n in 0..12 {
        let case = id(&server
            .file(None, concern("shilong", &format!("楼道堆物 {n}")))
            .await);
        server
            .act(
                &council,
                &case,
                "triage",
                json!({"category": "property", "priority": "low"}),
            )
            .await;
        if n % 3 != 0 {
            server
                .act(
                    &council,
                    &case,
                    "dispatch",
                    json!({"unit": "shilong-workstation"}),
                )
                .await;
            server.act(&handler, &case, "accept", json!({})).await;
        }
        cases.push(case);
    }
    let server = server.restart(dir.path(), options, |_| {}).await;
    let council = server.login("council").await;
    let (_, list) = server
        .get("/api/v1/cases?per_page=100", Some(&council))
        .await;
    assert_eq!(list["total"], 12);

    let data = DataFiles::shipped().unwrap();
    let (log, views) = server.projector_urls();
    let events = connect(log).await.unwrap();
    let live = ViewStore::open(views).await.unwrap();
    let rebuilt_url = match server.topology() {
        Some(topology) => format!(
            "{}?schema=gongzhi_views_rebuilt",
            topology.value("POSTGRES_URL")
        ),
        None => format!("sqlite://{}", dir.path().join("rebuilt.sqlite").display()),
    };
    let rebuilt = ViewStore::open(&rebuilt_url).await.unwrap();
    Projector::new(events, rebuilt.clone(), data.policy.calendar.offset())
        .rebuild(|_| {})
        .await
        .unwrap();
    assert_eq!(
        live.contents().await.unwrap(),
        rebuilt.contents().await.unwrap()
    );
    server.stop().await;
}
