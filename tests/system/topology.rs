//! The distributed topology as plain processes, started by `deploy/local/up` (the same
//! script a person uses): a three-node NATS JetStream cluster, PostgreSQL, and one
//! `gongzhi serve` process per target. Faults are injected with `deploy/local/ctl`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The `gongzhi` binary, built now if it is missing or older than this test run's code.
fn binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "gongzhi"])
        .current_dir(root())
        .status()
        .expect("running cargo build -p gongzhi");
    assert!(status.success(), "cargo build -p gongzhi failed");
    root().join("target/debug/gongzhi")
}

pub struct Topology {
    dir: PathBuf,
    env: Vec<(String, String)>,
    values: HashMap<String, String>,
}

impl Topology {
    /// Starts everything under `dir`, with `env` passed to every `gongzhi serve` process
    /// and `args` to `deploy/local/up`.
    pub fn up(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Self {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect();
        let binary = binary();
        let mut topology = Self {
            dir: dir.to_owned(),
            env,
            values: HashMap::new(),
        };
        // The ports are checked before use, outside the range of client ports; a failed
        // start is still tried again elsewhere.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port_base = gongzhi_test_support::port_base(200);
            let (dir_arg, binary_arg, port_arg) = (
                dir.display().to_string(),
                binary.display().to_string(),
                port_base.to_string(),
            );
            let mut up = vec![
                "--dir",
                &dir_arg,
                "--bin",
                &binary_arg,
                "--port-base",
                &port_arg,
            ];
            up.extend_from_slice(args);
            let started = topology.run("up", &up);
            match started {
                Ok(()) => {
                    topology.values = std::fs::read_to_string(dir.join("topology.env"))
                        .expect("deploy/local/up writes topology.env")
                        .lines()
                        .filter_map(|line| line.split_once('='))
                        .map(|(key, value)| (key.to_owned(), value.trim_matches('"').to_owned()))
                        .collect();
                    return topology;
                }
                Err(failure) => {
                    let _ = topology.run("down", &["--dir", &dir.display().to_string(), "--purge"]);
                    failures.push(failure);
                }
            }
        }
        panic!("the topology did not start:\n{}", failures.join("\n---\n"));
    }

    fn run(&self, name: &str, args: &[&str]) -> Result<(), String> {
        let output = Command::new(root().join("deploy/local").join(name))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .map_err(|e| format!("running deploy/local/{name}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "deploy/local/{name} {args:?} failed:\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    fn script(&self, name: &str, args: &[&str]) {
        if let Err(failure) = self.run(name, args) {
            panic!("{failure}");
        }
    }

    pub fn value(&self, key: &str) -> &str {
        self.values
            .get(key)
            .unwrap_or_else(|| panic!("topology.env has no {key}"))
    }

    pub fn gateway_url(&self) -> String {
        self.value("GATEWAY_URL").to_owned()
    }

    /// `deploy/local/ctl --dir DIR ARGS...`: kill NAME, start NAME, restart-postgres.
    pub fn ctl(&self, args: &[&str]) {
        let dir = self.dir.display().to_string();
        let mut all = vec!["--dir", dir.as_str()];
        all.extend_from_slice(args);
        self.script("ctl", &all);
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        let _ = Command::new(root().join("deploy/local/down"))
            .args(["--dir", &self.dir.display().to_string()])
            .output();
    }
}
