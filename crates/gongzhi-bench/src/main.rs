//! `gongzhi-bench`: append throughput beside plain INSERT transactions, and rebuild
//! throughput over a simulated history, on SQLite and PostgreSQL, in one run on one machine;
//! the load generator (`--only load`) that files concerns over HTTP, and the relay beside
//! the raw JetStream publish ceiling (`--only bus`).

mod append;
mod bus;
mod distributed;
mod load;
mod raw_server;
mod rebuild;

use clap::Parser;

/// 基准测试 / Benchmarks for the event store and the projector.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Appends per concurrency level and backend (each single-event, with an idempotency key).
    #[arg(long, default_value_t = 20_000)]
    appends: usize,
    /// Events in the history the rebuild replays (about 9 per simulated case).
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Events the relays publish in the bus run (`--only bus`).
    #[arg(long, default_value_t = 100_000)]
    bus_events: usize,
    /// Concurrent writers to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 64])]
    writers: Vec<usize>,
    /// Load run: a running server to file against (default: start `gongzhi dev` here).
    #[arg(long)]
    url: Option<String>,
    /// Load run: callers at saturation, one run per number; the best is the saturation
    /// figure (a pipeline of several hops needs more callers in flight to be saturated).
    #[arg(long, value_delimiter = ',', default_values_t = [64, 192])]
    concurrency: Vec<usize>,
    /// Load run: concerns per second for the fixed-rate run.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Load run: seconds per run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Load run: cases of simulated history stored before the server starts.
    #[arg(long, default_value_t = 0)]
    history_cases: usize,
    /// Load run: keep the server's data in this folder (seeded once, reused afterwards).
    #[arg(long)]
    load_dir: Option<std::path::PathBuf>,
    /// Internal: serve the raw engine of the load run on this address, then nothing else.
    #[arg(long, hide = true)]
    raw_server_listen: Option<std::net::SocketAddr>,
    /// Internal: the raw engine's data folder.
    #[arg(long, hide = true)]
    raw_server_dir: Option<std::path::PathBuf>,
    /// Which benchmarks: append, rebuild, load (HTTP; needs the release `gongzhi` binary),
    /// bus (relay against raw JetStream; needs nats-server), distributed (the load run
    /// against deploy/local/up's topology; needs nats-server and PostgreSQL).
    #[arg(long, value_delimiter = ',', default_values_t = ["append".to_owned(), "rebuild".to_owned()])]
    only: Vec<String>,
    /// Which backends: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_values_t = ["sqlite".to_owned(), "postgres".to_owned()])]
    backends: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let (Some(listen), Some(dir)) = (args.raw_server_listen, &args.raw_server_dir) {
        return raw_server::serve(listen, dir).await;
    }
    println!(
        "gongzhi-bench — {} cores, release={}",
        std::thread::available_parallelism()?.get(),
        !cfg!(debug_assertions)
    );
    if args.only.iter().any(|o| o == "append") {
        append::run(&args.backends, &args.writers, args.appends).await?;
    }
    if args.only.iter().any(|o| o == "rebuild") {
        rebuild::run(&args.backends, args.events).await?;
    }
    if args.only.iter().any(|o| o == "bus") {
        bus::run(args.bus_events).await?;
    }
    let load = load::LoadArgs {
        url: args.url.clone(),
        concurrency: args.concurrency.clone(),
        rate: args.rate,
        seconds: args.seconds,
        history_cases: args.history_cases,
        data_dir: args.load_dir.clone(),
    };
    if args.only.iter().any(|o| o == "load") {
        load::run(&load).await?;
    }
    if args.only.iter().any(|o| o == "distributed") {
        distributed::run(&load).await?;
    }
    Ok(())
}
