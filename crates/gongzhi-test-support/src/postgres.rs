//! A private PostgreSQL cluster per test (or benchmark): `initdb` once into a cached
//! template, copy it, start `postgres` on a free loopback port, stop and delete on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Server settings that matter for what a test measures.
#[derive(Debug, Clone, Copy)]
pub struct PgSettings {
    /// `fsync` and `synchronous_commit` on: the durability a deployment has. Off makes
    /// functional tests faster and is fine where durability is not what is tested.
    pub durable: bool,
    pub max_connections: u32,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            durable: false,
            max_connections: 200,
        }
    }
}

/// A running PostgreSQL server owned by the test that started it.
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PgCluster {
    /// Starts a cluster with default test settings.
    pub fn start() -> Result<Self> {
        Self::start_with(PgSettings::default())
    }

    pub fn start_with(settings: PgSettings) -> Result<Self> {
        let bin = find_bin_dir()?;
        let template = template(&bin)?;
        let dir = tempfile::Builder::new().prefix("gongzhi-pg-").tempdir()?;
        let data = dir.path().join("data");
        run(Command::new("cp").arg("-a").arg(&template).arg(&data))?;
        give_to_postgres(dir.path())?;
        let mut last_error = None;
        for _ in 0..5 {
            let port = free_port()?;
            let options = format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {sock} -c fsync={durable} \
                 -c synchronous_commit={durable} -c full_page_writes={durable} \
                 -c max_connections={max} -c shared_buffers=256MB",
                sock = dir.path().display(),
                durable = if settings.durable { "on" } else { "off" },
                max = settings.max_connections,
            );
            let started = as_postgres(&bin.join("pg_ctl"))
                .arg("start")
                .arg("-w")
                .arg("-t")
                .arg("60")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.path().join("server.log"))
                .arg("-o")
                .arg(&options)
                .stdout(Stdio::null())
                .status()?;
            if started.success() {
                return Ok(Self { bin, dir, port });
            }
            last_error =
                Some(std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default());
        }
        bail!("postgres did not start: {}", last_error.unwrap_or_default())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for the `postgres` database as superuser.
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        run(Command::new(self.bin.join("createdb"))
            .arg("-h")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-U")
            .arg("postgres")
            .arg(name))?;
        Ok(self.database_url(name))
    }

    /// Stops the server abruptly, as a crash would, and starts it again on the same port.
    pub fn restart(&self) -> Result<()> {
        let data = self.dir.path().join("data");
        run(as_postgres(&self.bin.join("pg_ctl"))
            .args(["restart", "-w", "-m", "immediate", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .stdout(Stdio::null()))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn find_bin_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("GONGZHI_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL server binaries not found under /usr/lib/postgresql: run scripts/test, which installs them (apt-get install postgresql)")?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    candidates.sort_by_key(|path| {
        path.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    candidates
        .pop()
        .context("no PostgreSQL version with initdb under /usr/lib/postgresql")
}

fn uid() -> String {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(out.stdout.trim_ascii()).into_owned())
        .unwrap_or_default()
}

fn is_root() -> bool {
    uid() == "0"
}

/// PostgreSQL refuses to run as root; as root, run its tools as the `postgres` user.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.arg("-u").arg("postgres").arg("--").arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn give_to_postgres(path: &Path) -> Result<()> {
    if is_root() {
        run(Command::new("chown")
            .arg("-R")
            .arg("postgres:postgres")
            .arg(path))?;
    }
    Ok(())
}

/// An initialised data directory, made once per machine and PostgreSQL version and copied
/// for every cluster (initdb takes seconds, a copy a fraction of one).
fn template(bin: &Path) -> Result<PathBuf> {
    let version = bin
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Per user: the template belongs to whoever runs PostgreSQL for this user.
    let template = std::env::temp_dir().join(format!("gongzhi-pg-template-{version}-uid{}", uid()));
    if template.join("PG_VERSION").exists() {
        return Ok(template);
    }
    let staging = tempfile::Builder::new()
        .prefix("gongzhi-pg-initdb-")
        .tempdir()?;
    give_to_postgres(staging.path())?;
    let data = staging.path().join("data");
    run(as_postgres(&bin.join("initdb"))
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "-D",
        ])
        .arg(&data)
        .stdout(Stdio::null()))?;
    // Another process may have finished first; either copy is good.
    if std::fs::rename(&data, &template).is_err() && !template.join("PG_VERSION").exists() {
        bail!(
            "could not install the PostgreSQL template at {}",
            template.display()
        );
    }
    Ok(template)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn run(command: &mut Command) -> Result<()> {
    let started = Instant::now();
    let output = command.stderr(Stdio::piped()).output()?;
    if !output.status.success() {
        bail!(
            "{:?} failed after {:?}: {}",
            command,
            started.elapsed(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
