//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary folder, started on a
//! free loopback port, stopped and deleted when dropped. Built from the PostgreSQL binaries on
//! the machine (Debian keeps them under `/usr/lib/postgresql/<version>/bin`), so no test needs
//! a server someone else started.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to the
//! unprivileged `postgres` user (Debian's package creates it) and its commands run through
//! `runuser`. Without PostgreSQL, `cluster_or_skip` says plainly that the test was skipped and
//! why; under `CI=true` it fails instead, so CI can never pass by skipping.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Who owns and runs the cluster when the tests run as root.
const UNPRIVILEGED_USER: &str = "postgres";
/// The role the tests connect as (a superuser of their own cluster, trusted on loopback).
pub const ROLE: &str = "creditbot";

pub struct PgCluster {
    tools: Tools,
    data: PathBuf,
    port: u16,
    // Last: deleted after `drop` has stopped the server.
    _dir: tempfile::TempDir,
}

/// PostgreSQL's programs, run as the user that owns the cluster.
#[derive(Clone)]
struct Tools {
    bin: PathBuf,
    /// Some when the tests run as root: the programs run as this user.
    run_as: Option<&'static str>,
}

impl PgCluster {
    /// Starts a fresh cluster, or says why none can be started here.
    pub fn start() -> Result<PgCluster, String> {
        let bin = postgres_bin()?;
        let run_as = is_root().then_some(UNPRIVILEGED_USER);
        let dir = tempfile::Builder::new()
            .prefix("creditbot-pg-")
            .tempdir()
            .map_err(|e| format!("can't make a temporary folder: {e}"))?;
        if let Some(user) = run_as {
            let (uid, gid) = user_ids(user)?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| format!("can't give the cluster's folder to {user}: {e}"))?;
        }
        let data = dir.path().join("data");
        let mut cluster = PgCluster {
            tools: Tools { bin, run_as },
            data,
            port: 0,
            _dir: dir,
        };
        cluster.tools.run_checked(
            "initdb",
            &[
                "-D",
                &cluster.data.to_string_lossy(),
                "-U",
                ROLE,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        // A port found free can be taken before the server binds it; try a few.
        let mut last = String::new();
        for _ in 0..3 {
            cluster.port = free_port()?;
            match cluster.start_server() {
                Ok(()) => return Ok(cluster),
                Err(why) => last = why,
            }
        }
        Err(last)
    }

    fn start_server(&self) -> Result<(), String> {
        let socket_dir = self.data.parent().expect("data has a parent").to_path_buf();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
            self.port,
            socket_dir.display()
        );
        let log = socket_dir.join("server.log");
        self.tools
            .run_checked(
                "pg_ctl",
                &[
                    "-D",
                    &self.data.to_string_lossy(),
                    "-o",
                    &options,
                    "-l",
                    &log.to_string_lossy(),
                    "-w",
                    "-t",
                    "30",
                    "start",
                ],
            )
            .map(|_| ())
    }

    /// Stops the server (fast: open connections are closed), leaving the cluster to start again.
    pub fn stop(&self) -> Result<(), String> {
        let data = self.data.to_string_lossy();
        let args = ["-D", &data, "-m", "fast", "-w", "-t", "30", "stop"];
        self.tools.run_checked("pg_ctl", &args).map(drop)
    }

    /// Starts the server again after [`PgCluster::stop`], on the same port.
    pub fn start_again(&self) -> Result<(), String> {
        self.start_server()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `database` (the cluster starts with `postgres`).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs `sql` through `psql` and returns its unaligned output.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        self.psql_in("postgres", sql)
    }

    /// Runs `sql` through `psql` in `database` and returns its unaligned output.
    pub fn psql_in(&self, database: &str, sql: &str) -> Result<String, String> {
        let output = self.tools.run_checked(
            "psql",
            &[
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.url(database),
                "-c",
                sql,
            ],
        )?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Whether the server accepts connections.
    pub fn is_ready(&self) -> bool {
        self.tools.is_ready(self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Stops the server and deletes its folder once this test process has ended, however it
    /// ends. A cluster kept in a `static` is never dropped, so a watcher process does what
    /// `drop` would: it polls for this process and then stops the server.
    fn stop_when_this_process_ends(&self) -> Result<(), String> {
        let quote = |path: &Path| format!("'{}'", path.display().to_string().replace('\'', ""));
        let run_as = match self.tools.run_as {
            Some(user) => format!("runuser -u {user} -- "),
            None => String::new(),
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             {run_as}{pg_ctl} -D {data} -m immediate -w stop; rm -rf {dir}",
            pid = std::process::id(),
            pg_ctl = quote(&self.tools.bin.join("pg_ctl")),
            data = quote(&self.data),
            dir = quote(self._dir.path()),
        );
        // No pipes of ours: a reader of this process's output must not wait for the watcher.
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|e| format!("can't start the cluster's watcher: {e}"))
    }
}

impl Tools {
    /// Whether a server on `port` accepts connections (`pg_isready`).
    fn is_ready(&self, port: u16) -> bool {
        self.run("pg_isready", &["-h", "127.0.0.1", "-p", &port.to_string()])
            .is_ok_and(|output| output.status.success())
    }

    fn run(&self, program: &str, args: &[&str]) -> std::io::Result<Output> {
        let program = self.bin.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        command.args(args).env("LC_ALL", "C").output()
    }

    fn run_checked(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        let output = self
            .run(program, args)
            .map_err(|e| format!("can't run {program}: {e}"))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(format!(
                "{program} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.port != 0 {
            // Immediate: the cluster is thrown away, so nothing needs a clean shutdown.
            let _ = self.tools.run(
                "pg_ctl",
                &[
                    "-D",
                    &self.data.to_string_lossy(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }
    }
}

/// A cluster for `test`, or `None` after saying why the test is skipped. Under `CI=true` a
/// machine without PostgreSQL fails the test instead: CI installs it (`.ci/run`).
pub fn cluster_or_skip(test: &str) -> Option<PgCluster> {
    PgCluster::start().map_err(|why| skip(test, &why)).ok()
}

/// The one cluster the tests of this run share (each test makes its own databases in it),
/// started by the first test that asks: a cluster per test would cost a second or more each.
/// `None`, after saying why, as for [`cluster_or_skip`].
pub fn shared_cluster_or_skip(test: &str) -> Option<&'static PgCluster> {
    static SHARED: OnceLock<Result<PgCluster, String>> = OnceLock::new();
    let started = SHARED.get_or_init(|| {
        let cluster = PgCluster::start()?;
        cluster.stop_when_this_process_ends()?;
        Ok(cluster)
    });
    started.as_ref().map_err(|why| skip(test, why)).ok()
}

/// Says that `test` is skipped and why, or fails it under `CI=true`.
fn skip(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{test}: PostgreSQL is required under CI=true but can't start: {why}")
    }
    eprintln!("SKIPPED {test}: no PostgreSQL cluster can be started here ({why})");
}

/// The newest PostgreSQL's binaries: `CREDITBOT_PG_BIN` if set, else the highest version
/// under `/usr/lib/postgresql`.
fn postgres_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("CREDITBOT_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|_| format!("no PostgreSQL binaries: {} is missing", root.display()))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let version = path.file_name()?.to_str()?.parse().ok()?;
            let bin = path.join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| format!("no initdb under {}/*/bin", root.display()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The user and group ids of `user`, from `id`.
fn user_ids(user: &str) -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let output = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| format!("can't run id: {e}"))?;
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|_| format!("there is no user {user} to run PostgreSQL as"))
    };
    Ok((id("-u")?, id("-g")?))
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

#[test]
fn a_throwaway_cluster_starts_answers_and_is_gone_after() {
    let Some(cluster) = cluster_or_skip("a_throwaway_cluster_starts_answers_and_is_gone_after")
    else {
        return;
    };
    assert!(cluster.is_ready());
    assert_eq!(cluster.psql("SELECT 40 + 2").unwrap(), "42");
    assert_eq!(
        cluster.psql("SHOW server_version_num").unwrap().len(),
        6,
        "a version number like 150018"
    );
    // Each cluster is its own: a table made in one isn't in another started beside it.
    cluster.psql("CREATE TABLE only_here (x int)").unwrap();
    let other = PgCluster::start().expect("a second cluster beside the first");
    assert_ne!(other.port(), cluster.port());
    assert!(other.psql("SELECT * FROM only_here").is_err());

    let (tools, port, data) = (
        cluster.tools.clone(),
        cluster.port(),
        cluster.data_dir().to_path_buf(),
    );
    drop(cluster);
    assert!(!tools.is_ready(port), "the server stops with its cluster");
    assert!(!data.exists(), "the cluster's folder is deleted");
}
