//! The web pages in a real browser: `tests/browser/flows.mjs` drives Debian's headless
//! Chromium through the story of issue 5 against the embedded node, and saves a screenshot
//! of every page to `target/browser-screenshots` for a person to look at.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use gongzhi_service::ManualClock;

use crate::http::{Options, Server};

const CHROMIUM: &str = "/usr/bin/chromium";
const TIME_LIMIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_go_through_the_story_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let browser = root.join("tests/browser");
    let shots = root.join("target/browser-screenshots");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install chromium chromium-driver fonts-noto-cjk (scripts/test does)"
    );
    assert!(
        browser.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: npm ci --prefix tests/browser (scripts/test does)"
    );
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    let dir = tempfile::tempdir().unwrap();
    // The real time, not a fixed day: the browser reads cookies and dates by its own clock.
    let clock = Arc::new(ManualClock::new(Utc::now()));
    // Some history, so the queue, the dashboard and its charts look like a working street.
    let options = Options {
        demo_cases: 200,
        ..Options::default()
    };
    let server = Server::start_with(dir.path(), clock, &options).await;

    let mut node = Command::new("node")
        .arg(browser.join("flows.mjs"))
        .env("BASE_URL", &server.base)
        .env("SHOT_DIR", &shots)
        .env("FORCE_COLOR", "0")
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting node (Node.js 20 or later must be installed): {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > TIME_LIMIT {
            stop(&mut node);
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    server.stop().await;

    println!("screenshots in {}:", shots.display());
    for file in listing(&shots) {
        println!("  {file}");
    }
    let status = status.unwrap_or_else(|| panic!("the browser flows took over {TIME_LIMIT:?}"));
    assert!(
        status.success(),
        "the browser flows failed ({status}); see the log above"
    );
}

/// Asks node to stop first, so that Playwright closes Chromium, then makes sure.
fn stop(node: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = node.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = node.kill();
    let _ = node.wait();
}

fn listing(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
