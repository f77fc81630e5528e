//! `gongzhi admin`: migrations, rebuilds with a progress bar, one-shot projection and a
//! simulated demo history with a figures table.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use gongzhi_accounts::{Accounts, NewAccount};
use gongzhi_domain::{Code, Role};
use gongzhi_service::DataFiles;
use gongzhi_service::Stores;
use gongzhi_service::history::{self, HistoryPlan};
use gongzhi_store::{AnyEventStore, EventStore};
use gongzhi_views::{Progress, Projector, StatCounts, ViewStore};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{AdminArgs, AdminCommand, Storage, UserCommand};
use crate::stores;

/// Events per transaction when rebuilding: large, because a rebuild owns the views.
const REBUILD_BATCH: usize = 50_000;

pub async fn run(args: AdminArgs) -> Result<()> {
    let storage = &args.storage;
    match args.command {
        AdminCommand::Migrate => {
            open(storage).await?;
            Accounts::open(&storage.accounts_url())
                .await
                .with_context(|| {
                    format!(
                        "opening the accounts database {}",
                        redact(&storage.accounts_url())
                    )
                })?;
            let urls = storage.stores();
            println!("已迁移 migrated:");
            for (name, url) in urls.named() {
                println!("  {name:<11} {}", redact(url));
            }
            println!("  {:<11} {}", "views", redact(&storage.views_url()));
            println!("  {:<11} {}", "accounts", redact(&storage.accounts_url()));
            Ok(())
        }
        AdminCommand::User(UserCommand::Add {
            username,
            role,
            area,
            unit,
            name,
        }) => add_user(storage, username, &role, area, unit, name).await,
        AdminCommand::Rebuild { .. } => rebuild(storage).await,
        AdminCommand::Project { batch_size } => {
            let data = load_data(storage)?;
            let (events, views, _) = open(storage).await?;
            let started = Instant::now();
            let mut projector = Projector::new(events, views, data.policy.calendar.offset())
                .with_batch_size(batch_size);
            let applied = projector.catch_up().await?;
            println!(
                "已投影 projected {applied} events in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        AdminCommand::Seed { cases, days, seed } => {
            seed_history(storage, cases as usize, days, seed).await
        }
    }
}

/// Loads the data files; the default folder is first filled with the shipped ones.
pub(crate) fn load_data(storage: &Storage) -> Result<DataFiles> {
    let dir = storage.data_files();
    if storage.data_files.is_none() && DataFiles::write_defaults(&dir)? {
        tracing::info!(dir = %dir.display(), "wrote the shipped data files for editing");
    }
    DataFiles::load(&dir).with_context(|| {
        format!(
            "reading the data files in {} (set --data-files or GONGZHI_DATA_FILES)",
            dir.display()
        )
    })
}

/// Opens every event store and the views; returns the projector's replica (the log the
/// views are projected from), the views and all the stores.
async fn open(storage: &Storage) -> Result<(AnyEventStore, ViewStore, Stores<AnyEventStore>)> {
    let stores = stores::open(&storage.stores()).await?;
    let views_url = storage.views_url();
    let views = ViewStore::open(&views_url)
        .await
        .with_context(|| format!("opening the view store {}", redact(&views_url)))?;
    Ok((stores.log.clone(), views, stores))
}

fn bar(total: u64, message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40.cyan/blue}] {pos}/{len} events, {per_sec}, ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

async fn rebuild(storage: &Storage) -> Result<()> {
    let data = load_data(storage)?;
    let (events, views, _) = open(storage).await?;
    let total = events.count().await?;
    let progress = bar(total, "重建视图 rebuilding views");
    let mut projector =
        Projector::new(events, views, data.policy.calendar.offset()).with_batch_size(REBUILD_BATCH);
    let mut last = None;
    projector
        .rebuild(|step: Progress| {
            progress.set_position(step.applied);
            last = Some(step);
        })
        .await?;
    progress.finish_and_clear();
    if let Some(done) = last {
        println!(
            "已重建 rebuilt summary and statistics views from {} events in {:.1} s ({:.0} events/s)",
            done.applied,
            done.elapsed.as_secs_f64(),
            done.events_per_second()
        );
    }
    Ok(())
}

async fn seed_history(storage: &Storage, cases: usize, days: u32, seed: u64) -> Result<()> {
    let data = load_data(storage)?;
    let (events, views, all) = open(storage).await?;
    let existing = stores::count(&all).await?;
    anyhow::ensure!(
        existing == 0,
        "已有数据 the event stores already hold {existing} events; a demo history goes into empty ones \
         (choose another --data-dir)"
    );
    let directory = &data.directory;
    let plan = HistoryPlan::for_directory(directory, cases, days, Utc::now(), seed);
    anyhow::ensure!(
        !plan.communities.is_empty() && !plan.categories.is_empty() && !plan.units.is_empty(),
        "the directory needs at least one community, category and unit to simulate a history"
    );
    let simulated = history::generate(&plan, &data.policy);
    let progress = bar(4 * simulated.len() as u64, "写入事件 appending events");
    let started = Instant::now();
    stores::load_history(&all, &simulated, |written| progress.set_position(written)).await?;
    progress.finish_and_clear();
    println!(
        "已写入 appended {} events of {cases} simulated cases over {days} days into each of the 4 stores in {:.1} s",
        simulated.len(),
        started.elapsed().as_secs_f64()
    );
    let mut projector = Projector::new(events, views.clone(), data.policy.calendar.offset())
        .with_batch_size(REBUILD_BATCH);
    let applied = projector.catch_up().await?;
    println!("已投影 projected {applied} events into the views");
    print_figures(&data, &views).await
}

async fn add_user(
    storage: &Storage,
    username: String,
    role: &str,
    area: Option<String>,
    unit: Option<String>,
    name: Option<String>,
) -> Result<()> {
    let data = load_data(storage)?;
    let directory = &data.directory;
    let role =
        Role::parse(role).context("role must be operator, council, handler, leader or admin")?;
    // A code the directory knows, as `--area` or `--unit` names it.
    let known = |field: &'static str, value: Option<String>, exists: &dyn Fn(&Code) -> bool| {
        value
            .map(|value| {
                let code = Code::parse(field, &value)?;
                let article = if field == "area" { "an" } else { "a" };
                anyhow::ensure!(
                    exists(&code),
                    "--{field} '{value}' is not {article} {field} in the directory"
                );
                Ok(code)
            })
            .transpose()
    };
    let area = known("area", area, &|code| directory.area(code).is_some())?;
    let unit = known("unit", unit, &|code| directory.unit(code).is_some())?;
    if std::io::stdin().is_terminal() {
        eprint!("密码 password (then Enter): ");
    }
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let accounts = Accounts::open(&storage.accounts_url())
        .await
        .with_context(|| {
            format!(
                "opening the accounts database {}",
                redact(&storage.accounts_url())
            )
        })?;
    let user = accounts
        .add(&NewAccount {
            display_name: name.unwrap_or_else(|| username.clone()),
            username,
            password,
            role,
            area,
            unit,
        })
        .await?;
    println!(
        "已添加账号 added account {} ({})",
        user.username,
        user.role.as_str()
    );
    Ok(())
}

fn rate(numerator: i64, denominator: i64) -> String {
    if denominator == 0 {
        "—".to_owned()
    } else {
        format!("{:.1}%", 100.0 * numerator as f64 / denominator as f64)
    }
}

/// A table of the leaders' figures per community, straight from the statistics view.
async fn print_figures(data: &DataFiles, views: &ViewStore) -> Result<()> {
    let mut by_community: BTreeMap<String, StatCounts> = BTreeMap::new();
    for (key, counts) in views.stats_rows().await? {
        *by_community.entry(key.community).or_default() += counts;
    }
    println!(
        "\n{} {:>7} {:>10} {:>8} {:>7} {} {} {}",
        pad("社区 community", 24),
        "filed",
        "dispatched",
        "resolved",
        "rated",
        pad_left("响应率", 9),
        pad_left("解决率", 9),
        pad_left("满意率", 9)
    );
    let mut total = StatCounts::default();
    for (community, counts) in &by_community {
        let name = data
            .directory
            .communities()
            .find(|a| a.code.as_str() == community)
            .map_or(community.as_str(), |a| a.name.as_str());
        print_row(name, counts);
        total += *counts;
    }
    print_row("合计 total", &total);
    Ok(())
}

/// Terminal columns a text takes: CJK characters are two wide.
fn columns(text: &str) -> usize {
    text.chars()
        .map(|c| if c >= '\u{2E80}' { 2 } else { 1 })
        .sum()
}

fn pad(text: &str, width: usize) -> String {
    format!("{text}{}", " ".repeat(width.saturating_sub(columns(text))))
}

fn pad_left(text: &str, width: usize) -> String {
    format!("{}{text}", " ".repeat(width.saturating_sub(columns(text))))
}

fn print_row(name: &str, c: &StatCounts) {
    println!(
        "{} {:>7} {:>10} {:>8} {:>7} {:>9} {:>9} {:>9}",
        pad(name, 24),
        c.filed,
        c.dispatched,
        c.resolved,
        c.rated,
        rate(c.responded_on_time, c.response_due),
        rate(c.rated_resolved, c.rated),
        rate(c.satisfied, c.rated),
    )
}

/// Hides a password in a URL before it is printed or logged: the one after `user:` in
/// the authority (which may itself hold an unencoded `@`) and a `password=` parameter.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(end) => rest.split_at(end),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_password_in_a_url_is_never_printed() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/gongzhi"),
            "postgres://app:***@db:5432/gongzhi"
        );
        assert_eq!(
            redact("sqlite://data/events.sqlite"),
            "sqlite://data/events.sqlite"
        );
    }
}
