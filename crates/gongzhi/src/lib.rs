//! The `gongzhi` command: `gongzhi dev` runs every service in one process on embedded
//! storage; `gongzhi serve` runs chosen services over PostgreSQL and NATS JetStream;
//! `gongzhi admin` manages accounts, migrations, views and demo history.

pub mod admin;
pub mod cli;
pub mod demo;
pub mod embedded;
pub mod serve;
pub mod stores;

/// Runs a parsed command line.
pub async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    match cli.command {
        cli::Command::Dev(args) => embedded::dev(args).await,
        cli::Command::Serve(args) => serve::serve(args).await,
        cli::Command::Admin(admin) => admin::run(admin).await,
    }
}
