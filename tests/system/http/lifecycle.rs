//! The lifecycle over HTTP: filing with an idempotent retry, triage, dispatch, return,
//! accept, contact, resolve, an unsatisfied rating and reopen, resolve again, a satisfied
//! rating and close; merge, reject and withdraw; two concurrent dispatches.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Options, Server, call, concern, id};
use crate::support::{Backend, cst};
use gongzhi_service::ManualClock;
use gongzhi_test_support::NatsCluster;
use std::sync::Arc;

fn statuses(events: &Value) -> Vec<(String, String)> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["context"].as_str().unwrap().to_owned(),
                e["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concern_goes_from_filing_to_a_satisfied_close() {
    a_concern_goes_from_filing_to_a_satisfied_close_on(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concern_goes_from_filing_to_a_satisfied_close_on_postgres() {
    a_concern_goes_from_filing_to_a_satisfied_close_on(Some(&Backend::postgres())).await;
}

/// The same story against the distributed topology: every service its own process over a
/// three-node NATS JetStream cluster and PostgreSQL (`deploy/local/up`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concern_goes_from_filing_to_a_satisfied_close_distributed() {
    let options = Options {
        distributed: true,
        ..Options::default()
    };
    a_concern_goes_from_filing_to_a_satisfied_close_with(None, &options).await;
}

/// The same story with the gateway reaching the services over NATS request/reply, as it
/// does across processes: every answer, refusal and status code must be the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concern_goes_from_filing_to_a_satisfied_close_with_commands_over_nats() {
    let nats = NatsCluster::start(1).unwrap();
    let options = Options {
        nats: Some(nats.urls()),
        ..Options::default()
    };
    a_concern_goes_from_filing_to_a_satisfied_close_with(None, &options).await;
}

async fn a_concern_goes_from_filing_to_a_satisfied_close_on(backend: Option<&Backend>) {
    a_concern_goes_from_filing_to_a_satisfied_close_with(backend, &Options::default()).await;
}

async fn a_concern_goes_from_filing_to_a_satisfied_close_with(
    backend: Option<&Backend>,
    options: &Options,
) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start_on(dir.path(), backend, clock, options).await;
    // The server's clock: in the distributed topology it moves every process's time.
    let clock = Arc::clone(&server.clock);
    let council = server.login("council").await;
    let handler = server.login("handler").await;
    let other_handler = server.login("handler2").await;

    // A resident files from the app; a retry with the same key gets the same answer.
    let key = [("Idempotency-Key", "app-7f3a-0001")];
    let body = concern("shilong", "汇裕名都花园旁工地夜间施工");
    let (status, first) = server
        .send(
            Method::POST,
            "/api/v1/concerns",
            None,
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, retried) = server
        .send(Method::POST, "/api/v1/concerns", None, Some(body), &key)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        retried, first,
        "a retry answers exactly as the first request did"
    );
    // The same key with another concern gets no one else's receipt.
    let (status, reused) = server
        .send(
            Method::POST,
            "/api/v1/concerns",
            None,
            Some(concern("shilong", "别的诉求")),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reused}");
    assert!(reused.get("tracking_secret").is_none());
    let case = id(&first);
    let secret = first["tracking_secret"].as_str().unwrap().to_owned();
    let code = first["tracking_code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("SY-2611-"), "{code}");

    // Read-your-writes: the case list shows the filing at once.
    let (_, list) = server
        .get("/api/v1/cases?status=filed", Some(&council))
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["case_id"], case.as_str());

    let triaged = server
        .act(
            &council,
            &case,
            "triage",
            json!({"category": "noise", "priority": "normal"}),
        )
        .await;
    assert_eq!(triaged["status"], "triaged");
    server
        .act(
            &council,
            &case,
            "dispatch",
            json!({"unit": "urban-management", "note": "夜间施工噪音"}),
        )
        .await;
    // The unit returns it (退单): back to triage, counted.
    let returned = server
        .act(
            &other_handler,
            &case,
            "return",
            json!({"reason": "不属于本单位职责"}),
        )
        .await;
    assert_eq!(returned["status"], "triaged");
    clock.set(cst(11, 23, 11, 30));
    server
        .act(
            &council,
            &case,
            "dispatch",
            json!({"unit": "shilong-workstation"}),
        )
        .await;
    // The handler of another unit cannot even see it now.
    let (status, _) = server
        .get(&format!("/api/v1/cases/{case}"), Some(&other_handler))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.act(&handler, &case, "accept", json!({})).await;
    clock.set(cst(11, 24, 9, 0));
    server
        .act(
            &handler,
            &case,
            "contact",
            json!({"via": "phone", "note": "已电话联系王女士"}),
        )
        .await;
    server
        .act(
            &handler,
            &case,
            "progress",
            json!({"note": "已约谈施工方，限定夜间停工"}),
        )
        .await;
    clock.set(cst(11, 25, 16, 0));
    server
        .act(
            &handler,
            &case,
            "resolve",
            json!({"outcome": "resolved", "summary": "施工方承诺22点后停工"}),
        )
        .await;

    // The resident rates with the tracking secret, without an account.
    let (status, refused) = server
        .post(
            &format!("/api/v1/cases/{case}/feedback"),
            None,
            json!({"satisfaction": "unsatisfied", "resolved": false, "tracking_secret": "WRONGSECRET"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    // With only what the receipt says: the tracking code and the secret, typed in lower case.
    let (status, rated) = server
        .post(
            &format!("/api/v1/track/{code}/feedback"),
            None,
            json!({"satisfaction": "unsatisfied", "resolved": false, "tracking_secret": secret.to_lowercase()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rated}");
    assert_eq!(rated["case_id"], case.as_str());
    clock.set(cst(11, 26, 9, 0));
    let reopened = server
        .act(
            &council,
            &case,
            "reopen",
            json!({"reason": "居民反映仍有夜间施工"}),
        )
        .await;
    assert_eq!(reopened["status"], "in_progress");
    clock.set(cst(11, 27, 10, 0));
    server
        .act(
            &handler,
            &case,
            "resolve",
            json!({"outcome": "resolved", "summary": "城管现场执法，已停工"}),
        )
        .await;
    server
        .post(
            &format!("/api/v1/cases/{case}/feedback"),
            None,
            json!({"satisfaction": "satisfied", "resolved": true, "tracking_secret": secret}),
        )
        .await;
    clock.set(cst(11, 27, 13, 0));
    let closed = server
        .act(&council, &case, "close", json!({"reason": "居民满意"}))
        .await;
    assert_eq!(closed["status"], "closed");

    let summary = server.case(&council, &case).await;
    assert_eq!(summary["status"], "closed");
    assert_eq!(summary["returns"], 1);
    assert_eq!(summary["reopens"], 1);
    assert_eq!(summary["unit"], "shilong-workstation");
    assert_eq!(summary["satisfaction"], "satisfied");
    assert_eq!(summary["version"], closed["version"]);
    assert_eq!(
        summary["reporter"]["phone"], "13812345678",
        "council sees the reporter"
    );

    let (status, events) = server
        .get(&format!("/api/v1/cases/{case}/events"), Some(&council))
        .await;
    assert_eq!(status, StatusCode::OK);
    let kinds = statuses(&events);
    assert_eq!(
        kinds.first().unwrap(),
        &("intake".to_owned(), "ConcernFiled".to_owned())
    );
    for context in ["intake", "assignment", "resolution"] {
        assert!(
            kinds.iter().any(|(c, _)| c == context),
            "{context} in {kinds:?}"
        );
    }
    assert_eq!(kinds.last().unwrap().1, "CaseClosed");
    assert_eq!(kinds.len() as u64, summary["version"].as_u64().unwrap());
    assert!(
        events[0]["data"].get("secret_digest").is_none(),
        "the secret's digest never leaves the server"
    );

    // The public tracking page: status and timeline, no names.
    let (status, track) = server.get(&format!("/api/v1/track/{code}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(track["status"], "closed");
    let text = track.to_string();
    assert!(
        !text.contains("王女士") && !text.contains("13812345678"),
        "{text}"
    );
    assert!(track["timeline"].as_array().unwrap().len() >= 8);
    // Every reply waited for the views to show its write, and none had to give up (in the
    // distributed topology: no announcement was lost for good).
    let (_, metrics) = server.get("/metrics", None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        metrics.contains("gongzhi_projection_wait_timeouts_total 0\n"),
        "a reply answered before the views showed its write:\n{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_merge_out_of_scope_is_rejected_and_a_resident_may_withdraw() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start(dir.path(), clock).await;
    let council = server.login("council").await;
    let operator = server.login("hotline").await;

    let primary = id(&server
        .file(Some(&operator), call("shilong", "石龙路口路灯不亮"))
        .await);
    let duplicate = id(&server
        .file(None, concern("shilong", "石龙路口路灯坏了"))
        .await);
    let merged = server
        .act(&council, &duplicate, "merge", json!({"into": primary}))
        .await;
    assert_eq!(merged["status"], "merged");
    assert_eq!(
        server.case(&council, &duplicate).await["merged_into"],
        primary.as_str()
    );
    // Merging into a case that is itself merged, or into itself, is refused.
    let third = id(&server.file(None, concern("shilong", "路灯又坏了")).await);
    let (status, _) = server
        .post(
            &format!("/api/v1/cases/{third}/merge"),
            Some(&council),
            json!({"into": duplicate}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server
        .post(
            &format!("/api/v1/cases/{third}/merge"),
            Some(&council),
            json!({"into": third}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let rejected = server
        .act(
            &council,
            &third,
            "reject",
            json!({"reason": "不属于本街道管辖 / out of scope"}),
        )
        .await;
    assert_eq!(rejected["status"], "rejected");

    let filed = server
        .file(None, concern("shilong", "楼下餐馆油烟扰民"))
        .await;
    let case = id(&filed);
    let (status, _) = server
        .post(
            &format!("/api/v1/cases/{case}/withdraw"),
            None,
            json!({"reason": "已自行解决"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "withdrawing needs the secret"
    );
    let (status, withdrawn) = server
        .post(
            &format!("/api/v1/cases/{case}/withdraw"),
            None,
            json!({"reason": "已自行解决", "tracking_secret": filed["tracking_secret"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    assert_eq!(withdrawn["status"], "withdrawn");
    // A final case takes no more actions.
    let (status, body) = server
        .post(
            &format!("/api/v1/cases/{case}/triage"),
            Some(&council),
            json!({"category": "environment", "priority": "low"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "wrong_state");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_dispatches_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start(dir.path(), clock).await;
    let council = server.login("council").await;
    for round in 0..5 {
        let case = id(&server
            .file(None, concern("shilong", &format!("井盖缺失 {round}")))
            .await);
        let triaged = server
            .act(
                &council,
                &case,
                "triage",
                json!({"category": "public-safety", "priority": "urgent"}),
            )
            .await;
        let version = triaged["version"].to_string();
        // With If-Match on both, and without it (the loser then conflicts in the store).
        let headers: Vec<(&str, &str)> = if round % 2 == 0 {
            vec![("If-Match", version.as_str())]
        } else {
            Vec::new()
        };
        let path = format!("/api/v1/cases/{case}/dispatch");
        let (a, b) = tokio::join!(
            server.send(
                Method::POST,
                &path,
                Some(&council),
                Some(json!({"unit": "police"})),
                &headers
            ),
            server.send(
                Method::POST,
                &path,
                Some(&council),
                Some(json!({"unit": "urban-management"})),
                &headers
            ),
        );
        let mut codes = [a.0, b.0];
        codes.sort();
        assert_eq!(
            codes,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: {a:?} {b:?}"
        );
        let (_, events) = server
            .get(&format!("/api/v1/cases/{case}/events"), Some(&council))
            .await;
        let dispatches = statuses(&events)
            .iter()
            .filter(|(_, kind)| kind == "CaseDispatched")
            .count();
        assert_eq!(dispatches, 1, "round {round}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_racing_a_dispatch_in_another_context_lets_exactly_one_win() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start(dir.path(), clock).await;
    let council = server.login("council").await;
    for round in 0..5 {
        let filed = server
            .file(None, concern("shilong", &format!("占道经营 {round}")))
            .await;
        let case = id(&filed);
        let triaged = server
            .act(
                &council,
                &case,
                "triage",
                json!({"category": "parking", "priority": "normal"}),
            )
            .await;
        let version = triaged["version"].to_string();
        let seen = [("If-Match", version.as_str())];
        // Intake (the resident) and assignment (the council) at once, both on version 2.
        let withdraw = json!({"reason": "已解决", "tracking_secret": filed["tracking_secret"]});
        let (to_withdraw, to_dispatch) = (
            format!("/api/v1/cases/{case}/withdraw"),
            format!("/api/v1/cases/{case}/dispatch"),
        );
        let (a, b) = tokio::join!(
            server.send(Method::POST, &to_withdraw, None, Some(withdraw), &seen),
            server.send(
                Method::POST,
                &to_dispatch,
                Some(&council),
                Some(json!({"unit": "traffic-police"})),
                &seen
            ),
        );
        let mut codes = [a.0, b.0];
        codes.sort();
        assert_eq!(
            codes,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: {a:?} {b:?}"
        );
    }
    let (_, list) = server
        .get("/api/v1/cases?per_page=10", Some(&council))
        .await;
    server.stop().await;
    // Every store holds each case's events in the same order: no replica disagrees.
    let mut orders = Vec::new();
    for name in ["intake", "assignment", "resolution", "projector"] {
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("{name}.sqlite")).display()
        );
        let store = gongzhi_store::connect(&url).await.unwrap();
        let mut order = Vec::new();
        for item in list["items"].as_array().unwrap() {
            let id: uuid::Uuid = item["case_id"].as_str().unwrap().parse().unwrap();
            let stream = gongzhi_store::EventStore::read_stream(&store, id)
                .await
                .unwrap();
            order.push(stream.iter().map(|e| e.event_id).collect::<Vec<_>>());
        }
        orders.push(order);
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "replicas disagree on an order"
    );
}
