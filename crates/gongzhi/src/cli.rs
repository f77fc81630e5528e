//! The command line (DESIGN §7). The storage options can also come from `GONGZHI_*`
//! environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gongzhi_service::Stores;

/// 共治 Gongzhi — 民生诉求办理 / resident concerns, from filing to the resident's rating.
#[derive(Debug, Parser)]
#[command(
    version,
    propagate_version = true,
    after_help = "日志 Logs go to standard error: RUST_LOG sets the level (default warn,gongzhi=info), \
                  GONGZHI_LOG_FORMAT=json writes one JSON object per line."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 开发/单机 Run every service in one process on embedded storage, with demo data.
    Dev(DevArgs),
    /// 分布式 Run chosen services of a city deployment over PostgreSQL and NATS JetStream.
    Serve(ServeArgs),
    /// 管理 Administration: accounts, migrations, view rebuilds, demo history.
    Admin(AdminArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// 服务 intake, assignment, resolution, projector, gateway (several, comma-separated).
    #[arg(long, env = "GONGZHI_TARGET", value_delimiter = ',')]
    pub target: Vec<String>,
    /// 配置文件 A TOML file with the same settings in snake_case; flags and env override it.
    #[arg(long, env = "GONGZHI_CONFIG")]
    pub config: Option<PathBuf>,
    /// NATS servers, comma-separated (nats://n1:4222,nats://n2:4222,...).
    #[arg(long, env = "GONGZHI_NATS")]
    pub nats: Option<String>,
    #[arg(long, env = "GONGZHI_NATS_USER")]
    pub nats_user: Option<String>,
    #[arg(long, env = "GONGZHI_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// 副本 Replicas of the JetStream stream (3 on a three-node cluster); default 1.
    #[arg(long, env = "GONGZHI_STREAM_REPLICAS")]
    pub stream_replicas: Option<usize>,
    /// 分片 This copy's share of the cases, I/N (0/2 and 1/2 for two copies): its relay,
    /// inboxes and projector take only those; commands go to any copy. Default 0/1.
    #[arg(long, env = "GONGZHI_PARTITION")]
    pub partition: Option<gongzhi_store::Partition>,
    /// PostgreSQL: one database, every service's store in its own schema.
    #[arg(long, env = "GONGZHI_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// 数据目录 Holds secret.key (every gateway must share it) and data/; default gongzhi-data.
    #[arg(long, env = "GONGZHI_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// 配置数据 Folder with directory.toml, sla.toml and calendar/; default DATA_DIR/data.
    #[arg(long, env = "GONGZHI_DATA_FILES")]
    pub data_files: Option<PathBuf>,
    /// 监听地址 HTTP: the API and pages of a gateway; /healthz, /readyz, /metrics of any
    /// target. Default 127.0.0.1:8080.
    #[arg(long, env = "GONGZHI_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// 限流 Requests per minute per client address without a session (0 = off); default 120.
    #[arg(long, env = "GONGZHI_RATE_LIMIT")]
    pub rate_limit: Option<u32>,
    /// Behind HTTPS: mark the session and form cookies `Secure`.
    #[arg(long, env = "GONGZHI_SECURE_COOKIE")]
    pub secure_cookie: bool,
    /// 演示账号 The gateway creates the demo accounts (password gongzhi-demo) when there
    /// are no accounts: for trying a topology out, never for real use.
    #[arg(long, env = "GONGZHI_DEMO_ACCOUNTS")]
    pub demo_accounts: bool,
    /// Smallest sample (rated cases) for a group to be ranked in statistics; default 10.
    #[arg(long, env = "GONGZHI_MIN_SAMPLE", hide = true)]
    pub min_sample: Option<i64>,
    /// Tests: read the time from this file (RFC 3339) instead of the system clock.
    #[arg(long, env = "GONGZHI_CLOCK_FILE", hide = true)]
    pub clock_file: Option<PathBuf>,
    /// Tests: how often the deadline timers look, in milliseconds (default 30 s).
    #[arg(long, env = "GONGZHI_TIMER_EVERY_MS", hide = true)]
    pub timer_every_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub storage: Storage,
    /// 监听地址 Address to serve HTTP on.
    #[arg(long, env = "GONGZHI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// 不生成演示工单 Do not generate the 90-day demo history.
    #[arg(long)]
    pub no_demo_cases: bool,
    /// 不建演示账号 Do not create the demo accounts (password gongzhi-demo) on first start;
    /// add real ones with `gongzhi admin user add`.
    #[arg(long)]
    pub no_demo_accounts: bool,
    /// 演示工单数 Cases in the demo history.
    #[arg(long, default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(1..=2_000_000))]
    pub demo_cases: u64,
    /// 限流 Requests per minute per client address without a session (0 = off).
    #[arg(long, env = "GONGZHI_RATE_LIMIT", default_value_t = 120)]
    pub rate_limit: u32,
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub storage: Storage,
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// Where the event stores, the views and the accounts live.
#[derive(Debug, Clone, Args)]
pub struct Storage {
    /// 数据目录 Data directory for the embedded SQLite files.
    #[arg(
        long,
        global = true,
        env = "GONGZHI_DATA_DIR",
        default_value = "gongzhi-data"
    )]
    pub data_dir: PathBuf,
    /// PostgreSQL 数据库 Keep every store in PostgreSQL, each service in its own schema
    /// (gongzhi_intake, gongzhi_assignment, ...), instead of SQLite files in DATA_DIR.
    #[arg(
        long,
        global = true,
        env = "GONGZHI_POSTGRES_URL",
        hide_env_values = true
    )]
    pub postgres_url: Option<String>,
    /// 视图库 View store URL; default: DATA_DIR/views.sqlite (or schema gongzhi_views).
    #[arg(long, global = true, env = "GONGZHI_VIEWS_URL", hide_env_values = true)]
    pub views_url: Option<String>,
    /// 账号库 Accounts database URL; default: DATA_DIR/accounts.sqlite (or schema gongzhi_accounts).
    #[arg(
        long,
        global = true,
        env = "GONGZHI_ACCOUNTS_URL",
        hide_env_values = true
    )]
    pub accounts_url: Option<String>,
    /// 配置数据 Folder with directory.toml, sla.toml and calendar/*.toml; default:
    /// DATA_DIR/data, filled with the shipped files on first use.
    #[arg(long, global = true, env = "GONGZHI_DATA_FILES")]
    pub data_files: Option<PathBuf>,
}

impl Storage {
    /// Where the store called `name` lives: DATA_DIR/NAME.sqlite, or schema gongzhi_NAME.
    pub fn store_url(&self, name: &str) -> String {
        match &self.postgres_url {
            Some(url) => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}schema=gongzhi_{name}")
            }
            None => format!(
                "sqlite://{}",
                self.data_dir.join(format!("{name}.sqlite")).display()
            ),
        }
    }

    /// The event stores of the three contexts and the projector's replica.
    pub fn stores(&self) -> Stores<String> {
        Stores {
            intake: self.store_url("intake"),
            assignment: self.store_url("assignment"),
            resolution: self.store_url("resolution"),
            log: self.store_url("projector"),
        }
    }

    pub fn accounts_url(&self) -> String {
        self.accounts_url
            .clone()
            .unwrap_or_else(|| self.store_url("accounts"))
    }

    pub fn views_url(&self) -> String {
        self.views_url
            .clone()
            .unwrap_or_else(|| self.store_url("views"))
    }

    /// The data-file folder; the default one is filled with the shipped files if empty.
    pub fn data_files(&self) -> PathBuf {
        self.data_files
            .clone()
            .unwrap_or_else(|| self.data_dir.join("data"))
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// 账号 Staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// 迁移 Apply schema migrations to the event store and the view store.
    Migrate,
    /// 重建 Replay the event log from position zero into empty views, with a progress bar.
    Rebuild {
        /// 视图 summary or stats. Both come from one projection, so either name rebuilds both.
        #[arg(value_parser = ["summary", "stats"])]
        view: Option<String>,
        /// 全部 Rebuild every view (the default, and what happens anyway).
        #[arg(long)]
        all: bool,
    },
    /// 投影 Bring the views up to date with the event log once, then exit.
    Project {
        /// 批量 Events per transaction.
        #[arg(long, default_value_t = 1_000)]
        batch_size: usize,
    },
    /// 演示数据 Append a simulated history of Shiyan street, project it and print the figures.
    Seed {
        /// 工单数 Cases to simulate (about 9 events each).
        #[arg(long, default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(1..=5_000_000))]
        cases: u64,
        /// 天数 Days of history, ending now.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3_650))]
        days: u32,
        /// 随机种子 Random seed; the same seed gives the same history.
        #[arg(long, default_value_t = 2023)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// 添加账号 Add a staff account; the password is read from standard input.
    Add {
        /// 用户名 Login name: letters, digits, '.', '-', '_'.
        #[arg(long)]
        username: String,
        /// 角色 operator, council, handler, leader or admin.
        #[arg(long, value_parser = ["operator", "council", "handler", "leader", "admin"])]
        role: String,
        /// 辖区 Area code the account sees (all roles but handler).
        #[arg(long)]
        area: Option<String>,
        /// 承办单位 Unit code (handlers).
        #[arg(long)]
        unit: Option<String>,
        /// 姓名 Name shown in the interface; default: the username.
        #[arg(long)]
        name: Option<String>,
    },
}
