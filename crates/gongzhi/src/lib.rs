//! The `gongzhi` command: `gongzhi dev` runs every service in one process on embedded
//! storage; `gongzhi admin` manages accounts, migrations, views and demo history.

pub mod admin;
pub mod cli;
pub mod demo;
pub mod embedded;
pub mod stores;

/// Runs a parsed command line.
pub async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    match cli.command {
        cli::Command::Dev(args) => embedded::dev(args).await,
        cli::Command::Admin(admin) => admin::run(admin).await,
    }
}
