//! `gongzhi dev` as a process, killed with SIGKILL while concerns are being filed over
//! HTTP, then started again: every acknowledged concern is there once, and the views equal
//! a rebuild from the event log.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gongzhi_views::ViewStore;
use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data_dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gongzhi"))
        .args(["dev", "--no-demo-cases", "--rate-limit", "0", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gongzhi dev did not become ready at {base}");
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let reply: Value = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"username": "hotline", "password": "gongzhi-demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_filing_loses_no_acknowledged_concern() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start(&data_dir, port);
    wait_ready(&client, &base).await;
    let token = login(&client, &base).await;

    // Four callers file concerns as fast as they can until the server dies.
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let callers: Vec<_> = (0..4)
        .map(|caller| {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            let acknowledged = Arc::clone(&acknowledged);
            tokio::spawn(async move {
                for n in 0.. {
                    let body = json!({
                        "channel": "hotline", "community": "shilong",
                        "title": format!("来电 {caller}-{n}"), "description": "路灯不亮",
                    });
                    let sent = client
                        .post(format!("{base}/api/v1/concerns"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await;
                    let Ok(response) = sent else { return };
                    if response.status() != reqwest::StatusCode::CREATED {
                        return;
                    }
                    let Ok(reply) = response.json::<Value>().await else {
                        return;
                    };
                    let id = reply["case_id"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().insert(id);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 150 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    for caller in callers {
        caller.await.unwrap();
    }
    let acknowledged: Vec<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    assert!(
        acknowledged.len() >= 150,
        "only {} filed before the deadline",
        acknowledged.len()
    );

    // Started again, it shows every acknowledged concern once the bus has caught up.
    let mut server = start(&data_dir, port);
    wait_ready(&client, &base).await;
    let mut missing = acknowledged.clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !missing.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for id in missing {
            let response = client
                .get(format!("{base}/api/v1/cases/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            if !response.status().is_success() {
                still.push(id);
            }
        }
        missing = still;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let list: Value = client
        .get(format!("{base}/api/v1/cases?per_page=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total = list["total"].as_u64().unwrap();
    assert!(total as usize >= acknowledged.len(), "{total} cases listed");
    println!(
        "killed with {} concerns acknowledged; {total} in the views after the restart",
        acknowledged.len()
    );

    // A clean stop on SIGTERM, then the views equal a rebuild from the projector's log.
    let pid = server.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "SIGTERM should stop it cleanly: {status}");
    let rebuilt = dir.path().join("rebuilt.sqlite");
    let output = Command::new(env!("CARGO_BIN_EXE_gongzhi"))
        .args(["admin", "--data-dir"])
        .arg(&data_dir)
        .arg("--views-url")
        .arg(format!("sqlite://{}", rebuilt.display()))
        .args(["rebuild", "--all"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let live = ViewStore::open(&format!(
        "sqlite://{}",
        data_dir.join("views.sqlite").display()
    ))
    .await
    .unwrap();
    let rebuilt = ViewStore::open(&format!("sqlite://{}", rebuilt.display()))
        .await
        .unwrap();
    let contents = live.contents().await.unwrap();
    assert_eq!(contents.summaries.len() as u64, total);
    assert_eq!(contents, rebuilt.contents().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_an_account_with_the_password_on_standard_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let add = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gongzhi"))
            .args(["admin", "--data-dir"])
            .arg(dir.path())
            .args(["user", "add"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"correct horse battery\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let added = add(&[
        "--username",
        "li.ming",
        "--role",
        "council",
        "--area",
        "shilong",
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let refused = add(&[
        "--username",
        "wang",
        "--role",
        "council",
        "--area",
        "atlantis",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("'atlantis' is not an area"));
    let refused = add(&["--username", "zhao", "--role", "handler"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("handler account needs --unit"));

    let accounts = gongzhi_accounts::Accounts::open(&format!(
        "sqlite://{}",
        dir.path().join("accounts.sqlite").display()
    ))
    .await
    .unwrap();
    let user = accounts
        .verify("li.ming", "correct horse battery")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.area.unwrap().as_str(), "shilong");
    assert_eq!(accounts.count().await.unwrap(), 1);
}
