//! The real bot against the fake: a seeded database, a bot.toml pointing `api_base` at the
//! fake, and the built `creditbot` binary running `creditbot run` as a child process (killed
//! when dropped), its log lines kept for assertions.

use chrono::Utc;
use creditbot::config::DatabaseConfig;
use creditbot::ledger::{AccountId, Act, Ledger, LedgerSettings, MemberId};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::payloads::{FAQ_CHANNEL, Person};
use super::{FakeDiscord, GUILD_ID};

/// The token in bot.toml; it must never show in a log.
pub const TOKEN: &str = "FAKE-TOKEN.x9Qz.never-in-the-logs";
pub const ADMIN_ROLE: &str = "1100000000000000077";
pub const MODERATOR_ROLE: &str = "1100000000000000070";
/// The demo account, linked to ALICE.
pub const ACCOUNT: &str = "ACC-1042";
/// An account with a link code for NEWBIE.
pub const NEW_ACCOUNT: &str = "ACC-2000";

/// Permissions as Discord sends them: a member without MANAGE_GUILD (view, send, history)…
const MEMBER_PERMISSIONS: &str = "68608";
/// …and one with it (32), as a server moderator has.
const MANAGER_PERMISSIONS: &str = "68640";

/// An admin by bot.toml's `admin_user_ids`.
pub fn admin() -> Person {
    Person {
        id: "1000000000000000001",
        username: "ada",
        global_name: Some("Ada"),
        roles: vec![],
        permissions: "2251799813685247",
        bot: false,
    }
}

/// An admin by bot.toml's `admin_role_ids`.
pub fn role_admin() -> Person {
    Person {
        id: "1000000000000000002",
        username: "rolf",
        global_name: None,
        roles: vec![ADMIN_ROLE],
        permissions: MEMBER_PERMISSIONS,
        bot: false,
    }
}

/// A server moderator: MANAGE_GUILD on Discord, but no admin of creditbot.
pub fn moderator() -> Person {
    Person {
        id: "1000000000000000007",
        username: "mo",
        global_name: Some("Mo"),
        roles: vec![MODERATOR_ROLE],
        permissions: MANAGER_PERMISSIONS,
        bot: false,
    }
}

/// A member linked to the demo account ACC-1042.
pub fn alice() -> Person {
    Person {
        id: "1000000000000000042",
        username: "alice",
        global_name: Some("Alice"),
        roles: vec![],
        permissions: MEMBER_PERMISSIONS,
        bot: false,
    }
}

/// A member not linked yet, with a link code waiting.
pub fn newbie() -> Person {
    Person {
        id: "1000000000000000050",
        username: "newbie",
        global_name: None,
        roles: vec![],
        permissions: MEMBER_PERMISSIONS,
        bot: false,
    }
}

/// Another bot on the server.
pub fn other_bot() -> Person {
    Person {
        id: "1000000000000000099",
        username: "otherbot",
        global_name: None,
        roles: vec![],
        permissions: MEMBER_PERMISSIONS,
        bot: true,
    }
}

/// What the seeded database holds.
pub struct Seeded {
    /// Holds the files below; removed when dropped.
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub config: PathBuf,
    pub link_code: String,
    /// ALICE's balance, as the bot writes it ("$37.50").
    pub balance: String,
}

/// The demo data with ALICE (a Discord id) linked to ACC-1042, and a link code for NEWBIE;
/// then a bot.toml pointing at the fake.
pub fn seed(fake: &FakeDiscord) -> Seeded {
    seed_with(fake, "")
}

/// As [`seed`], with `discord_keys` (lines of TOML) added to bot.toml's `[discord]`.
pub fn seed_with(fake: &FakeDiscord, discord_keys: &str) -> Seeded {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("creditbot.db");
    let now = Utc::now();
    let ledger = Ledger::open(&db, &DatabaseConfig::default(), LedgerSettings::default()).unwrap();
    creditbot::demo::seed(&ledger, now).unwrap();
    let act = |key: &str| Act::new("test", now, format!("test:{key}"));
    ledger
        .unlink_member(
            &act("unlink"),
            &MemberId::new(creditbot::demo::DEMO_MEMBER),
            "test",
        )
        .unwrap();
    ledger
        .link_member(
            &act("link"),
            &MemberId::new(alice().id),
            &AccountId::new(ACCOUNT),
        )
        .unwrap();
    ledger
        .open_account(&act("open"), &AccountId::new(NEW_ACCOUNT), "New member")
        .unwrap();
    let link_code = ledger
        .issue_link_code(&act("code"), &AccountId::new(NEW_ACCOUNT))
        .unwrap()
        .code;
    let balance = ledger.currency().format(
        ledger
            .balance(&AccountId::new(ACCOUNT), now)
            .unwrap()
            .available,
    );
    drop(ledger);
    let config = dir.path().join("bot.toml");
    std::fs::write(
        &config,
        format!(
            r#"[database]
path = "{db}"

[discord]
token = "{TOKEN}"
guild_ids = [{GUILD_ID}]
admin_user_ids = [{admin}]
admin_role_ids = [{ADMIN_ROLE}]
faq_channel_ids = [{FAQ_CHANNEL}]
api_base = "{api}"
{discord_keys}
"#,
            db = db.display(),
            admin = admin().id,
            api = fake.rest_url,
        ),
    )
    .unwrap();
    Seeded {
        dir,
        db,
        config,
        link_code,
        balance,
    }
}

/// The bot process.
pub struct Bot {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Bot {
    /// Starts `creditbot --config <seeded> run` with a clean environment.
    pub fn start(seeded: &Seeded, echo: bool) -> Bot {
        let mut child = Command::new(env!("CARGO_BIN_EXE_creditbot"))
            .arg("--config")
            .arg(&seeded.config)
            .arg("run")
            .env_clear()
            .env("RUST_LOG", "info,creditbot=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the creditbot binary starts");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if echo {
                    eprintln!("[bot] {line}");
                }
                sink.lock().unwrap().push(line);
            }
        });
        Bot {
            child,
            logs,
            reader: Some(reader),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits (polling) for a log line containing every one of `needles`.
    pub async fn wait_log(&self, needles: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .logs()
                .into_iter()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needles:?} after {timeout:?}; logs:\n{}",
                self.logs().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The bot's resident memory in kB (VmRSS), Linux only.
    #[allow(dead_code)] // called by benches/discord.rs
    pub fn rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub async fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the bot did not exit within {timeout:?} of SIGTERM; logs:\n{}",
                self.logs().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Panics if the token shows in any log line.
    pub fn assert_token_never_logged(&self) {
        let logs = self.logs();
        assert!(!logs.is_empty(), "the bot logged something");
        for line in &logs {
            assert!(!line.contains(TOKEN), "the token leaked into a log: {line}");
            assert!(!line.contains("x9Qz"), "part of the token leaked: {line}");
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
