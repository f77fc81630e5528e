//! Every role: one action it may take and one it may not, reading outside its area or
//! unit, and how much of the reporter it sees.

use std::sync::Arc;

use gongzhi_service::ManualClock;
use reqwest::StatusCode;
use serde_json::json;

use super::{Options, Server, call, concern, id};
use crate::support::cst;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_is_held_to_its_actions_and_its_area() {
    each_role_is_held_to_its_actions_and_its_area_with(&Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_is_held_to_its_actions_and_its_area_distributed() {
    let options = Options {
        distributed: true,
        ..Options::default()
    };
    each_role_is_held_to_its_actions_and_its_area_with(&options).await;
}

async fn each_role_is_held_to_its_actions_and_its_area_with(options: &Options) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start_with(dir.path(), clock, options).await;
    let operator = server.login("hotline").await;
    let council = server.login("council").await; // 石龙 only
    let handler = server.login("handler").await; // shilong-workstation
    let leader = server.login("leader").await; // the whole street
    let admin = server.login("admin").await;

    // Operator: may file for a caller; may not triage (a council member's job).
    let shilong = id(&server
        .file(Some(&operator), call("shilong", "小区门口积水"))
        .await);
    let (status, body) = server
        .post(
            &format!("/api/v1/cases/{shilong}/triage"),
            Some(&operator),
            json!({"category": "environment", "priority": "normal"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Council member: may triage and dispatch in 石龙; may not see a 浪心 case.
    server
        .act(
            &council,
            &shilong,
            "triage",
            json!({"category": "environment", "priority": "normal"}),
        )
        .await;
    let langxin = id(&server
        .file(Some(&operator), call("langxin", "浪心路面破损"))
        .await);
    let (status, body) = server
        .get(&format!("/api/v1/cases/{langxin}"), Some(&council))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = server
        .post(
            &format!("/api/v1/cases/{langxin}/triage"),
            Some(&council),
            json!({"category": "environment", "priority": "normal"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = server.get("/api/v1/cases", Some(&council)).await;
    assert_eq!(
        list["total"], 1,
        "the council member's list holds 石龙 cases only: {list}"
    );

    // Handler: sees nothing before the dispatch, may accept it after; may not extend its
    // own deadline (a council member's call).
    let (status, _) = server
        .get(&format!("/api/v1/cases/{shilong}"), Some(&handler))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server
        .act(
            &council,
            &shilong,
            "dispatch",
            json!({"unit": "shilong-workstation"}),
        )
        .await;
    server.act(&handler, &shilong, "accept", json!({})).await;
    let (status, _) = server
        .post(
            &format!("/api/v1/cases/{shilong}/extend-deadline"),
            Some(&handler),
            json!({"resolution_due": "2026-12-31", "reason": "需协调多部门"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.get("/api/v1/stats", Some(&handler)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "statistics are not a handler's"
    );

    // Leader: reads statistics for the street; may not dispatch; sees masked phones.
    let (status, stats) = server
        .get("/api/v1/stats?group_by=community", Some(&leader))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let (status, _) = server
        .post(
            &format!("/api/v1/cases/{langxin}/dispatch"),
            Some(&leader),
            json!({"unit": "housing"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let summary = server.case(&leader, &langxin).await;
    assert_eq!(summary["reporter"]["phone"], "139****4321");

    // Admin: may file; may not contact the resident (only the holding unit does).
    let by_admin = id(&server
        .file(Some(&admin), call("mabu", "麻布村道路灯"))
        .await);
    let (status, _) = server
        .post(
            &format!("/api/v1/cases/{shilong}/contact"),
            Some(&admin),
            json!({"via": "phone"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(server.case(&admin, &by_admin).await["community"], "mabu");

    // A leader asking for an area outside their own is refused; a grid is inside.
    let (status, _) = server.get("/api/v1/stats?area=baoan", Some(&leader)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // No session: lists and cases need one.
    let (status, body) = server.get("/api/v1/cases", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confidential_reporter_is_hidden_from_the_handling_unit() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start(dir.path(), clock).await;
    let council = server.login("council").await;
    let handler = server.login("handler").await;
    let mut body = concern("shilong", "举报违建");
    body["confidential"] = json!(true);
    let case = id(&server.file(None, body).await);
    server
        .act(
            &council,
            &case,
            "triage",
            json!({"category": "housing", "priority": "normal"}),
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
    let seen_by_handler = server.case(&handler, &case).await;
    assert!(seen_by_handler["reporter"].is_null(), "{seen_by_handler}");
    let (_, events) = server
        .get(&format!("/api/v1/cases/{case}/events"), Some(&handler))
        .await;
    assert!(!events.to_string().contains("13812345678"), "{events}");
    let seen_by_council = server.case(&council, &case).await;
    assert_eq!(seen_by_council["reporter"]["phone"], "13812345678");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_at_logout_and_bad_credentials_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start(dir.path(), clock).await;
    // The start page names the demo accounts a newcomer can sign in with.
    let page = server
        .client
        .get(&server.base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("共治") && page.contains("leader") && page.contains(super::PASSWORD));
    let (status, body) = server
        .post(
            "/api/v1/sessions",
            None,
            json!({"username": "leader", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let response = server
        .client
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&json!({"username": "leader", "password": super::PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let token = response.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The cookie alone authenticates, as a browser would send it.
    let pair = cookie.split(';').next().unwrap();
    let (status, me) = server
        .send(
            reqwest::Method::GET,
            "/api/v1/sessions/current",
            None,
            None,
            &[("cookie", pair)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "leader");
    let (status, _) = server
        .send(
            reqwest::Method::DELETE,
            "/api/v1/sessions",
            Some(&token),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.get("/api/v1/sessions/current", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server.stop().await;
}
