//! Bad input gets a precise error in the shape of DESIGN §6 and writes nothing; a flood
//! from one address without a session is limited.

use std::sync::Arc;

use gongzhi_service::ManualClock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Options, Server, concern, id};
use crate::support::cst;

async fn raw(server: &Server, path: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut request = server
        .client
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn expect(reply: &(StatusCode, Value), status: StatusCode, code: &str, words: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["error"]["code"], code, "{}", reply.1);
    let message = reply.1["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(words),
        "'{message}' should mention '{words}'"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_is_refused_precisely_and_writes_nothing() {
    every_bad_request_is_refused_precisely_and_writes_nothing_with(&Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_is_refused_precisely_and_writes_nothing_distributed() {
    let options = Options {
        distributed: true,
        ..Options::default()
    };
    every_bad_request_is_refused_precisely_and_writes_nothing_with(&options).await;
}

async fn every_bad_request_is_refused_precisely_and_writes_nothing_with(options: &Options) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start_with(dir.path(), clock, options).await;
    let council = server.login("council").await;
    let case = id(&server.file(None, concern("shilong", "噪音扰民")).await);
    let before = server.settled_events().await;

    let concerns = "/api/v1/concerns";
    expect(
        &raw(&server, concerns, None, r#"{"channel": "app", "#).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
        "not valid JSON",
    );
    let mut body = concern("shilong", "x");
    body["title"] = json!(42);
    expect(
        &server.post(concerns, None, body).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "invalid type",
    );
    let mut body = concern("shilong", "x");
    body["priority"] = json!("urgent");
    expect(
        &server.post(concerns, None, body).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "unknown field `priority`",
    );
    expect(
        &server.post(concerns, None, concern("atlantis", "x")).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "community: 'atlantis' is not a community",
    );
    let mut body = concern("shilong", "x");
    body["category"] = json!("ufo");
    expect(
        &server.post(concerns, None, body).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "'ufo' is not a category",
    );
    let mut body = concern("shilong", "x");
    body["channel"] = json!("fax");
    expect(
        &server.post(concerns, None, body).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "'fax' is not one of hotline, app",
    );
    expect(
        &server
            .post(concerns, None, concern("shilong", &"长".repeat(201)))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "200",
    );
    let mut body = concern("shilong", "x");
    body["description"] = json!("字".repeat(5_001));
    expect(
        &server.post(concerns, None, body).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "5000",
    );
    let mut body = concern("shilong", "x");
    body["reporter"] = json!({"phone": "call me"});
    expect(
        &server.post(concerns, None, body).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "reporter.phone",
    );
    let mut body = concern("shilong", "x");
    body["description"] = json!("字".repeat(30_000));
    let huge = server.post(concerns, None, body).await;
    expect(
        &huge,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "64 KiB",
    );
    let mut body = concern("shilong", "x");
    body["channel"] = json!("hotline");
    expect(
        &server.post(concerns, None, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "rule",
        "residents file through the app",
    );

    let act = |action: &str| format!("/api/v1/cases/{case}/{action}");
    expect(
        &server
            .post(
                &act("dispatch"),
                Some(&council),
                json!({"unit": "shilong-workstation"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "rule",
        "triage the case",
    );
    expect(
        &server.post(&act("accept"), Some(&council), json!({})).await,
        StatusCode::CONFLICT,
        "wrong_state",
        "cannot accept a case that is filed",
    );
    expect(
        &server
            .post(
                &act("triage"),
                Some(&council),
                json!({"category": "noise", "priority": "asap"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "'asap' is not one of urgent, normal, low",
    );
    expect(
        &server
            .post(&act("teleport"), Some(&council), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        "no action 'teleport'",
    );
    expect(
        &server
            .post("/api/v1/cases/not-a-uuid/triage", Some(&council), json!({}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
        "",
    );
    let stale = server
        .send(
            Method::POST,
            &act("triage"),
            Some(&council),
            Some(json!({"category": "noise", "priority": "low"})),
            &[("If-Match", "7")],
        )
        .await;
    expect(&stale, StatusCode::CONFLICT, "version_conflict", "not 7");
    let bad_header = server
        .send(
            Method::POST,
            &act("triage"),
            Some(&council),
            Some(json!({"category": "noise", "priority": "low"})),
            &[("If-Match", "soon")],
        )
        .await;
    expect(
        &bad_header,
        StatusCode::BAD_REQUEST,
        "invalid_header",
        "If-Match",
    );
    expect(
        &server
            .get("/api/v1/cases?per_page=100000", Some(&council))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "per_page",
    );
    expect(
        &server
            .get("/api/v1/cases?status=lost", Some(&council))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "'lost' is not one of",
    );
    expect(
        &server
            .get(
                "/api/v1/stats?from=2026-12-01&to=2026-11-01",
                Some(&council),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "from",
    );
    expect(
        &server
            .get("/api/v1/stats?group_by=moon", Some(&council))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "group_by",
    );
    expect(
        &server.get("/api/v1/track/not-a-code", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "SY-2611-7K3Q",
    );
    expect(
        &server.get("/api/v1/nowhere", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "/api/v1/nowhere",
    );
    let wrong_method = server
        .send(Method::DELETE, "/api/v1/concerns", None, None, &[])
        .await;
    expect(
        &wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "DELETE",
    );

    assert_eq!(
        server.settled_events().await,
        before,
        "no refused request wrote an event in any store"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_address_without_a_session_is_limited() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let options = Options {
        rate_limit_per_minute: 5,
        ..Options::default()
    };
    let server = Server::start_with(dir.path(), clock, &options).await;
    // Signing in is itself a request without a session: one of the five.
    let token = server.login("council").await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(server.get("/api/v1/directory", None).await.0);
    }
    assert_eq!(&statuses[..4], [StatusCode::OK; 4]);
    assert_eq!(&statuses[4..], [StatusCode::TOO_MANY_REQUESTS; 3]);
    let response = server
        .client
        .get(format!("{}/api/v1/directory", server.base))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Signed-in staff are not limited by address.
    for _ in 0..10 {
        assert_eq!(
            server.get("/api/v1/directory", Some(&token)).await.0,
            StatusCode::OK
        );
    }
    server.stop().await;
}
