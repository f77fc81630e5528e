//! `gongzhi serve --target ...`: chosen services of a city deployment in one process, over
//! PostgreSQL (a schema per service) and a NATS JetStream cluster (DESIGN §5, §7).
//!
//! - A context target (intake, assignment, resolution) keeps its store, publishes its own
//!   events through its relay, follows the other two contexts through JetStream into its
//!   replica, and answers its commands over NATS. Commands on one case are held by an
//!   advisory lock in the shared database, so contexts in different processes still take
//!   a case's commands one at a time.
//! - The projector target follows all three contexts into its log, projects the views,
//!   runs the deadline timers (their commands go over NATS) and announces each write of
//!   the views on `gongzhi.applied`.
//! - The gateway target serves the API and the pages; commands go over NATS, reads come
//!   from the views, and a command's reply waits for the projector's announcement.
//!
//! Every process serves `/healthz`, `/readyz` and `/metrics` on `--listen`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt;
use gongzhi_accounts::Accounts;
use gongzhi_bus::{JetStreamFeed, NatsCommands, Relay, RelayStatus, StreamSettings};
use gongzhi_domain::{CaseId, Context};
use gongzhi_gateway::{AppState, Gateway, GatewayConfig};
use gongzhi_service::{
    Clock, Commands, ContextServices, FileClock, Inbox, Stores, SystemClock, Timers,
};
use gongzhi_store::{AnyEventStore, EventStore, Partition, Position};
use gongzhi_views::{Applied, Projector, ViewStore};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::cli::{ServeArgs, Storage};
use crate::embedded::{follow, secret_key, shutdown_signal};

/// How long a command waits for its service over NATS before the gateway answers 503.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Where the projector announces the cases each write of the views changed.
const APPLIED_SUBJECT: &str = "gongzhi.applied";

/// What `gongzhi serve` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Context(Context),
    Projector,
    Gateway,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Self::Context(context) => context.as_str(),
            Self::Projector => "projector",
            Self::Gateway => "gateway",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name.trim() {
            "intake" => Self::Context(Context::Intake),
            "assignment" => Self::Context(Context::Assignment),
            "resolution" => Self::Context(Context::Resolution),
            "projector" => Self::Projector,
            "gateway" => Self::Gateway,
            other => bail!(
                "unknown target '{other}': use intake, assignment, resolution, projector, gateway"
            ),
        })
    }
}

/// The settings of `gongzhi serve`, from `--config FILE` overridden by flags and env.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    target: Option<Vec<String>>,
    nats: Option<String>,
    nats_user: Option<String>,
    nats_password: Option<String>,
    stream_replicas: Option<usize>,
    partition: Option<String>,
    postgres_url: Option<String>,
    data_dir: Option<PathBuf>,
    data_files: Option<PathBuf>,
    listen: Option<SocketAddr>,
}

struct Settings {
    targets: BTreeSet<Target>,
    min_sample: Option<i64>,
    secure_cookie: bool,
    rate_limit: Option<u32>,
    demo_accounts: bool,
    clock: Arc<dyn Clock>,
    timer_every: Duration,
    nats: String,
    nats_user: Option<(String, String)>,
    stream: StreamSettings,
    partition: Partition,
    storage: Storage,
    listen: SocketAddr,
}

impl Settings {
    fn resolve(args: ServeArgs) -> Result<Self> {
        let file: ConfigFile = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?
            }
            None => ConfigFile::default(),
        };
        let names: Vec<String> = if args.target.is_empty() {
            file.target.clone().unwrap_or_default()
        } else {
            args.target.clone()
        };
        if names.is_empty() {
            bail!("no --target: give intake, assignment, resolution, projector or gateway");
        }
        let targets = names
            .iter()
            .map(|n| Target::parse(n))
            .collect::<Result<BTreeSet<_>>>()?;
        let nats = args
            .nats
            .or(file.nats)
            .context("no --nats: give the NATS servers, e.g. nats://127.0.0.1:4222")?;
        let user = args.nats_user.or(file.nats_user);
        let password = args.nats_password.or(file.nats_password);
        let postgres_url = args.postgres_url.or(file.postgres_url);
        if postgres_url.is_none() {
            bail!("no --postgres-url: every service keeps its store in PostgreSQL");
        }
        let storage = Storage {
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("gongzhi-data")),
            postgres_url,
            views_url: None,
            accounts_url: None,
            data_files: args.data_files.or(file.data_files),
        };
        let partition = match (args.partition, file.partition) {
            (Some(partition), _) => partition,
            (None, Some(text)) => text
                .parse()
                .map_err(|error: String| anyhow::anyhow!("partition in the config: {error}"))?,
            (None, None) => Partition::WHOLE,
        };
        let clock: Arc<dyn Clock> = match &args.clock_file {
            Some(path) => Arc::new(FileClock::new(path)),
            None => Arc::new(SystemClock),
        };
        Ok(Self {
            targets,
            demo_accounts: args.demo_accounts,
            rate_limit: args.rate_limit,
            min_sample: args.min_sample,
            secure_cookie: args.secure_cookie,
            clock,
            timer_every: Duration::from_millis(args.timer_every_ms.unwrap_or(30_000)),
            nats,
            nats_user: user.zip(password),
            stream: StreamSettings {
                replicas: args.stream_replicas.or(file.stream_replicas).unwrap_or(1),
                ..StreamSettings::default()
            },
            partition,
            storage,
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        })
    }

    fn contexts(&self) -> Vec<Context> {
        self.targets
            .iter()
            .filter_map(|t| match t {
                Target::Context(context) => Some(*context),
                _ => None,
            })
            .collect()
    }
}

/// The announcement of one write of the views, as it travels to the gateways.
#[derive(Serialize, Deserialize)]
struct Announcement {
    commit: i64,
    sequence: i64,
    cases: Vec<(CaseId, u64)>,
}

/// The parts of the process that run until it stops. One that ends before (an error it
/// gave up on, or a panic) stops the whole process, so that its supervisor starts it
/// again whole: a process answering `/readyz` with a dead relay would look healthy.
#[derive(Clone)]
struct Vital {
    /// The first part that ended early.
    failed: Arc<watch::Sender<Option<&'static str>>>,
    stopping: Arc<AtomicBool>,
}

impl Vital {
    fn new() -> Self {
        Self {
            failed: Arc::new(watch::Sender::new(None)),
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    fn spawn(
        &self,
        name: &'static str,
        part: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let watch = Ended {
            name,
            vital: self.clone(),
        };
        tokio::spawn(async move {
            let _watch = watch;
            part.await;
        })
    }

    /// Resolves when a part has ended early.
    async fn failure(&self) {
        let mut failed = self.failed.subscribe();
        let _ = failed.wait_for(Option::is_some).await.map(|_| ());
    }
}

/// Marks the process as stopping however `serve` returns, so that parts dropped after a
/// failed start are not reported as failures of their own.
struct StoppingOnReturn(Arc<AtomicBool>);

impl Drop for StoppingOnReturn {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Dropped when its part ends, returns or unwinds.
struct Ended {
    name: &'static str,
    vital: Vital,
}

impl Drop for Ended {
    fn drop(&mut self) {
        if !self.vital.stopping.load(Ordering::SeqCst) {
            tracing::error!(
                part = self.name,
                "a part of this process stopped; stopping the process so that it is started again whole"
            );
            self.vital.failed.send_if_modified(|failed| {
                failed.get_or_insert(self.name);
                true
            });
        }
    }
}

/// What the process's `/metrics` and `/readyz` look at.
#[derive(Clone)]
struct Health {
    targets: Vec<String>,
    stores: Vec<(String, AnyEventStore)>,
    relays: Vec<(Context, watch::Receiver<RelayStatus>)>,
    nats: async_nats::Client,
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(health): State<Health>) -> impl IntoResponse {
    use axum::http::StatusCode;
    if health.nats.connection_state() != async_nats::connection::State::Connected {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "NATS is not connected\n".to_owned(),
        );
    }
    for (name, store) in &health.stores {
        if store.load_checkpoint("readyz").await.is_err() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the {name} store does not answer\n"),
            );
        }
    }
    (
        StatusCode::OK,
        format!("ready: {}\n", health.targets.join(",")),
    )
}

async fn metrics(State(health): State<Health>) -> String {
    type Read = fn(&RelayStatus) -> u64;
    let series: [(&str, &str, &str, Read); 3] = [
        (
            "gongzhi_relay_published_total",
            "Events the relay published (acknowledged by JetStream).",
            "counter",
            |s| s.published,
        ),
        (
            "gongzhi_relay_pending",
            "Own events read but not yet acknowledged in the current batch.",
            "gauge",
            |s| s.pending,
        ),
        (
            "gongzhi_relay_failures_total",
            "Failed relay attempts (NATS or the store away).",
            "counter",
            |s| s.failures,
        ),
    ];
    let mut out = String::new();
    for (name, help, kind, read) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (context, status) in &health.relays {
            let value = read(&status.borrow());
            let _ = writeln!(out, "{name}{{context=\"{}\"}} {value}", context.as_str());
        }
    }
    out
}

/// Follows `origins` from JetStream into `local`, each from its checkpoint there.
async fn inboxes(
    jetstream: &async_nats::jetstream::Context,
    settings: &Settings,
    local: &AnyEventStore,
    origins: impl Iterator<Item = Context>,
) -> Result<Vec<Inbox<AnyEventStore, JetStreamFeed>>> {
    let mut inboxes = Vec::new();
    for origin in origins {
        // Stream sequences, not store positions: a checkpoint of its own name, so one left
        // by the in-process bus (or a bulk load) is never read as a stream sequence.
        let whole = format!("jetstream:{}", origin.as_str());
        let consumer = settings.partition.checkpoint(&whole);
        let mut checkpoint = local.load_checkpoint(&consumer).await?;
        if checkpoint == Position::START {
            checkpoint = local.load_checkpoint(&whole).await?;
        }
        if checkpoint.commit != 0 {
            bail!("the checkpoint {consumer} is not a stream sequence: {checkpoint}");
        }
        let feed = JetStreamFeed::start(
            jetstream,
            &settings.stream,
            origin,
            settings.partition,
            checkpoint,
        )
        .await?;
        // The feed hands over this copy's share only.
        inboxes.push(Inbox::with_checkpoint(local.clone(), feed, consumer));
    }
    Ok(inboxes)
}

/// Runs the chosen targets until Ctrl-C or SIGTERM.
pub async fn serve(args: ServeArgs) -> Result<()> {
    let settings = Settings::resolve(args)?;
    let storage = &settings.storage;
    std::fs::create_dir_all(&storage.data_dir)
        .with_context(|| format!("creating {}", storage.data_dir.display()))?;
    let data = crate::admin::load_data(storage)?;
    let policy = Arc::new(data.policy.clone());
    let clock = Arc::clone(&settings.clock);
    let mut connect = async_nats::ConnectOptions::new()
        .name("gongzhi")
        .retry_on_initial_connect();
    if let Some((user, password)) = &settings.nats_user {
        connect = connect.user_and_password(user.clone(), password.clone());
    }
    let servers = settings
        .nats
        .split(',')
        .map(|url| url.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("the NATS servers '{}'", settings.nats))?;
    let client = connect
        .connect(servers)
        .await
        .context("connecting to NATS")?;
    let jetstream = async_nats::jetstream::new(client.clone());
    // A gateway alone neither publishes nor consumes events: the services make the stream.
    if settings.targets.iter().any(|t| *t != Target::Gateway) {
        gongzhi_bus::ensure_stream(&jetstream, &settings.stream)
            .await
            .context("creating the JetStream stream GONGZHI_EVENTS")?;
    }

    let (stop, stopped) = watch::channel(false);
    let stop_signal = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let vital = Vital::new();
    let _stopping_on_return = StoppingOnReturn(Arc::clone(&vital.stopping));
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let stop_commands = watch::Sender::new(false);
    let mut command_service = None;
    let mut health = Health {
        targets: settings
            .targets
            .iter()
            .map(|t| t.name().to_owned())
            .collect(),
        stores: Vec::new(),
        relays: Vec::new(),
        nats: client.clone(),
    };

    let contexts = settings.contexts();
    if !contexts.is_empty() {
        // Each context decides on its own store; the other contexts' stores are read only
        // for how many events of a case they hold (catch-up), and the lease is taken in
        // the shared database.
        let urls = storage.stores();
        let intake = gongzhi_store::connect(&urls.intake).await?;
        let mut stores = Stores {
            assignment: gongzhi_store::connect(&urls.assignment).await?,
            resolution: gongzhi_store::connect(&urls.resolution).await?,
            log: intake.clone(),
            intake,
        };
        // A case's history (`gongzhi.cmd.history`) is read from a store this process owns:
        // every context's replica holds all of a case's events in the one causal order, so
        // the projector's schema is not this process's to open.
        stores.log = stores.of(contexts[0]).clone();
        let services: Arc<dyn Commands> = Arc::new(ContextServices::new(
            &stores,
            Arc::clone(&policy),
            Arc::clone(&clock),
        ));
        for context in &contexts {
            let store = stores.of(*context).clone();
            health
                .stores
                .push((context.as_str().to_owned(), store.clone()));
            let relay = Relay::new(store.clone(), jetstream.clone(), *context)
                .with_partition(settings.partition);
            health.relays.push((*context, relay.status()));
            let stopped_relay = stopped.clone();
            tasks.push(vital.spawn("relay", async move {
                relay.run(stop_signal(stopped_relay)).await;
            }));
            let others = Context::ALL.into_iter().filter(|o| o != context);
            for inbox in inboxes(&jetstream, &settings, &store, others).await? {
                let stopped = stopped.clone();
                tasks.push(vital.spawn("inbox", async move {
                    inbox.run(stop_signal(stopped)).await;
                }));
            }
        }
        let client = client.clone();
        let stopped = stop_commands.subscribe();
        command_service = Some(vital.spawn("command service", async move {
            let shutdown = stop_signal(stopped);
            if let Err(error) =
                gongzhi_bus::serve_commands(client, services, &contexts, shutdown).await
            {
                tracing::error!(%error, "the command service stopped");
            }
        }));
    }

    let mut views_for_gateway = None;
    if settings.targets.contains(&Target::Projector) {
        let log = gongzhi_store::connect(&storage.store_url("projector")).await?;
        let views = ViewStore::open(&storage.views_url()).await?;
        health.stores.push(("projector".to_owned(), log.clone()));
        for inbox in inboxes(&jetstream, &settings, &log, Context::ALL.into_iter()).await? {
            let stopped = stopped.clone();
            tasks.push(vital.spawn("inbox", async move {
                inbox.run(stop_signal(stopped)).await;
            }));
        }
        let offset = data.policy.calendar.offset();
        let mut projector =
            Projector::new(log, views.clone(), offset).with_partition(settings.partition);
        let mut applied = projector.applied().subscribe();
        let committed = projector.committed();
        {
            let client = client.clone();
            tasks.push(vital.spawn("announcements", async move {
                loop {
                    let cases = match applied.recv().await {
                        Ok(cases) => cases,
                        // Gateways that miss an announcement look at the views themselves.
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => break,
                    };
                    let at = *committed.borrow();
                    let announcement = Announcement {
                        commit: at.commit,
                        sequence: at.sequence,
                        cases: cases.to_vec(),
                    };
                    if let Ok(payload) = serde_json::to_vec(&announcement)
                        && let Err(error) = client.publish(APPLIED_SUBJECT, payload.into()).await
                    {
                        tracing::warn!(%error, "announcing a write of the views");
                    }
                }
            }));
        }
        let stopped_projector = stopped.clone();
        tasks.push(vital.spawn("projector", async move {
            follow(&mut projector, stop_signal(stopped_projector)).await;
        }));
        let remote: Arc<dyn Commands> =
            Arc::new(NatsCommands::new(client.clone(), COMMAND_TIMEOUT));
        let timers = Timers::new(
            remote,
            views.clone(),
            Arc::clone(&clock),
            Arc::clone(&policy),
        )
        .with_partition(settings.partition);
        let stopped_timers = stopped.clone();
        let timer_every = settings.timer_every;
        tasks.push(vital.spawn("timers", async move {
            timers.run(timer_every, stop_signal(stopped_timers)).await;
        }));
        views_for_gateway = Some(views);
    }

    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let names: Vec<&str> = settings.targets.iter().map(|t| t.name()).collect();
    tracing::info!(targets = %names.join(","), address = %settings.listen, "serving");
    let stop_serving = {
        let vital = vital.clone();
        async move {
            tokio::select! {
                () = shutdown_signal() => {}
                () = vital.failure() => {}
            }
        }
    };
    let served = if settings.targets.contains(&Target::Gateway) {
        let views = match views_for_gateway {
            Some(views) => views,
            None => ViewStore::open(&storage.views_url()).await?,
        };
        let accounts = Accounts::open(&storage.accounts_url()).await?;
        let mut config = GatewayConfig {
            secure_cookie: settings.secure_cookie,
            ..GatewayConfig::default()
        };
        if let Some(min_sample) = settings.min_sample {
            config.min_sample = min_sample;
        }
        if let Some(limit) = settings.rate_limit {
            config.rate_limit_per_minute = limit;
        }
        if settings.demo_accounts {
            // Another gateway starting at the same time may make them first.
            if accounts.count().await? == 0
                && let Err(error) = crate::demo::create_accounts(&accounts, &data.directory).await
                && accounts.count().await? == 0
            {
                return Err(error);
            }
            config.demo_accounts = crate::demo::start_page_accounts();
            config.demo_password = crate::demo::DEMO_PASSWORD.to_owned();
        }
        let (applied_tx, _) = broadcast::channel::<Applied>(1_024);
        let (committed_tx, committed) = watch::channel(Position::START);
        let mut subscription = client.subscribe(APPLIED_SUBJECT).await?;
        {
            let applied_tx = applied_tx.clone();
            tasks.push(vital.spawn("announcement subscription", async move {
                while let Some(message) = subscription.next().await {
                    let Ok(announcement) = serde_json::from_slice::<Announcement>(&message.payload)
                    else {
                        continue;
                    };
                    committed_tx.send_replace(Position {
                        commit: announcement.commit,
                        sequence: announcement.sequence,
                    });
                    let _ = applied_tx.send(Applied::from(announcement.cases));
                }
            }));
        }
        let state = AppState::new(Gateway {
            commands: Arc::new(NatsCommands::new(client.clone(), COMMAND_TIMEOUT)),
            views,
            committed,
            applied: applied_tx,
            accounts,
            directory: Arc::new(data.directory.clone()),
            policy: Arc::clone(&policy),
            clock: Arc::clone(&clock),
            secret_key: secret_key(&storage.data_dir)?,
            config,
        });
        gongzhi_gateway::serve(listener, state, stop_serving).await
    } else {
        let app = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(health);
        axum::serve(listener, app)
            .with_graceful_shutdown(stop_serving)
            .await
    };
    vital.stopping.store(true, Ordering::SeqCst);
    // Commands in flight are answered first (the inboxes they may wait on still run), for
    // as long as a gateway would wait for them; new ones go to the other copies.
    let _ = stop_commands.send(true);
    if let Some(mut task) = command_service {
        if tokio::time::timeout(COMMAND_TIMEOUT, &mut task)
            .await
            .is_err()
        {
            tracing::warn!("commands still running after {COMMAND_TIMEOUT:?}; stopping them");
            task.abort();
        }
    }
    // Relays, inboxes and the projector finish their step; whatever is still going after
    // a moment is stopped (every step is a transaction, so nothing is half done).
    let _ = stop.send(true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    for mut task in tasks {
        if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
            task.abort();
        }
    }
    tracing::info!("stopped");
    if let Some(part) = *vital.failed.borrow() {
        bail!("the {part} stopped before the process did");
    }
    served.context("serving HTTP")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_part_that_ends_early_stops_the_process_and_one_that_ends_at_shutdown_does_not() {
        let vital = Vital::new();
        let steady = vital.spawn("relay", std::future::pending());
        let _ = vital
            .spawn("inbox", async { panic!("an inbox gave up") })
            .await;
        tokio::time::timeout(Duration::from_secs(5), vital.failure())
            .await
            .expect("a panicking part is noticed");
        assert_eq!(*vital.failed.borrow(), Some("inbox"));

        let vital = Vital::new();
        vital.stopping.store(true, Ordering::SeqCst);
        vital.spawn("relay", async {}).await.unwrap();
        steady.abort();
        assert_eq!(*vital.failed.borrow(), None);
    }
}
