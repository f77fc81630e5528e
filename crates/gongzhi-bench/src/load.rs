//! The load generator: files concerns over HTTP against a running server, at saturation
//! (a fixed number of callers as fast as they can) or at a set rate (open loop: latency
//! counts from when a request was due, so a slow server cannot hide its queue), and
//! reports throughput, p50/p99/max latency, projection lag and the server's peak memory.
//!
//! Without `--url` it starts `gongzhi dev` (release build, next to this binary) on a fresh
//! data directory, optionally filled with a simulated history of many cases first.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use gongzhi_service::DataFiles;
use gongzhi_service::history::{self, HistoryPlan};
use gongzhi_store::{EventStore, connect};
use gongzhi_views::{Projector, ViewStore};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadArgs {
    /// A running server; without it, `gongzhi dev` is started here.
    pub url: Option<String>,
    /// Callers for the saturation run.
    pub concurrency: Vec<usize>,
    /// Concerns per second for the fixed-rate run.
    pub rate: u64,
    /// Seconds per run.
    pub seconds: u64,
    /// Cases of simulated history to store before starting the server (0: none).
    pub history_cases: usize,
    /// Keep the server's data here (seeded once, reused by later runs) instead of a
    /// temporary folder.
    pub data_dir: Option<PathBuf>,
}

/// Latencies in seconds, summarised.
struct Summary {
    count: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

fn summarise(mut samples: Vec<f64>) -> Summary {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Summary {
        count: samples.len(),
        p50: at(0.5),
        p99: at(0.99),
        max: samples.last().copied().unwrap_or(0.0),
    }
}

fn ms(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1e3)
}

/// A `gongzhi dev` child process, stopped on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Peak resident memory so far (VmHWM), in MiB.
    fn peak_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

pub(crate) fn gongzhi_binary() -> Result<PathBuf> {
    let here = std::env::current_exe()?;
    let binary = here.with_file_name("gongzhi");
    if !binary.exists() {
        bail!(
            "{} is missing: build it beside this benchmark (cargo build --release -p gongzhi -p gongzhi-bench)",
            binary.display()
        );
    }
    Ok(binary)
}

/// Starts `gongzhi dev`, or with `raw` the raw engine (this binary's raw server).
async fn start_server(data_dir: &Path, raw: bool) -> Result<Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut command = if raw {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["--raw-server-listen", &listen, "--raw-server-dir"])
            .arg(data_dir);
        command
    } else {
        let mut command = Command::new(gongzhi_binary()?);
        command
            .args([
                "dev",
                "--no-demo-cases",
                "--rate-limit",
                "0",
                "--listen",
                &listen,
            ])
            .arg("--data-dir")
            .arg(data_dir);
        command
    };
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the server")?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        if let Ok(response) = client.get(format!("{}/readyz", server.base)).send().await
            && response.status().is_success()
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server did not become ready")
}

/// Stores `cases` simulated cases the way a long-running deployment would hold them: in
/// the projector's replica and the views (rebuilt). The contexts' own stores stay empty:
/// filing new concerns does not read old cases.
async fn seed(data_dir: &Path, cases: usize) -> Result<()> {
    let data = DataFiles::shipped()?;
    let plan = HistoryPlan::for_directory(&data.directory, cases, 365, Utc::now(), 7);
    let started = Instant::now();
    let events = history::generate(&plan, &data.policy);
    println!(
        "seed: simulated {} events of {cases} cases in {:.0} s",
        events.len(),
        started.elapsed().as_secs_f64()
    );
    let url = |name: &str| {
        format!(
            "sqlite://{}",
            data_dir.join(format!("{name}.sqlite")).display()
        )
    };
    let log = connect(&format!("{}?synchronous=normal", url("projector"))).await?;
    let started = Instant::now();
    history::load(&log, &events, 5_000, |_| {}).await?;
    println!(
        "seed: wrote {} events in {:.0} s",
        log.count().await?,
        started.elapsed().as_secs_f64()
    );
    drop(events);
    let views = ViewStore::open(&url("views")).await?;
    let started = Instant::now();
    Projector::new(log, views, data.policy.calendar.offset())
        .with_batch_size(100_000)
        .rebuild(|_| {})
        .await?;
    println!(
        "seed: rebuilt the views in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn login(client: &reqwest::Client, base: &str) -> Result<String> {
    let reply: Value = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"username": "hotline", "password": "gongzhi-demo"}))
        .send()
        .await?
        .json()
        .await?;
    reply["token"]
        .as_str()
        .map(str::to_owned)
        .context("login failed: is this a `gongzhi dev` server with the demo accounts?")
}

const COMMUNITIES: [&str; 10] = [
    "shilong",
    "langxin",
    "guantian",
    "yingrenshi",
    "shangwu",
    "shuitian",
    "tangtou",
    "luozu",
    "mabu",
    "longteng",
];

/// Files one concern; returns the latency and whether it was accepted.
async fn file(client: &reqwest::Client, base: &str, token: &str, n: u64) -> (f64, bool) {
    let body = json!({
        "channel": "hotline",
        "community": COMMUNITIES[(n % 10) as usize],
        "title": format!("来电诉求 {n}"),
        "description": "小区门口路灯不亮，夜间出行不便，请尽快维修。",
        "reporter": {"phone": "13812345678"},
    });
    let started = Instant::now();
    let sent = client
        .post(format!("{base}/api/v1/concerns"))
        .bearer_auth(token)
        .header(
            "Idempotency-Key",
            format!("load-{n}-{}", std::process::id()),
        )
        .json(&body)
        .send()
        .await;
    let ok = matches!(&sent, Ok(r) if r.status() == reqwest::StatusCode::CREATED);
    if let Ok(response) = sent {
        let _ = response.bytes().await;
    }
    (started.elapsed().as_secs_f64(), ok)
}

async fn saturate(base: &str, token: &str, callers: usize, seconds: u64) -> (f64, Summary, u64) {
    let client = reqwest::Client::new();
    let counter = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (client, base, token) = (client.clone(), base.to_owned(), token.to_owned());
            let (counter, failures, latencies) =
                (counter.clone(), failures.clone(), latencies.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let (latency, ok) = file(&client, &base, &token, n).await;
                    if ok {
                        mine.push(latency);
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.lock().await.extend(mine);
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = std::mem::take(&mut *latencies.lock().await);
    let summary = summarise(samples);
    (
        summary.count as f64 / elapsed,
        summary,
        failures.load(Ordering::Relaxed),
    )
}

async fn at_rate(base: &str, token: &str, rate: u64, seconds: u64) -> (Summary, u64) {
    let client = reqwest::Client::new();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(AtomicU64::new(0));
    let total = rate * seconds;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let (client, base, token) = (client.clone(), base.to_owned(), token.to_owned());
        let (latencies, failures) = (latencies.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let (_, ok) = file(&client, &base, &token, 1_000_000_000 + n).await;
            // From when the request was due, not when it left: no coordinated omission.
            let latency = due.elapsed().as_secs_f64();
            if ok {
                latencies.lock().await.push(latency);
            } else {
                failures.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let samples = std::mem::take(&mut *latencies.lock().await);
    (summarise(samples), failures.load(Ordering::Relaxed))
}

/// The server's projection-lag histogram (time from a command's append until the views
/// showed it), read from `/metrics`: cumulative counts per bucket bound.
async fn lag_buckets(base: &str) -> Result<Vec<(String, u64)>> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("gongzhi_projection_visible_seconds_bucket{le=\""))
        .filter_map(|rest| rest.split_once("\"} "))
        .map(|(bound, value)| (bound.to_owned(), value.parse().unwrap_or(0)))
        .collect())
}

/// p50 and p99 of the lag between two readings of the histogram, as the bucket bound
/// that covers each, and how many commands it covers.
fn lag_between(before: &[(String, u64)], after: &[(String, u64)]) -> (String, String, u64) {
    let counts: Vec<(String, u64)> = after
        .iter()
        .map(|(bound, n)| {
            let earlier = before
                .iter()
                .find(|(b, _)| b == bound)
                .map_or(0, |(_, n)| *n);
            (bound.clone(), n - earlier)
        })
        .collect();
    let total = counts.last().map_or(0, |(_, n)| *n);
    let quantile = |q: f64| {
        let wanted = ((total as f64) * q).ceil() as u64;
        counts
            .iter()
            .find(|(_, n)| *n >= wanted)
            .map_or("?".to_owned(), |(bound, _)| format!("≤ {bound} s"))
    };
    (quantile(0.5), quantile(0.99), total)
}

/// The groupings a leader's dashboard asks for.
const GROUPINGS: [&str; 6] = [
    "",
    "group_by=community",
    "group_by=category",
    "group_by=unit",
    "group_by=day",
    "group_by=community&category=noise",
];

/// Latency of the statistics endpoint over `period` (a query fragment), every grouping
/// ten times, the first round (cold caches) included.
async fn stats_latency(base: &str, token: &str, period: &str) -> Result<Summary> {
    let client = reqwest::Client::new();
    let mut samples = Vec::new();
    for round in 0..10 * GROUPINGS.len() {
        let query = GROUPINGS[round % GROUPINGS.len()];
        let started = Instant::now();
        let response = client
            .get(format!("{base}/api/v1/stats?{period}&{query}"))
            .bearer_auth(token)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("stats answered {}", response.status());
        }
        response.bytes().await?;
        samples.push(started.elapsed().as_secs_f64());
    }
    Ok(summarise(samples))
}

async fn print_stats_latency(base: &str, token: &str, when: &str) -> Result<()> {
    for (label, period) in [
        ("the last 30 days (the default)", "area=shiyan"),
        ("a whole year", "from=2026-01-01&to=2026-12-31"),
    ] {
        let stats = stats_latency(base, token, period).await?;
        println!(
            "stats endpoint {when}, {label}, 6 groupings x 10: p50 {}  p99 {}  max {}",
            ms(stats.p50),
            ms(stats.p99),
            ms(stats.max)
        );
    }
    Ok(())
}

pub async fn run(args: &LoadArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| dir.path().join("data"));
    std::fs::create_dir_all(&data_dir)?;
    let seeded = data_dir.join("views.sqlite").exists();
    if args.history_cases > 0 && args.url.is_none() && !seeded {
        seed(&data_dir, args.history_cases).await?;
    }
    let server = match &args.url {
        Some(_) => None,
        None => Some(start_server(&data_dir, false).await?),
    };
    let base = args
        .url
        .clone()
        .or_else(|| server.as_ref().map(|s| s.base.clone()))
        .context("no server")?;
    let client = reqwest::Client::new();
    let token = login(&client, &base).await?;
    println!(
        "-- load over HTTP against {base} ({} cases stored beforehand)",
        args.history_cases
    );
    if let Some(server) = &server {
        println!(
            "server peak memory after start: {:.0} MiB",
            server.peak_mib().unwrap_or(0.0)
        );
    }
    print_stats_latency(&base, &token, "before the load").await?;
    let before_saturation = lag_buckets(&base).await?;
    let mut throughput: f64 = 0.0;
    for &callers in &args.concurrency {
        let (reached, saturated, failed) = saturate(&base, &token, callers, args.seconds).await;
        println!(
            "saturation, {callers} callers, {} s: {reached:.0} concerns/s; latency p50 {}  p99 {}  max {}; {failed} failed",
            args.seconds,
            ms(saturated.p50),
            ms(saturated.p99),
            ms(saturated.max),
        );
        throughput = throughput.max(reached);
    }
    let after_saturation = lag_buckets(&base).await?;
    let (lag50, lag99, lag_count) = lag_between(&before_saturation, &after_saturation);
    println!(
        "  projection lag (append → visible in the case list), {lag_count} commands: p50 {lag50}  p99 {lag99}"
    );
    let (steady, failed) = at_rate(&base, &token, args.rate, args.seconds).await;
    println!(
        "fixed rate {}/s, {} s: {} filed; latency p50 {}  p99 {}  max {}; {} failed",
        args.rate,
        args.seconds,
        steady.count,
        ms(steady.p50),
        ms(steady.p99),
        ms(steady.max),
        failed
    );
    let after_rate = lag_buckets(&base).await?;
    let (lag50, lag99, lag_count) = lag_between(&after_saturation, &after_rate);
    println!("  projection lag, {lag_count} commands: p50 {lag50}  p99 {lag99}");
    if let Some(server) = &server {
        println!(
            "server peak memory (VmHWM): {:.0} MiB",
            server.peak_mib().unwrap_or(0.0)
        );
    }
    print_stats_latency(&base, &token, "after the load").await?;
    drop(server);
    if args.url.is_none() {
        // The ceiling: same framework, same SQLite, one durable INSERT per request.
        let raw_dir = dir.path().join("raw");
        std::fs::create_dir_all(&raw_dir)?;
        let raw = start_server(&raw_dir, true).await?;
        let mut raw_throughput: f64 = 0.0;
        let mut raw_p99 = 0.0;
        for &callers in &args.concurrency {
            let (reached, saturated, _) = saturate(&raw.base, "raw", callers, args.seconds).await;
            if reached > raw_throughput {
                (raw_throughput, raw_p99) = (reached, saturated.p99);
            }
        }
        let (raw_steady, _) = at_rate(&raw.base, "raw", args.rate, args.seconds).await;
        println!(
            "raw engine (axum + one SQLite FULL insert per request), same run: {:.0} concerns/s at saturation \
             (p99 {}); at {}/s p99 {}",
            raw_throughput,
            ms(raw_p99),
            args.rate,
            ms(raw_steady.p99)
        );
        println!(
            "gongzhi dev at saturation (its best run) = {:.0}% of the raw engine",
            100.0 * throughput / raw_throughput
        );
    }
    Ok(())
}
