//! Crash and resume, with real processes and `kill -9`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gongzhi_store::{EventStore, Position, connect};
use gongzhi_views::ViewStore;

fn gongzhi(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gongzhi"));
    command
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--data-files")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run_ok(data_dir: &Path, args: &[&str]) -> String {
    let output = gongzhi(data_dir, args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "gongzhi {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Kills the child with SIGKILL as soon as `ready` says so. If it exits by itself first,
/// returns what it printed.
async fn kill_when(mut child: Child, ready: impl AsyncFn() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            let output = child.wait_with_output().unwrap();
            return Err(format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        if ready().await {
            child.kill().unwrap();
            child.wait().unwrap();
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("the child neither became ready nor finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_killed_mid_batch_resumes_from_its_checkpoint_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // Write a history without projecting it: seed projects, so seed into a scratch view
    // store and start the real one empty.
    run_ok(
        &data_dir,
        &[
            "--views-url",
            &format!("sqlite://{}", dir.path().join("scratch.sqlite").display()),
            "seed",
            "--cases",
            "2500",
            "--days",
            "60",
        ],
    );
    // The projector follows its replica of all three contexts.
    let events = connect(&format!(
        "sqlite://{}",
        data_dir.join("projector.sqlite").display()
    ))
    .await
    .unwrap();
    let total = events.count().await.unwrap();
    let views = ViewStore::open(&format!(
        "sqlite://{}",
        data_dir.join("views.sqlite").display()
    ))
    .await
    .unwrap();

    // Small batches, so the kill lands between or inside commits; a third of the way in.
    let third = total as i64 / 3;
    let projector = gongzhi(&data_dir, &["project", "--batch-size", "50"])
        .spawn()
        .unwrap();
    let killed = kill_when(projector, async || {
        views.checkpoint("views").await.unwrap().sequence > third
    })
    .await;
    if let Err(output) = killed {
        panic!(
            "the projector finished before it could be killed; make the history longer:\n{output}"
        );
    }
    let at_kill = views.checkpoint("views").await.unwrap();
    let last = events
        .read_all(Position::START, total as usize)
        .await
        .unwrap()
        .last()
        .unwrap()
        .position;
    assert!(
        at_kill < last,
        "killed at {at_kill}, but the log ends at {last}"
    );
    println!("projector killed at position {at_kill} of {last}");

    // Restart: it resumes from the checkpoint.
    let resumed = run_ok(&data_dir, &["project"]);
    let remaining = last.sequence - at_kill.sequence;
    assert!(
        resumed.contains(&format!("projected {remaining} events")),
        "expected {remaining} more events: {resumed}"
    );
    assert_eq!(views.checkpoint("views").await.unwrap(), last);

    // The resumed views equal a rebuild from zero: nothing was lost or applied twice.
    let rebuilt_url = format!("sqlite://{}", dir.path().join("rebuilt.sqlite").display());
    run_ok(
        &data_dir,
        &["--views-url", &rebuilt_url, "rebuild", "--all"],
    );
    let rebuilt = ViewStore::open(&rebuilt_url).await.unwrap();
    assert_eq!(
        views.contents().await.unwrap(),
        rebuilt.contents().await.unwrap()
    );
    let filed: i64 = views
        .stats_rows()
        .await
        .unwrap()
        .iter()
        .map(|(_, c)| c.filed)
        .sum();
    assert_eq!(
        filed as usize,
        views.all_summaries().await.unwrap().len(),
        "every case counted once as filed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_killed_mid_load_leaves_whole_streams_and_whole_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // The seed writes the intake store first.
    let events_url = format!("sqlite://{}", data_dir.join("intake.sqlite").display());
    // Opened (and migrated) once before the writer starts, then only read.
    let store = connect(&events_url).await.unwrap();
    let seeding = gongzhi(&data_dir, &["seed", "--cases", "6000", "--days", "60"])
        .spawn()
        .unwrap();
    let killed = kill_when(seeding, async || store.count().await.unwrap_or(0) >= 2_000).await;
    if let Err(output) = killed {
        panic!("the load finished before it could be killed:\n{output}");
    }

    // Every committed stream reads back with versions 1..=n, and the log holds a whole
    // number of load transactions (`seed` writes 1,000 events each): no torn write survived.
    let stored = store
        .read_all(Position::START, usize::MAX >> 1)
        .await
        .unwrap();
    assert!(!stored.is_empty());
    assert_eq!(
        stored.len() % 1_000,
        0,
        "{} events is not a whole number of transactions",
        stored.len()
    );
    let mut next_version = std::collections::HashMap::new();
    for event in &stored {
        let expected = next_version.entry(event.stream_id).or_insert(1_u64);
        assert_eq!(
            event.stream_version, *expected,
            "stream {} has a gap",
            event.stream_id
        );
        *expected += 1;
    }
    println!("writer killed after {} committed events", stored.len());
}
