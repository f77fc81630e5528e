//! The whole product over real HTTP: `gongzhi dev`'s embedded node on port 0, with the
//! demo accounts, a clock the test moves and a plain HTTP client.

mod bad_input;
mod lifecycle;
mod pages;
mod restart;
mod roles;
mod statistics;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gongzhi::embedded::{self, EmbeddedConfig};
use gongzhi_gateway::GatewayConfig;
use gongzhi_service::{Clock, DataFiles, ManualClock};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::Backend;
use crate::topology::Topology;

pub const PASSWORD: &str = gongzhi::demo::DEMO_PASSWORD;

/// A running deployment: an embedded node, or the distributed topology.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    topology: Option<Topology>,
    /// The event stores: intake, assignment, resolution and the projector's log.
    stores: Vec<String>,
    views: String,
}

/// What a test may change about the node.
#[derive(Clone)]
pub struct Options {
    pub rate_limit_per_minute: u32,
    pub min_sample: i64,
    /// Cases of simulated history loaded at start (`gongzhi dev`'s demo data).
    pub demo_cases: usize,
    /// NATS servers: the gateway reaches the services over NATS request/reply.
    pub nats: Option<String>,
    /// Run the distributed topology instead (`deploy/local/up`): separate processes over
    /// a three-node NATS cluster and PostgreSQL, whose clock the test's clock moves.
    pub distributed: bool,
    /// Processes per context service and projector in the distributed topology.
    pub copies: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rate_limit_per_minute: 0,
            min_sample: 10,
            demo_cases: 0,
            nats: None,
            distributed: false,
            copies: 1,
        }
    }
}

/// The node's configuration, with its databases in `data_dir` or, when `backend` is given,
/// in that backend (a schema per service on PostgreSQL).
pub fn config(
    data_dir: &Path,
    backend: Option<&Backend>,
    clock: Arc<ManualClock>,
    options: &Options,
) -> EmbeddedConfig {
    let url = |name: &str| match backend {
        Some(backend) => backend.url(name),
        None => format!(
            "sqlite://{}",
            data_dir.join(format!("{name}.sqlite")).display()
        ),
    };
    EmbeddedConfig {
        data_dir: data_dir.to_owned(),
        stores: gongzhi_service::Stores {
            intake: url("intake"),
            assignment: url("assignment"),
            resolution: url("resolution"),
            log: url("projector"),
        },
        views_url: url("views"),
        accounts_url: url("accounts"),
        data: DataFiles::shipped().unwrap(),
        demo_cases: options.demo_cases,
        demo_accounts: true,
        gateway: GatewayConfig {
            rate_limit_per_minute: options.rate_limit_per_minute,
            min_sample: options.min_sample,
            ..GatewayConfig::default()
        },
        clock,
        timer_every: Duration::from_millis(50),
        commands_over_nats: options.nats.clone(),
    }
}

impl Server {
    pub async fn start(data_dir: &Path, clock: Arc<ManualClock>) -> Self {
        Self::start_with(data_dir, clock, &Options::default()).await
    }

    pub async fn start_with(data_dir: &Path, clock: Arc<ManualClock>, options: &Options) -> Self {
        Self::start_on(data_dir, None, clock, options).await
    }

    pub async fn start_on(
        data_dir: &Path,
        backend: Option<&Backend>,
        clock: Arc<ManualClock>,
        options: &Options,
    ) -> Self {
        if options.distributed {
            return Self::start_distributed(data_dir, clock.now(), options);
        }
        let config = config(data_dir, backend, Arc::clone(&clock), options);
        let urls = &config.stores;
        let stores = vec![
            urls.intake.clone(),
            urls.assignment.clone(),
            urls.resolution.clone(),
            urls.log.clone(),
        ];
        let views = config.views_url.clone();
        let node = embedded::start(config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(node.serve(listener, async {
            let _ = stopped.await;
        }));
        Self {
            base,
            client: reqwest::Client::new(),
            clock,
            stop: Some(stop),
            task: Some(task),
            topology: None,
            stores,
            views,
        }
    }

    /// The distributed topology under `data_dir`, its clock starting at `now`; the
    /// server's `clock` moves every process's time.
    fn start_distributed(data_dir: &Path, now: DateTime<Utc>, options: &Options) -> Self {
        let clock_file = data_dir.join("clock");
        let clock = Arc::new(ManualClock::mirror_to(now, &clock_file).unwrap());
        let topology = Topology::up(
            &data_dir.join("topology"),
            &[
                ("GONGZHI_CLOCK_FILE", clock_file.display().to_string()),
                ("GONGZHI_TIMER_EVERY_MS", "50".to_owned()),
                ("GONGZHI_DEMO_ACCOUNTS", "true".to_owned()),
                (
                    "GONGZHI_RATE_LIMIT",
                    options.rate_limit_per_minute.to_string(),
                ),
                ("GONGZHI_MIN_SAMPLE", options.min_sample.to_string()),
            ],
            &["--copies", &options.copies.to_string()],
        );
        let postgres = topology.value("POSTGRES_URL");
        let stores = ["intake", "assignment", "resolution", "projector"]
            .map(|name| format!("{postgres}?schema=gongzhi_{name}"))
            .to_vec();
        Self {
            stores,
            views: format!("{postgres}?schema=gongzhi_views"),
            base: topology.gateway_url(),
            client: reqwest::Client::new(),
            clock,
            stop: None,
            task: None,
            topology: Some(topology),
        }
    }

    /// The distributed topology, when the server is one.
    pub fn topology(&self) -> Option<&Topology> {
        self.topology.as_ref()
    }

    /// The projector's event store and the views, as URLs.
    pub fn projector_urls(&self) -> (&str, &str) {
        (&self.stores[3], &self.views)
    }

    /// Stops every gongzhi process cleanly (the embedded node, or each service of the
    /// topology; NATS and PostgreSQL stay up), runs `while_down`, and starts them again
    /// on the same data.
    pub async fn restart(
        self,
        data_dir: &Path,
        options: &Options,
        while_down: impl FnOnce(&ManualClock),
    ) -> Self {
        let Some(topology) = &self.topology else {
            let clock = Arc::clone(&self.clock);
            self.stop().await;
            while_down(&clock);
            return Self::start_with(data_dir, clock, options).await;
        };
        let services: Vec<String> = topology
            .value("NAMES")
            .split_whitespace()
            .filter(|name| !name.starts_with("nats") && *name != "postgres")
            .map(str::to_owned)
            .collect();
        tokio::task::block_in_place(|| {
            for name in &services {
                topology.ctl(&["stop", name]);
            }
            while_down(&self.clock);
            for name in &services {
                topology.ctl(&["start", name]);
            }
        });
        self
    }

    /// The events in all four stores, once they have settled (every store holds the same
    /// number: the inboxes have copied everything).
    pub async fn settled_events(&self) -> u64 {
        let mut stores = Vec::new();
        for url in &self.stores {
            stores.push(gongzhi_store::connect(url).await.unwrap());
        }
        let started = std::time::Instant::now();
        loop {
            let mut counts = Vec::new();
            for store in &stores {
                counts.push(gongzhi_store::EventStore::count(store).await.unwrap());
            }
            if counts.windows(2).all(|w| w[0] == w[1]) {
                return counts.iter().sum();
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the stores do not settle: {counts:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the node cleanly (as Ctrl-C would); a topology is taken down.
    pub async fn stop(mut self) {
        drop(self.topology.take());
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub async fn login(&self, username: &str) -> String {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, token, None, &[])
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body), &[])
            .await
    }

    /// Files a concern and returns the reply (case_id, tracking_code, tracking_secret).
    pub async fn file(&self, token: Option<&str>, body: Value) -> Value {
        let (status, reply) = self.post("/api/v1/concerns", token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        reply
    }

    /// Carries out an action and expects it to succeed.
    pub async fn act(&self, token: &str, case: &str, action: &str, body: Value) -> Value {
        let (status, reply) = self
            .post(&format!("/api/v1/cases/{case}/{action}"), Some(token), body)
            .await;
        assert_eq!(status, StatusCode::OK, "{action}: {reply}");
        reply
    }

    pub async fn case(&self, token: &str, case: &str) -> Value {
        let (status, summary) = self
            .get(&format!("/api/v1/cases/{case}"), Some(token))
            .await;
        assert_eq!(status, StatusCode::OK, "{summary}");
        summary
    }

    /// Waits (bounded) until `check` holds for the case, as the deadline timers catch up.
    pub async fn eventually(
        &self,
        token: &str,
        case: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..200 {
            let summary = self.case(token, case).await;
            if check(&summary) {
                return summary;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "case {case} never reached the expected state: {}",
            self.case(token, case).await
        );
    }
}

/// A concern from the app in a community.
pub fn concern(community: &str, title: &str) -> Value {
    json!({
        "channel": "app",
        "community": community,
        "title": title,
        "description": format!("{title}，请尽快处理"),
        "reporter": {"name": "王女士", "phone": "13812345678"},
    })
}

/// A concern recorded by a hotline operator.
pub fn call(community: &str, title: &str) -> Value {
    json!({
        "channel": "hotline",
        "community": community,
        "title": title,
        "description": format!("来电反映：{title}"),
        "reporter": {"phone": "13987654321"},
    })
}

pub fn id(reply: &Value) -> String {
    reply["case_id"].as_str().unwrap().to_owned()
}
