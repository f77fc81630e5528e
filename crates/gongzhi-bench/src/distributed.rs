//! The load generator against the distributed topology on this machine
//! (`deploy/local/up`: three nats-server, PostgreSQL, one `gongzhi serve` per target),
//! with the same runs as against `gongzhi dev` (`--only load,distributed` measures both in
//! one invocation).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::load::{self, LoadArgs, gongzhi_binary};

/// The repository's `deploy/local` scripts, found from the working directory upwards.
fn scripts() -> Result<PathBuf> {
    let mut dir = std::env::current_dir()?;
    loop {
        let candidate = dir.join("deploy/local/up");
        if candidate.exists() {
            return Ok(dir.join("deploy/local"));
        }
        if !dir.pop() {
            bail!("deploy/local/up not found: run from the repository");
        }
    }
}

struct Topology {
    scripts: PathBuf,
    dir: PathBuf,
}

impl Drop for Topology {
    fn drop(&mut self) {
        let _ = Command::new(self.scripts.join("down"))
            .arg("--dir")
            .arg(&self.dir)
            .output();
    }
}

fn up(dir: &Path) -> Result<(Topology, String)> {
    let scripts = scripts()?;
    let port_base = gongzhi_test_support::port_base(200);
    let output = Command::new(scripts.join("up"))
        .arg("--dir")
        .arg(dir)
        .arg("--bin")
        .arg(gongzhi_binary()?)
        .args(["--port-base", &port_base.to_string()])
        .args(["--serve-arg", "--demo-accounts"])
        .output()
        .context("running deploy/local/up")?;
    let topology = Topology {
        scripts,
        dir: dir.to_owned(),
    };
    if !output.status.success() {
        bail!(
            "deploy/local/up failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let env = std::fs::read_to_string(dir.join("topology.env"))?;
    let gateway = env
        .lines()
        .find_map(|line| line.strip_prefix("GATEWAY_URL="))
        .map(|url| url.trim_matches('"').to_owned())
        .context("topology.env has no GATEWAY_URL")?;
    Ok((topology, gateway))
}

pub async fn run(args: &LoadArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (topology, gateway) = up(&dir.path().join("topology"))?;
    println!(
        "-- distributed topology: 3 nats-server (stream of 3 replicas), PostgreSQL, intake, assignment, resolution, projector, gateway as processes"
    );
    let result = load::run(&LoadArgs {
        url: Some(gateway),
        history_cases: 0,
        data_dir: None,
        ..args.clone()
    })
    .await;
    drop(topology);
    result
}
