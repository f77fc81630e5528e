//! Faults in the distributed topology (`deploy/local/up`: a three-node NATS cluster, a
//! three-replica stream, PostgreSQL, two `gongzhi serve` copies of every context service
//! and of the projector) while concerns are being filed: a copy killed with SIGKILL and
//! started again, a NATS server killed and started again, PostgreSQL restarted.
//! Afterwards every acknowledged concern is in the views exactly once, the views equal a
//! rebuild from the log, every store holds every event once, and no relay is behind.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use gongzhi_service::{DataFiles, ManualClock};
use gongzhi_store::{EventStore, Position, connect};
use gongzhi_views::{Projector, ViewStore};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::http::{Options, Server};

const FILERS: usize = 3;

/// Files concerns until `stop`, each retried with its idempotency key until acknowledged
/// (a 503 or a dropped connection while a part is down is expected).
async fn file_until(
    client: reqwest::Client,
    base: String,
    filer: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
    acknowledged: Arc<Mutex<BTreeSet<String>>>,
    retries: Arc<std::sync::atomic::AtomicUsize>,
) {
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        n += 1;
        let key = format!("fault-{filer}-{n}");
        let body = json!({
            "channel": "app",
            "community": "shilong",
            "title": format!("路灯不亮 {filer}-{n}"),
            "description": "石龙路口路灯坏了",
        });
        let started = Instant::now();
        loop {
            let reply = client
                .post(format!("{base}/api/v1/concerns"))
                .header("idempotency-key", &key)
                .timeout(Duration::from_secs(15))
                .json(&body)
                .send()
                .await;
            match reply {
                Ok(reply) if reply.status() == StatusCode::CREATED => {
                    let filed: Value = reply.json().await.unwrap();
                    let case = filed["case_id"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().insert(case);
                    break;
                }
                Ok(reply) => {
                    let status = reply.status();
                    assert!(
                        status == StatusCode::SERVICE_UNAVAILABLE
                            || status == StatusCode::BAD_GATEWAY
                            || status.is_server_error(),
                        "filing {key}: {status} {}",
                        reply.text().await.unwrap_or_default()
                    );
                }
                Err(_) => {}
            }
            retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "filing {key} was never acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn metric(client: &reqwest::Client, listen: &str, name: &str) -> Vec<f64> {
    let text = client
        .get(format!("http://{listen}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_concerns_survive_killed_services_nats_servers_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    // Two copies of every context service and of the projector: one of each pair is
    // killed, and copies must not apply anything twice.
    let options = Options {
        distributed: true,
        copies: 2,
        ..Options::default()
    };
    let server = Server::start_on(dir.path(), None, clock, &options).await;
    let topology = server.topology().unwrap();
    let leader = server.login("leader").await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let retries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let filers: Vec<_> = (0..FILERS)
        .map(|filer| {
            tokio::spawn(file_until(
                server.client.clone(),
                server.base.clone(),
                filer,
                Arc::clone(&stop),
                Arc::clone(&acknowledged),
                Arc::clone(&retries),
            ))
        })
        .collect();
    let pause = || tokio::time::sleep(Duration::from_secs(2));
    pause().await;
    let faults = [
        vec!["kill", "intake"],
        vec!["start", "intake"],
        vec!["kill", "projector"],
        vec!["start", "projector"],
        vec!["kill", "nats2"],
        vec!["start", "nats2"],
        vec!["restart-postgres"],
    ];
    for fault in &faults {
        let started = Instant::now();
        tokio::task::block_in_place(|| topology.ctl(fault));
        println!(
            "fault {fault:?} took {:.1} s",
            started.elapsed().as_secs_f64()
        );
        pause().await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for filer in filers {
        filer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 10,
        "too few filings got through: {}",
        acknowledged.len()
    );

    // Every acknowledged concern reaches the views, once.
    let started = Instant::now();
    let listed = loop {
        let (status, list) = server
            .get("/api/v1/cases?per_page=1&community=shilong", Some(&leader))
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let total = list["total"].as_u64().unwrap() as usize;
        if total >= acknowledged.len() || started.elapsed() > Duration::from_secs(60) {
            break total;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        listed,
        acknowledged.len(),
        "the views do not hold each acknowledged concern once"
    );
    for case in &acknowledged {
        let (status, body) = server
            .get(&format!("/api/v1/cases/{case}"), Some(&leader))
            .await;
        assert_eq!(status, StatusCode::OK, "{case}: {body}");
    }

    // Every store holds every event (each context's replica and the projector's log), and
    // every relay is caught up.
    let postgres = topology.value("POSTGRES_URL").to_owned();
    let store = |name: &str| {
        let url = format!("{postgres}?schema=gongzhi_{name}");
        async move { connect(&url).await.unwrap() }
    };
    let mut counts = Vec::new();
    for name in ["intake", "assignment", "resolution", "projector"] {
        let started = Instant::now();
        let expected = acknowledged.len() as u64;
        let count = loop {
            let count = store(name).await.count().await.unwrap();
            if count >= expected || started.elapsed() > Duration::from_secs(30) {
                break count;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        counts.push((name, count));
    }
    for (name, count) in &counts {
        assert_eq!(*count, acknowledged.len() as u64, "the {name} store");
    }
    let mut shared = Vec::new();
    for name in [
        "intake",
        "assignment",
        "resolution",
        "intake2",
        "assignment2",
        "resolution2",
    ] {
        let listen = topology.value(&format!("LISTEN_{name}")).to_owned();
        let pending = metric(&server.client, &listen, "gongzhi_relay_pending").await;
        assert_eq!(pending, vec![0.0], "the {name} relay is behind");
        let published = metric(&server.client, &listen, "gongzhi_relay_published_total").await;
        shared.push((name, published.iter().sum::<f64>()));
    }
    // The copies shared the work: both intake relays published filings, and each
    // projector copy moved the checkpoint of its share.
    for (name, published) in &shared {
        if name.starts_with("intake") {
            assert!(
                *published > 0.0,
                "the {name} relay published nothing: {shared:?}"
            );
        }
    }

    // The views equal a rebuild from the log.
    let log = store("projector").await;
    let rebuilt = ViewStore::open(&format!("{postgres}?schema=gongzhi_views_rebuilt"))
        .await
        .unwrap();
    let offset = DataFiles::shipped().unwrap().policy.calendar.offset();
    Projector::new(log, rebuilt.clone(), offset)
        .rebuild(|_| {})
        .await
        .unwrap();
    let live = ViewStore::open(&format!("{postgres}?schema=gongzhi_views"))
        .await
        .unwrap();
    for share in ["0/2", "1/2"] {
        let at = live.checkpoint(&format!("views@{share}")).await.unwrap();
        assert!(
            at > Position::START,
            "the projector of share {share} did nothing"
        );
    }
    assert_eq!(
        rebuilt.contents().await.unwrap(),
        live.contents().await.unwrap()
    );
    println!(
        "distributed faults: {} concerns acknowledged by {FILERS} callers ({} retries while \
         parts were down); views list {listed}; events per store {counts:?}; relays caught up, \
         published per copy since its start {shared:?}; views equal a rebuild",
        acknowledged.len(),
        retries.load(std::sync::atomic::Ordering::Relaxed)
    );
    server.stop().await;
}
