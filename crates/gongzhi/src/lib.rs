//! The `gongzhi` command: administration of the event store and the views. The HTTP
//! service (`gongzhi dev`, `gongzhi serve`) builds on this in later work.

pub mod admin;
pub mod cli;

/// Runs a parsed command line.
pub async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    match cli.command {
        cli::Command::Admin(admin) => admin::run(admin).await,
    }
}
