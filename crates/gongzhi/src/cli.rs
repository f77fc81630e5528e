//! The command line (DESIGN §7). The storage options can also come from `GONGZHI_*`
//! environment variables.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// 共治 Gongzhi — 民生诉求办理 / resident concerns, from filing to the resident's rating.
#[derive(Debug, Parser)]
#[command(version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 管理 Administration: migrations, view rebuilds, demo history.
    Admin(AdminArgs),
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub storage: Storage,
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// Where the event log and the views live.
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
    /// 事件库 Event store URL (sqlite://PATH or postgres://...?schema=NAME); default: DATA_DIR/events.sqlite.
    #[arg(
        long,
        global = true,
        env = "GONGZHI_EVENTS_URL",
        hide_env_values = true
    )]
    pub events_url: Option<String>,
    /// 视图库 View store URL; default: DATA_DIR/views.sqlite.
    #[arg(long, global = true, env = "GONGZHI_VIEWS_URL", hide_env_values = true)]
    pub views_url: Option<String>,
    /// 配置数据 Folder with directory.toml, sla.toml and calendar/*.toml.
    #[arg(
        long,
        global = true,
        env = "GONGZHI_DATA_FILES",
        default_value = "data"
    )]
    pub data_files: PathBuf,
}

impl Storage {
    pub fn events_url(&self) -> String {
        self.events_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("events.sqlite").display())
        })
    }

    pub fn views_url(&self) -> String {
        self.views_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("views.sqlite").display()))
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
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
