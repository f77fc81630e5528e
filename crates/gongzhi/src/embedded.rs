//! Embedded mode (`gongzhi dev`): every service in one process on SQLite files under a
//! data directory — intake, assignment and resolution each with its own event store, the
//! in-process bus (inboxes between the stores), the projector with its replica and views,
//! the deadline timers and the HTTP gateway — started on an already-bound listener and
//! stopped by a shutdown future.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use gongzhi_accounts::Accounts;
use gongzhi_bus::NatsCommands;
use gongzhi_gateway::{AppState, Gateway, GatewayConfig, SharedState};
use gongzhi_service::history::{self, HistoryPlan};
use gongzhi_service::{Clock, Commands, ContextServices, DataFiles, SecretKey, Stores, Timers};
use gongzhi_store::{AnyEventStore, Position};
use gongzhi_views::{Projector, ViewStore};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::redact;

/// How long the gateway waits for a service's answer over NATS before answering 503.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
use crate::{demo, stores};

/// How the embedded node runs.
#[derive(Clone)]
pub struct EmbeddedConfig {
    pub data_dir: PathBuf,
    /// The event stores of the three contexts and the projector's replica.
    pub stores: Stores<String>,
    pub views_url: String,
    pub accounts_url: String,
    pub data: DataFiles,
    /// Simulated cases to load into an empty event store (0: none).
    pub demo_cases: usize,
    /// Create the demo accounts when there are no accounts.
    pub demo_accounts: bool,
    pub gateway: GatewayConfig,
    pub clock: Arc<dyn Clock>,
    /// How often the deadline timers look for passed deadlines.
    pub timer_every: Duration,
    /// NATS servers (comma-separated): the gateway then reaches the services by NATS
    /// request/reply, as across processes, instead of calling them.
    pub commands_over_nats: Option<String>,
}

/// What `start` prepared, before serving.
pub struct Node {
    pub state: SharedState,
    pub stores: Stores<AnyEventStore>,
    pub views: ViewStore,
    projector: Projector<AnyEventStore>,
    timers: Timers,
    timer_every: Duration,
    /// Demo accounts created at this start (empty if accounts existed).
    pub demo_accounts: Vec<demo::DemoAccount>,
    pub demo_events: usize,
    /// Answers the gateway's commands over NATS, when they travel that way.
    command_server: Option<tokio::task::JoinHandle<Result<(), gongzhi_bus::BusError>>>,
}

/// The deployment's tracking-secret key, made on first start and kept in the data dir.
/// Processes starting together agree on one key: a new key is written to a file of its
/// own and linked into place only if no key is there yet; whoever loses reads the winner's.
pub(crate) fn secret_key(data_dir: &Path) -> Result<SecretKey> {
    let path = data_dir.join("secret.key");
    if !path.exists() {
        let key = SecretKey::generate();
        let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let mine = data_dir.join(format!("secret.key.{}", std::process::id()));
        write_private(&mine, &hex).with_context(|| format!("writing {}", mine.display()))?;
        let linked = std::fs::hard_link(&mine, &path);
        let _ = std::fs::remove_file(&mine);
        match linked {
            Ok(()) => return Ok(key),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => {
                return Err(error).with_context(|| format!("writing {}", path.display()));
            }
        }
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = (0..text.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.trim().get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .with_context(|| format!("{} is not a hex key", path.display()))?;
    anyhow::ensure!(bytes.len() >= 16, "{} is too short", path.display());
    Ok(SecretKey::new(bytes))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Opens (and migrates) the stores, loads the demo data if asked and the store is empty,
/// and catches the views up, so the node serves current data from its first request.
pub async fn start(config: EmbeddedConfig) -> Result<Node> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let stores = stores::open(&config.stores).await?;
    let views = ViewStore::open(&config.views_url)
        .await
        .with_context(|| format!("opening the view store {}", redact(&config.views_url)))?;
    let accounts = Accounts::open(&config.accounts_url)
        .await
        .with_context(|| format!("opening the accounts {}", redact(&config.accounts_url)))?;
    let secret_key = secret_key(&config.data_dir)?;
    let data = &config.data;
    let demo_accounts = if config.demo_accounts && accounts.count().await? == 0 {
        demo::create_accounts(&accounts, &data.directory).await?
    } else {
        Vec::new()
    };
    let mut demo_events = 0;
    if config.demo_cases > 0 && stores::count(&stores).await? == 0 {
        let plan = HistoryPlan::for_directory(
            &data.directory,
            config.demo_cases,
            90,
            config.clock.now(),
            2023,
        );
        if !(plan.communities.is_empty() || plan.categories.is_empty() || plan.units.is_empty()) {
            let simulated = history::generate(&plan, &data.policy);
            stores::load_history(&stores, &simulated, |_| {}).await?;
            demo_events = simulated.len();
            tracing::info!(
                cases = config.demo_cases,
                events = demo_events,
                "loaded the demo history"
            );
        }
    }
    let offset = data.policy.calendar.offset();
    let mut projector = Projector::new(stores.log.clone(), views.clone(), offset);
    let started = std::time::Instant::now();
    let applied = projector.catch_up().await?;
    if applied > 0 {
        tracing::info!(
            applied,
            seconds = started.elapsed().as_secs_f64(),
            "views caught up"
        );
    }
    let policy = Arc::new(data.policy.clone());
    let services: Arc<dyn Commands> = Arc::new(ContextServices::new(
        &stores,
        Arc::clone(&policy),
        Arc::clone(&config.clock),
    ));
    let (commands, command_server) = match &config.commands_over_nats {
        None => (Arc::clone(&services), None),
        Some(urls) => {
            let client = gongzhi_bus::connect_client(urls).await?;
            let server = tokio::spawn(gongzhi_bus::serve_commands(
                client.clone(),
                Arc::clone(&services),
                &gongzhi_domain::Context::ALL,
                // Stopped after the gateway, whose requests are its only callers.
                std::future::pending(),
            ));
            let remote: Arc<dyn Commands> = Arc::new(NatsCommands::new(client, COMMAND_TIMEOUT));
            (remote, Some(server))
        }
    };
    let timers = Timers::new(
        Arc::clone(&services),
        views.clone(),
        Arc::clone(&config.clock),
        Arc::clone(&policy),
    );
    let mut gateway_config = config.gateway;
    if config.demo_accounts {
        gateway_config.demo_accounts = demo::start_page_accounts();
        gateway_config.demo_password = demo::DEMO_PASSWORD.to_owned();
    }
    let state = AppState::new(Gateway {
        commands,
        views: views.clone(),
        committed: projector.committed(),
        applied: projector.applied(),
        accounts,
        directory: Arc::new(data.directory.clone()),
        policy,
        clock: config.clock,
        secret_key,
        config: gateway_config,
    });
    Ok(Node {
        state,
        stores,
        views,
        projector,
        timers,
        timer_every: config.timer_every,
        demo_accounts,
        demo_events,
        command_server,
    })
}

impl Node {
    /// Serves until `shutdown`, then stops the projector and the timers and returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let (stop, stopped) = watch::channel(false);
        let stop_signal = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let mut projector = self.projector;
        let projector_task = tokio::spawn({
            let stopped = stopped.clone();
            async move { follow(&mut projector, stop_signal(stopped)).await }
        });
        let inbox_tasks: Vec<_> = self
            .stores
            .inboxes()
            .into_iter()
            .map(|inbox| {
                let stopped = stopped.clone();
                tokio::spawn(async move { inbox.run(stop_signal(stopped)).await })
            })
            .collect();
        let timers = self.timers;
        let every = self.timer_every;
        let timers_task = tokio::spawn({
            let stopped = stopped.clone();
            async move { timers.run(every, stop_signal(stopped)).await }
        });
        let served = gongzhi_gateway::serve(listener, self.state, shutdown).await;
        if let Some(server) = self.command_server {
            server.abort();
        }
        let _ = stop.send(true);
        let _ = projector_task.await;
        let _ = timers_task.await;
        for task in inbox_tasks {
            let _ = task.await;
        }
        tracing::info!("stopped");
        served.context("serving HTTP")
    }

    /// Where the views stand.
    pub fn committed(&self) -> Position {
        *self.state.gateway.committed.borrow()
    }
}

/// Runs the projector until `shutdown`, restarting it after a failure (a database that
/// went away) with a growing pause; the failure is logged each time.
pub(crate) async fn follow(
    projector: &mut Projector<AnyEventStore>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut pause = Duration::from_millis(200);
    loop {
        tokio::select! {
            result = projector.run(&mut shutdown) => match result {
                Ok(()) => return,
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "projector stopped; restarting");
                }
            },
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

/// `gongzhi dev`: prepares the node, prints where to go and with which accounts, and
/// serves until Ctrl-C or SIGTERM.
pub async fn dev(args: crate::cli::DevArgs) -> Result<()> {
    let storage = &args.storage;
    let data = crate::admin::load_data(storage)?;
    let config = EmbeddedConfig {
        data_dir: storage.data_dir.clone(),
        stores: storage.stores(),
        views_url: storage.views_url(),
        accounts_url: storage.accounts_url(),
        data,
        demo_cases: if args.no_demo_cases {
            0
        } else {
            args.demo_cases as usize
        },
        demo_accounts: !args.no_demo_accounts,
        gateway: GatewayConfig {
            rate_limit_per_minute: args.rate_limit,
            ..GatewayConfig::default()
        },
        clock: Arc::new(gongzhi_service::SystemClock),
        timer_every: Duration::from_secs(30),
        commands_over_nats: None,
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    let started = Utc::now();
    let node = start(config).await?;
    demo::print_welcome(
        address,
        &storage.data_dir,
        &node.demo_accounts,
        node.demo_events,
    );
    tracing::info!(%address, since = %started, "serving");
    node.serve(listener, shutdown_signal()).await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down / 正在停止");
}
