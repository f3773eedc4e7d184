//! A `creditbot` process started from the built binary, with its logs (stderr) collected:
//! started, waited on for a log line, signalled, stopped. Shared by the tests that run the
//! real binary as a server (`stopping`, `replicas`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a process has to stop after a signal: the promise `stopping` tests.
pub const STOP_WITHIN: Duration = Duration::from_secs(10);
/// For things that are not under test (a process starting, a fake seeing it): generous.
pub const WAIT: Duration = Duration::from_secs(30);

/// A creditbot process whose stderr (the logs) is collected.
pub struct Creditbot {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Creditbot {
    pub fn start(config: &Path, command: &str) -> Creditbot {
        let mut child = Command::new(env!("CARGO_BIN_EXE_creditbot"))
            .arg("--config")
            .arg(config)
            .arg(command)
            .env_clear()
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the creditbot binary starts");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Creditbot { child, logs }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits for a log line containing `needle`.
    pub fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.logs.lock().unwrap().iter().any(|l| l.contains(needle)) {
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// Sends `name` and waits for the exit, failing if it takes longer than the promise.
    pub fn stop(&mut self, name: &str) -> ExitStatus {
        self.signal(name);
        self.wait_exit(name)
    }

    pub fn wait_exit(&mut self, after: &str) -> ExitStatus {
        let deadline = Instant::now() + STOP_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "creditbot still running {STOP_WITHIN:?} after {after}; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Creditbot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
