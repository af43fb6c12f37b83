//! Throwaway Postgres clusters for tests, benchmarks and `demo`.
//!
//! [`test_database`] hands out a fresh database per call: on the server named by
//! `TWENTY_TEST_DATABASE_URL` when it is set, otherwise on one cluster this process starts with
//! `initdb`/`pg_ctl` (found on PATH or under `/usr/lib/postgresql/*/bin`), on a free port and a
//! private socket folder. initdb refuses to run as root, so when the process is root the server
//! runs as the `postgres` user. A watcher process stops the cluster and removes its folder when
//! this process exits, since statics are never dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use tokio_postgres::NoTls;

/// The environment variable that points the tests at an existing server.
pub const TEST_DATABASE_URL_ENV: &str = "TWENTY_TEST_DATABASE_URL";

/// Why a throwaway cluster or database could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    /// Neither PATH nor `/usr/lib/postgresql/*/bin` has `initdb` and `pg_ctl`.
    #[error(
        "no PostgreSQL server binaries found (initdb and pg_ctl on PATH or under \
         /usr/lib/postgresql/*/bin); install the `postgresql` package or set {TEST_DATABASE_URL_ENV}"
    )]
    NoBinaries,
    /// A server program failed.
    #[error("{what} failed: {output}")]
    Command {
        /// The program and what it was doing.
        what: String,
        /// Its output, trimmed.
        output: String,
    },
    /// A file-system step failed.
    #[error("{what}: {source}")]
    Io {
        /// The step.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Talking to the server failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The shared cluster failed to start earlier in this process.
    #[error("the test cluster could not be started: {0}")]
    Shared(String),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LocalPgError {
    let what = what.into();
    move |source| LocalPgError::Io { what, source }
}

/// A running throwaway cluster. Dropping it stops the server and deletes its files.
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
    stopped: bool,
}

impl Cluster {
    /// Creates and starts a cluster in a new temporary folder (blocking; takes a few seconds).
    pub fn start() -> Result<Self, LocalPgError> {
        let bin_dir = find_bin_dir().ok_or(LocalPgError::NoBinaries)?;
        let as_postgres_user = is_root();
        let root = std::env::temp_dir().join(format!(
            "twenty-migrate-pg-{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        std::fs::create_dir_all(&root).map_err(io_err(format!("create {}", root.display())))?;
        if as_postgres_user {
            run(
                Command::new("chown").arg("postgres:").arg(&root),
                "chown of the cluster folder to postgres",
            )?;
        }
        let mut cluster = Cluster {
            root,
            bin_dir,
            port: 0,
            as_postgres_user,
            stopped: true,
        };
        let data = cluster.data_dir();
        let mut initdb = cluster.server_command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .args(["--locale=C"]);
        run(&mut initdb, "initdb")?;

        // A free port can be taken between our probe and the server's bind: retry a few times.
        let mut last_error = None;
        for _ in 0..5 {
            cluster.port = free_port()?;
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB",
                cluster.port,
                cluster.root.display()
            );
            let mut start = cluster.server_command("pg_ctl");
            start
                .arg("-D")
                .arg(&data)
                .arg("-o")
                .arg(options)
                .arg("-l")
                .arg(cluster.root.join("server.log"))
                .args(["-w", "-t", "60", "start"]);
            match run(&mut start, "pg_ctl start") {
                Ok(()) => {
                    cluster.stopped = false;
                    return Ok(cluster);
                }
                Err(err) => last_error = Some(err),
            }
        }
        let log = std::fs::read_to_string(cluster.root.join("server.log")).unwrap_or_default();
        Err(match last_error {
            Some(LocalPgError::Command { what, output }) => LocalPgError::Command {
                what,
                output: format!("{output}\n{log}"),
            },
            Some(other) => other,
            None => LocalPgError::Shared("no attempt made".into()),
        })
    }

    /// The URL of database `db` on this cluster (user `postgres`, trust auth, TCP loopback).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server now and deletes its files.
    pub fn stop(&mut self) {
        if !self.stopped {
            let data = self.data_dir();
            let mut stop = self.server_command("pg_ctl");
            stop.arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "stop"]);
            let _ = run(&mut stop, "pg_ctl stop");
            self.stopped = true;
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }

    /// Starts a detached watcher that stops this cluster once process `pid` has exited, for a
    /// cluster that lives in a static and is therefore never dropped.
    fn stop_when_process_exits(&self, pid: u32) -> Result<(), LocalPgError> {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let stop = format!(
            "{} -D {} -m immediate -w stop",
            shell_quote(&pg_ctl),
            shell_quote(&self.data_dir())
        );
        let stop = if self.as_postgres_user {
            format!("runuser -u postgres -- {stop}")
        } else {
            stop
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {}",
            shell_quote(&self.root)
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/")
            .spawn()
            .map_err(io_err("start the cluster watcher"))?;
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// A command for a server program, run as `postgres` when this process is root.
    fn server_command(&self, program: &str) -> Command {
        let path = self.bin_dir.join(program);
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        // The postgres user cannot read root's home; start from a folder it can.
        cmd.current_dir(&self.root);
        cmd
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A fresh, empty database for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Connection URL.
    pub url: String,
    /// Database name.
    pub name: String,
}

impl TestDatabase {
    /// Opens a connection; the connection task runs on the current runtime.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, LocalPgError> {
        connect(&self.url).await
    }
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, LocalPgError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "test connection closed");
        }
    });
    Ok(client)
}

enum Server {
    External(String),
    Local(Cluster),
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static DATABASE_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The URL of a maintenance database on the shared test server, starting it if needed.
pub async fn test_server_admin_url() -> Result<String, LocalPgError> {
    let server = tokio::task::spawn_blocking(|| {
        SERVER.get_or_init(|| match std::env::var(TEST_DATABASE_URL_ENV) {
            Ok(url) if !url.is_empty() => Ok(Server::External(url)),
            _ => Cluster::start()
                .and_then(|c| {
                    c.stop_when_process_exits(std::process::id())?;
                    Ok(c)
                })
                .map(Server::Local)
                .map_err(|e| e.to_string()),
        })
    })
    .await
    .map_err(|e| LocalPgError::Shared(e.to_string()))?;
    match server {
        Ok(Server::External(url)) => Ok(url.clone()),
        Ok(Server::Local(cluster)) => Ok(cluster.url("postgres")),
        Err(msg) => Err(LocalPgError::Shared(msg.clone())),
    }
}

/// Creates a fresh database on the shared test server (see the module docs).
pub async fn test_database() -> Result<TestDatabase, LocalPgError> {
    let admin_url = test_server_admin_url().await?;
    let name = format!(
        "tm_test_{}_{}_{}",
        std::process::id(),
        DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed),
        unique_suffix()
    );
    let admin = connect(&admin_url).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    let url = replace_database(&admin_url, &name);
    Ok(TestDatabase { url, name })
}

/// Swaps the database name of a `postgres://` URL (keeping any query string).
fn replace_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // The path starts at the first '/' after the authority ("postgres://authority/db").
    let authority_start = base.find("//").map(|i| i + 2).unwrap_or(0);
    let prefix = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{db}?{q}"),
        None => format!("{prefix}/{db}"),
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                // Resolve a symlinked initdb to its real folder so that pg_ctl finds postgres.
                let real = std::fs::canonicalize(dir.join("initdb")).ok()?;
                return real.parent().map(Path::to_path_buf);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // `id -u` avoids unsafe libc calls; the answer is cached by the caller's OnceLock.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, LocalPgError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io_err("find a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("find a free port"))?
        .port();
    Ok(port)
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}")
}

fn run(cmd: &mut Command, what: &str) -> Result<(), LocalPgError> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("run {what}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(LocalPgError::Command {
            what: what.to_owned(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
            .trim()
            .to_owned(),
        })
    }
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_in_a_url() {
        assert_eq!(
            replace_database("postgres://u:p@h:5432/postgres", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
