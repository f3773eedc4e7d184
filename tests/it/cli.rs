//! End to end through the real binary: a scripted console session using every command, the
//! default `run` without a token, and the import, export, backup, migrate and faq subcommands.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const NOW: &str = "2026-11-26T12:00:00Z";

fn creditbot(dir: &Path, args: &[&str], stdin: &str) -> Output {
    creditbot_bytes(dir, args, stdin.as_bytes())
}

fn creditbot_bytes(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    creditbot_in(dir, args, &[], stdin)
}

/// The binary run in `dir` with `env` set and `stdin` piped in; killed (and the test failed)
/// if it hasn't ended after a minute, so a command that hangs fails instead of hanging the
/// test run.
fn creditbot_in(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_creditbot"))
        .args(args)
        .current_dir(dir)
        .env_remove("DISCORD_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("CREDITBOT_DATABASE_URL")
        .env_remove("CREDITBOT_DATABASE_PATH")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut input = child.stdin.take().unwrap();
    // A command that refuses at once may not read its input: a broken pipe is no failure.
    let _ = input.write_all(stdin);
    drop(input);
    let id = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .is_err()
        {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(id.to_string())
                .status();
            panic!("creditbot {id} hung");
        }
    });
    let output = child.wait_with_output().unwrap();
    let _ = done.send(());
    watchdog.join().expect("creditbot ended within a minute");
    output
}

/// The names in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The reply to the console line `line`, from a piped transcript.
fn reply_to<'a>(transcript: &'a str, prompt: &str, line: &str) -> &'a str {
    let marker = format!("{prompt}> {line}\n");
    let start = transcript
        .find(&marker)
        .unwrap_or_else(|| panic!("no `{line}` in:\n{transcript}"))
        + marker.len();
    let rest = &transcript[start..];
    let end = rest
        .find(&format!("\n{prompt}> "))
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

#[test]
fn a_scripted_console_session_uses_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = creditbot(dir.path(), &["--db", "t.db", "demo", "--now", NOW], "");
    assert!(seeded.status.success(), "{}", stderr(&seeded));

    let admin_script = "\
/admin grant member:alice amount:12.50 expires:90 reason:\"goodwill\"
/admin account member:alice
/admin history member:alice
/admin expiry grant:2 date:2027-12-31 reason:\"holiday extension\"
/admin revoke grant:3 reason:\"granted twice\"
/admin link member:bob account:ACC-2000 create:true
/admin unlink member:bob
/admin code account:ACC-2000
/admin return order:7781 return-id:R-1 item:hobbit-ebook quantity:1
/admin unanswered
";
    let admin = creditbot(
        dir.path(),
        &[
            "--db", "t.db", "console", "--as", "root", "--admin", "--now", NOW,
        ],
        admin_script,
    );
    assert!(admin.status.success(), "{}", stderr(&admin));
    let out = stdout(&admin);
    let grant = reply_to(
        &out,
        "root",
        "/admin grant member:alice amount:12.50 expires:90 reason:\"goodwill\"",
    );
    assert!(grant.starts_with("Granted $12.50 (goodwill) to @alice · expires 24 Feb 2027 · grant #6\nTheir balance is now $48.01."), "{grant}");
    assert!(reply_to(&out, "root", "/admin account member:alice").contains("#6 $12.50  goodwill"));
    assert!(
        reply_to(&out, "root", "/admin history member:alice")
            .contains("granted: goodwill (grant #6)")
    );
    assert!(
        reply_to(
            &out,
            "root",
            "/admin expiry grant:2 date:2027-12-31 reason:\"holiday extension\""
        )
        .contains("now expires 31 Dec 2027")
    );
    assert!(
        reply_to(
            &out,
            "root",
            "/admin revoke grant:3 reason:\"granted twice\""
        )
        .contains("Revoked grant #3: $5.00 taken back")
    );
    assert!(
        reply_to(
            &out,
            "root",
            "/admin link member:bob account:ACC-2000 create:true"
        )
        .contains("Linked @bob to account ACC-2000")
    );
    assert!(reply_to(&out, "root", "/admin unlink member:bob").contains("Unlinked @bob"));
    let code_reply = reply_to(&out, "root", "/admin code account:ACC-2000");
    let code = code_reply
        .split("ACC-2000: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(code.len(), 9, "{code_reply}");
    // bob held the account before: the admin is told the code comes with his history.
    assert!(
        code_reply.contains("was linked to @bob before"),
        "{code_reply}"
    );
    assert!(
        reply_to(
            &out,
            "root",
            "/admin return order:7781 return-id:R-1 item:hobbit-ebook quantity:1"
        )
        .contains("$9.99 is back on the member's credits")
    );
    assert!(reply_to(&out, "root", "/admin unanswered").contains("No unanswered questions"));

    let member_script = format!(
        "\
/balance
/expiry days:60
/order id:7781
/history page:1
/transfer to:@sam amount:10
/faq topic:physical
/ask question:\"can I pay with credits and a card together?\"
what is the weather on mars
/help
/admin grant member:alice amount:100
/unlink
yes
/link code:{code}
/balance
"
    );
    let member = creditbot(
        dir.path(),
        &["--db", "t.db", "console", "--now", NOW],
        &member_script,
    );
    assert!(member.status.success(), "{}", stderr(&member));
    let out = stdout(&member);
    assert!(
        reply_to(&out, "alice", "/balance")
            .starts_with("Your credits · account ACC-1042\nAvailable  $53.00"),
        "{out}"
    );
    assert!(reply_to(&out, "alice", "/expiry days:60").starts_with("Your next expiry:"));
    assert!(reply_to(&out, "alice", "/order id:7781").contains("1 of 1 returned"));
    assert!(
        reply_to(&out, "alice", "/history page:1").contains("back from a return of order 7781")
    );
    assert!(
        reply_to(&out, "alice", "/transfer to:@sam amount:10")
            .starts_with("Credits can't be moved")
    );
    assert!(reply_to(&out, "alice", "/faq topic:physical").contains("physical"));
    assert!(
        reply_to(
            &out,
            "alice",
            "/ask question:\"can I pay with credits and a card together?\""
        )
        .contains("$53.00")
    );
    assert!(
        reply_to(&out, "alice", "what is the weather on mars")
            .contains("I can help with digital credits")
    );
    assert!(reply_to(&out, "alice", "/help").contains("/transfer to: amount:"));
    assert!(
        reply_to(&out, "alice", "/admin grant member:alice amount:100")
            .starts_with("Only creditbot admins can grant credits.")
    );
    // /unlink asks first; typing yes answers it.
    let asked = reply_to(&out, "alice", "/unlink");
    assert!(
        asked.starts_with("Unlink your Discord account from shop account ACC-1042?")
            && asked.ends_with("Type yes or no.\n"),
        "{asked}"
    );
    assert!(reply_to(&out, "alice", "yes").contains("Unlinked from account ACC-1042"));
    assert!(
        reply_to(&out, "alice", &format!("/link code:{code}")).contains("shop account ACC-2000")
    );
    let last = out.rsplit("alice> /balance\n").next().unwrap();
    assert!(
        last.starts_with("Your credits · account ACC-2000\nAvailable  $0.00"),
        "{last}"
    );

    let unanswered = creditbot(
        dir.path(),
        &[
            "--db", "t.db", "console", "--as", "root", "--admin", "--now", NOW,
        ],
        "/admin unanswered\n",
    );
    assert!(
        stdout(&unanswered).contains("1× \"what is the weather on mars\""),
        "{}",
        stdout(&unanswered)
    );
}

#[test]
fn run_without_a_token_opens_the_console_on_a_seeded_demo_database() {
    let dir = tempfile::tempdir().unwrap();
    let output = creditbot(dir.path(), &[], "/balance\n");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("No Discord token configured"),
        "{}",
        stderr(&output)
    );
    assert!(dir.path().join("creditbot.db").exists());
    assert!(
        stdout(&output).contains("Your credits · account ACC-1042"),
        "{}",
        stdout(&output)
    );
    // A second run keeps the data and seeds nothing more.
    let again = creditbot(dir.path(), &["run"], "/history\n");
    assert!(!stderr(&again).contains("Seeded"));
    assert_eq!(stdout(&again).matches("granted: birthday gift").count(), 1);
}

#[test]
fn import_is_idempotent_and_reports_each_rejected_line() {
    let dir = tempfile::tempdir().unwrap();
    let lines = r#"{"type":"account","id":"ACC-1","name":"One"}
{"type":"grant","key":"g-1","account":"ACC-1","amount":"12.50","source":"gift","reason":"welcome","expires":"90"}
{"type":"grant","key":"g-2","account":"ACC-1","amount":"12.505"}
{"type":"grant","key":"g-3","account":"ACC-1","amount":12.5}
{"type":"order","id":"O-1","account":"ACC-1","items":[{"sku":"book","title":"A book","kind":"digital","unit_price":"4.00","quantity":2}],"method":"Visa"}
{"type":"return","id":"R-1","order":"O-1","items":[{"sku":"book","quantity":1}]}
{"type":"grant","key":"g-4","account":"NOPE","amount":"1"}
not json
"#;
    std::fs::write(dir.path().join("in.jsonl"), lines).unwrap();
    let first = creditbot(
        dir.path(),
        &["--db", "t.db", "import", "in.jsonl", "--now", NOW],
        "",
    );
    let summary = stdout(&first);
    assert!(
        !first.status.success(),
        "rejections make the exit status fail"
    );
    assert!(
        summary.starts_with("imported 4, skipped 0 as duplicate, rejected 4"),
        "{summary}"
    );
    assert!(
        summary.contains("line 3: That amount has 3 decimals"),
        "{summary}"
    );
    assert!(
        summary.contains("line 4: ") && summary.contains("amounts are strings"),
        "{summary}"
    );
    assert!(
        summary.contains("line 7: There is no account NOPE. Create it first"),
        "{summary}"
    );
    assert!(summary.contains("line 8: "), "{summary}");

    let second = creditbot(
        dir.path(),
        &["--db", "t.db", "import", "in.jsonl", "--now", NOW],
        "",
    );
    assert!(
        stdout(&second).starts_with("imported 0, skipped 4 as duplicate, rejected 4"),
        "{}",
        stdout(&second)
    );

    let export = creditbot(
        dir.path(),
        &["--db", "t.db", "export", "ACC-1", "--now", NOW],
        "",
    );
    assert!(export.status.success(), "{}", stderr(&export));
    let data: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(data["available"], "8.50");
    assert_eq!(data["lots"].as_array().unwrap().len(), 1);
    assert_eq!(data["lots"][0]["remaining"], "8.50");
    assert_eq!(data["orders"][0]["items"][0]["returned_quantity"], 1);
    assert_eq!(data["currency"], "USD");

    let backup = creditbot(dir.path(), &["--db", "t.db", "backup", "copy.db"], "");
    assert!(backup.status.success(), "{}", stderr(&backup));
    let from_copy = creditbot(
        dir.path(),
        &["--db", "copy.db", "export", "ACC-1", "--now", NOW],
        "",
    );
    let mut copied: serde_json::Value = serde_json::from_slice(&from_copy.stdout).unwrap();
    let mut original = data.clone();
    // Everything but the moment of export is the same.
    copied["exported_at"] = serde_json::Value::Null;
    original["exported_at"] = serde_json::Value::Null;
    assert!(copied == original, "the backup holds the same data");
    let refused = creditbot(dir.path(), &["--db", "t.db", "backup", "copy.db"], "");
    assert!(!refused.status.success() && stderr(&refused).contains("exists already"));
}

#[test]
fn migrate_creates_the_database_and_a_bad_config_names_the_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let migrated = creditbot(dir.path(), &["--db", "m.db", "migrate"], "");
    assert!(
        migrated.status.success() && dir.path().join("m.db").exists(),
        "{}",
        stderr(&migrated)
    );
    std::fs::write(
        dir.path().join("bad.toml"),
        "[credits]\ncurrancy = \"EUR\"\n",
    )
    .unwrap();
    let bad = creditbot(dir.path(), &["--config", "bad.toml", "migrate"], "");
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("bad.toml") && stderr(&bad).contains("currancy"),
        "{}",
        stderr(&bad)
    );
}

/// Processes started at the same moment on a new database file all come up: before opening
/// retried a busy start, about one round in forty lost one process to "database is locked".
#[test]
fn processes_started_together_on_a_new_database_all_come_up() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..60 {
        started_together(dir.path(), &format!("together-{round}.db"), round);
    }
}

/// The same on PostgreSQL: three processes on a bare database (no tables yet) migrate it once
/// between them (under an advisory lock) and all come up.
#[cfg(feature = "postgres")]
#[test]
fn processes_started_together_on_a_bare_postgresql_database_all_come_up() {
    let test = "cli::processes_started_together_on_a_bare_postgresql_database_all_come_up";
    let Some(postgres) = crate::stores::Postgres::or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for round in 0..5 {
        started_together(dir.path(), &postgres.bare_database(), round);
    }
}

/// Three `creditbot migrate` started at once on `db`; each must succeed.
fn started_together(dir: &Path, db: &str, round: usize) {
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let (dir, db) = (dir.to_path_buf(), db.to_string());
            std::thread::spawn(move || creditbot(&dir, &["--db", &db, "migrate"], ""))
        })
        .collect();
    for start in starts {
        let output = start.join().unwrap();
        assert!(
            output.status.success(),
            "round {round}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn import_keeps_grant_keys_apart_from_the_bots_and_refuses_future_times() {
    let dir = tempfile::tempdir().unwrap();
    // Line 2 is keyed like the bot's own key for order 9001, line 3 like return R-1.
    let lines = r#"{"type":"account","id":"ACC-1","name":"One"}
{"type":"grant","key":"order:9001","account":"ACC-1","amount":"5.00"}
{"type":"grant","key":"return:R-1","account":"ACC-1","amount":"5.00"}
{"type":"order","id":"9001","account":"ACC-1","items":[{"sku":"book","kind":"digital","unit_price":"8.00"}]}
{"type":"return","id":"R-1","order":"9001"}
{"type":"grant","key":"g-late","account":"ACC-1","amount":"1.00","at":"2027-01-01T00:00:00Z"}
{"type":"order","id":"9002","account":"ACC-1","items":[{"sku":"a","kind":"digital","unit_price":"1.00"},{"sku":"b","kind":"digital","unit_price":"99999999999999999999"}]}
"#;
    std::fs::write(dir.path().join("in.jsonl"), lines).unwrap();
    let first = creditbot(
        dir.path(),
        &["--db", "t.db", "import", "in.jsonl", "--now", NOW],
        "",
    );
    let summary = stdout(&first);
    assert!(
        summary.starts_with("imported 5, skipped 0 as duplicate, rejected 2"),
        "{summary}"
    );
    assert!(
        summary.contains("line 6: That time is in the future;"),
        "{summary}"
    );
    assert!(
        summary.contains("line 7: items[1].unit_price: That amount is too large."),
        "{summary}"
    );
    let again = creditbot(
        dir.path(),
        &["--db", "t.db", "import", "in.jsonl", "--now", NOW],
        "",
    );
    assert!(
        stdout(&again).starts_with("imported 0, skipped 5 as duplicate, rejected 2"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn faq_classify_prints_one_intent_and_score_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = creditbot(
        dir.path(),
        &["faq", "classify"],
        "can i give my credits to my brother?\nwhat's the weather like\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<&str> = stdout(&output)
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("transfer\t"), "{lines:?}");
    assert!(lines[1].starts_with("none\t"), "{lines:?}");
    for line in lines {
        let (_, score) = line.split_once('\t').unwrap();
        score.parse::<f64>().unwrap();
    }
}

#[test]
fn the_example_config_is_accepted_by_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml.example");
    std::fs::copy(example, dir.path().join("bot.toml")).unwrap();
    let output = creditbot(dir.path(), &["migrate"], "");
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Three `creditbot sweep` processes at once on one store (the sweep runs in every `run` and
/// `serve` process): between them they expire each grant once, the amounts add up to one
/// sweep's, and none fails.
#[test]
fn three_sweeps_at_once_on_one_sqlite_file_expire_each_grant_once() {
    let dir = tempfile::tempdir().unwrap();
    sweeps_at_once(dir.path(), "s.db");
}

#[cfg(feature = "postgres")]
#[test]
fn three_sweeps_at_once_on_one_postgresql_database_expire_each_grant_once() {
    let test = "cli::three_sweeps_at_once_on_one_postgresql_database_expire_each_grant_once";
    let Some(postgres) = crate::stores::Postgres::or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    sweeps_at_once(dir.path(), &postgres.database());
}

fn sweeps_at_once(dir: &Path, db: &str) {
    let seeded = creditbot(dir, &["--db", db, "demo", "--now", NOW], "");
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    let sweeps: Vec<_> = (0..3)
        .map(|_| {
            let (dir, db) = (dir.to_path_buf(), db.to_string());
            std::thread::spawn(move || {
                creditbot(&dir, &["--db", &db, "sweep", "--now", "2027-01-01"], "")
            })
        })
        .collect();
    let (mut grants, mut cents) = (0, 0);
    for sweep in sweeps {
        let output = sweep.join().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        // "Expired 2 grant(s), $18.01 in all."
        let said = stdout(&output);
        let words: Vec<&str> = said.split_whitespace().collect();
        assert_eq!((words[0], words[2]), ("Expired", "grant(s),"), "{said}");
        grants += words[1].parse::<u32>().unwrap();
        cents += words[3]
            .trim_start_matches('$')
            .replace('.', "")
            .parse::<i64>()
            .unwrap();
    }
    // The promotion ($10.01) and the refund grant ($8.00) of the demo data, once each.
    assert_eq!((grants, cents), (2, 18_01));
}

#[test]
fn sweep_writes_expiry_entries_once() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = creditbot(dir.path(), &["--db", "s.db", "demo", "--now", NOW], "");
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    // In 2027 the promotion ($10.01) and the refund grant ($8.00) have expired.
    let first = creditbot(
        dir.path(),
        &["--db", "s.db", "sweep", "--now", "2027-01-01"],
        "",
    );
    assert_eq!(
        stdout(&first).trim(),
        "Expired 2 grant(s), $18.01 in all.",
        "{}",
        stderr(&first)
    );
    let again = creditbot(
        dir.path(),
        &["--db", "s.db", "sweep", "--now", "2027-01-02"],
        "",
    );
    assert_eq!(stdout(&again).trim(), "Expired 0 grant(s), $0.00 in all.");
    let history = creditbot(
        dir.path(),
        &["--db", "s.db", "console", "--now", "2027-01-02"],
        "/history\n",
    );
    assert!(
        stdout(&history).contains("expired (grant #"),
        "{}",
        stdout(&history)
    );
}

#[test]
fn in_the_console_a_number_right_after_did_you_mean_picks_that_answer() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = creditbot(dir.path(), &["--db", "t.db", "demo", "--now", NOW], "");
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    let session = creditbot(
        dir.path(),
        &["--db", "t.db", "console", "--now", NOW],
        "credits??\n2\n/balance\n1\n",
    );
    assert!(session.status.success(), "{}", stderr(&session));
    let out = stdout(&session);
    let unsure = reply_to(&out, "alice", "credits??");
    assert!(
        unsure.starts_with("I'm not sure which you mean:\n  [1] ")
            && unsure.contains("  [1] How much credit do I have?\n")
            && unsure.contains("  [2] What are digital credits?\n")
            && unsure.ends_with("Type 1 or 2 to choose.\n"),
        "{unsure}"
    );
    let picked = reply_to(&out, "alice", "2");
    assert!(
        picked.starts_with("Digital credits are a balance kept on your shop account"),
        "the answer about credits: {picked}"
    );
    // Without a choice just before, a number is no question: the choice has expired.
    let later = reply_to(&out, "alice", "1");
    assert!(later.starts_with("That choice has expired."), "{later}");
    assert!(!later.contains("Type 1 or 2"), "{later}");
}

#[test]
fn import_reads_standard_input_as_dash_and_refuses_at_once_what_isnt_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let line = "{\"type\":\"account\",\"id\":\"ACC-1\",\"name\":\"One\"}\n";
    std::fs::create_dir(dir.path().join("feed")).unwrap();
    let fifo = dir.path().join("feed.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let before = files(dir.path());
    // A directory, a FIFO nobody writes to, and standard input by another name: each is
    // refused before anything is read or created (a FIFO used to block, a directory to spin).
    for (path, says) in [
        (
            "feed",
            "feed is a directory; give a JSON Lines file, or - to read standard input",
        ),
        ("feed.fifo", "feed.fifo isn't a regular file"),
        ("/dev/stdin", "/dev/stdin isn't a regular file"),
    ] {
        let refused = creditbot(dir.path(), &["--db", "t.db", "import", path], line);
        assert!(!refused.status.success(), "{path}");
        assert!(stderr(&refused).contains(says), "{}", stderr(&refused));
        assert!(stdout(&refused).is_empty(), "{}", stdout(&refused));
        assert_eq!(files(dir.path()), before, "{path} created nothing");
    }
    let piped = creditbot(
        dir.path(),
        &["--db", "t.db", "import", "-", "--now", NOW],
        line,
    );
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert_eq!(
        stdout(&piped),
        "imported 1, skipped 0 as duplicate, rejected 0\n"
    );
}

#[test]
fn import_reports_a_line_that_isnt_utf8_by_number_goes_on_and_fails_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = b"{\"type\":\"account\",\"id\":\"ACC-1\",\"name\":\"One\"}\n".to_vec();
    lines.extend_from_slice(b"{\"type\":\"account\",\"id\":\"ACC-\xff\",\"name\":\"Two\"}\n");
    lines.extend_from_slice(b"{\"type\":\"account\",\"id\":\"ACC-3\",\"name\":\"Three\"}\n");
    std::fs::write(dir.path().join("in.jsonl"), &lines).unwrap();
    let output = creditbot(
        dir.path(),
        &["--db", "t.db", "import", "in.jsonl", "--now", NOW],
        "",
    );
    assert!(
        !output.status.success(),
        "a rejected line fails the exit status"
    );
    assert_eq!(
        stdout(&output),
        "imported 2, skipped 0 as duplicate, rejected 1\n  line 2: The line isn't UTF-8 text (byte 29 can't be read), so it was skipped.\n"
    );
    // The same through standard input.
    let piped = creditbot_bytes(
        dir.path(),
        &["--db", "t.db", "import", "-", "--now", NOW],
        &lines,
    );
    assert!(!piped.status.success());
    assert!(
        stdout(&piped).starts_with("imported 0, skipped 2 as duplicate, rejected 1\n  line 2: "),
        "{}",
        stdout(&piped)
    );
}

#[test]
fn commands_that_read_a_database_refuse_a_missing_one_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--db", "missing.db", "export", "ACC-1"][..],
        &["--db", "missing.db", "sweep"],
        &["--db", "missing.db", "backup", "copy.db"],
        &["--db", "missing.db", "console"],
        // The default path too, for the commands that only read.
        &["export", "ACC-1"],
    ] {
        let refused = creditbot(dir.path(), args, "/balance\n");
        assert!(!refused.status.success(), "{args:?}");
        let db = if args.contains(&"missing.db") {
            "missing.db"
        } else {
            "creditbot.db"
        };
        assert_eq!(
            stderr(&refused),
            format!("creditbot: no database at {db}; check the path (nothing was created)\n"),
            "{args:?}"
        );
        assert!(
            files(dir.path()).is_empty(),
            "{args:?} left {:?}",
            files(dir.path())
        );
    }
    // The commands that set a database up create it.
    let migrated = creditbot(dir.path(), &["--db", "new.db", "migrate"], "");
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(dir.path().join("new.db").exists());
}

#[test]
fn the_console_in_an_empty_folder_starts_on_the_demo_data_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = creditbot(dir.path(), &["console", "--now", NOW], "/balance\n");
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("Seeded demo data: you are alice, linked to account ACC-1042."),
        "{}",
        stderr(&first)
    );
    assert!(
        reply_to(&stdout(&first), "alice", "/balance")
            .starts_with("Your credits · account ACC-1042\nAvailable  $35.51"),
        "{}",
        stdout(&first)
    );
    let again = creditbot(dir.path(), &["console", "--now", NOW], "/history\n");
    assert!(!stderr(&again).contains("Seeded"), "{}", stderr(&again));
    assert_eq!(stdout(&again).matches("granted: birthday gift").count(), 1);
}

#[test]
fn the_console_reports_a_line_that_isnt_utf8_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = creditbot(dir.path(), &["--db", "t.db", "demo", "--now", NOW], "");
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    let session = creditbot_bytes(
        dir.path(),
        &["--db", "t.db", "console", "--now", NOW],
        b"/balance\nbal\xffance?\n/expiry\n",
    );
    assert!(session.status.success(), "{}", stderr(&session));
    let out = stdout(&session);
    assert_eq!(
        reply_to(&out, "alice", "(line 2)"),
        "The line isn't UTF-8 text (byte 4 can't be read), so it was skipped.\n"
    );
    assert!(
        reply_to(&out, "alice", "/expiry").starts_with("Your next expiry:"),
        "{out}"
    );
}

#[test]
fn a_config_with_another_currency_is_refused_and_the_balances_read_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = creditbot(dir.path(), &["--db", "t.db", "demo", "--now", NOW], "");
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    let export = |config: &[&str]| {
        let args: Vec<&str> = config
            .iter()
            .copied()
            .chain(["--db", "t.db", "export", "ACC-1042", "--now", NOW])
            .collect();
        creditbot(dir.path(), &args, "")
    };
    let before = export(&[]);
    assert!(before.status.success(), "{}", stderr(&before));
    std::fs::write(
        dir.path().join("yen.toml"),
        "[credits]\ncurrency = \"JPY\"\ndecimals = 0\nmax_grant = \"100000\"\n",
    )
    .unwrap();
    let refused = export(&["--config", "yen.toml"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).starts_with(
            "creditbot: t.db: this database keeps USD with 2 decimals; yen.toml says JPY with 0 decimals."
        ),
        "{}",
        stderr(&refused)
    );
    assert!(stdout(&refused).is_empty());
    let after = export(&[]);
    assert_eq!(stdout(&after), stdout(&before));
    let data: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(data["available"], "35.51");
}

#[test]
fn a_backup_is_checked_and_a_failed_one_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = creditbot(dir.path(), &["--db", "t.db", "demo", "--now", NOW], "");
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    std::fs::create_dir(dir.path().join("folder")).unwrap();
    let before = files(dir.path());
    let into_folder = creditbot(dir.path(), &["--db", "t.db", "backup", "folder"], "");
    assert!(!into_folder.status.success());
    assert!(
        stderr(&into_folder).contains("folder exists already; pick a new file"),
        "{}",
        stderr(&into_folder)
    );
    let nowhere = creditbot(
        dir.path(),
        &["--db", "t.db", "backup", "nowhere/copy.db"],
        "",
    );
    assert!(!nowhere.status.success());
    assert!(
        stderr(&nowhere).contains("(nothing was left at nowhere/copy.db)"),
        "{}",
        stderr(&nowhere)
    );
    assert_eq!(files(dir.path()), before);
    assert!(files(&dir.path().join("folder")).is_empty());
    let done = creditbot(
        dir.path(),
        &["--db", "t.db", "backup", "folder/copy.db"],
        "",
    );
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(
        stdout(&done).contains("integrity checked"),
        "{}",
        stdout(&done)
    );
    assert_eq!(files(&dir.path().join("folder")), ["copy.db"]);
}

#[test]
fn remind_prints_the_reminders_due_and_the_console_shows_its_members() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = creditbot(dir.path(), &["--db", "r.db", "demo", "--now", NOW], "");
    assert!(seeded.status.success(), "{}", stderr(&seeded));
    // The demo promotion ($10.01) expires on 12 Dec 2026: 7 days before, it is due.
    let early = creditbot(
        dir.path(),
        &["--db", "r.db", "remind", "--now", "2026-12-01", "--dry-run"],
        "",
    );
    assert_eq!(
        stdout(&early).trim(),
        "0 reminder messages due; nothing sent (dry run).",
        "{}",
        stderr(&early)
    );
    let due = creditbot(
        dir.path(),
        &["--db", "r.db", "remind", "--now", "2026-12-06", "--dry-run"],
        "",
    );
    let out = stdout(&due);
    assert!(due.status.success(), "{}", stderr(&due));
    assert!(
        out.starts_with("To alice (account ACC-1042):\n⏰ $10.01 of your credits expires 12 Dec 2026 (in 6 days)."),
        "{out}"
    );
    assert!(
        out.contains("1 reminder message due; nothing sent (dry run)."),
        "{out}"
    );
    // Without a token (and without --dry-run) it prints, records nothing, and says why.
    let again = creditbot(
        dir.path(),
        &["--db", "r.db", "remind", "--now", "2026-12-06"],
        "",
    );
    assert!(stdout(&again).contains("nothing sent (no Discord token configured)"));
    assert!(
        stdout(&again).contains("To alice"),
        "printed again: nothing was recorded"
    );
    // The console shows alice her due reminder when it starts.
    let console = creditbot(
        dir.path(),
        &["--db", "r.db", "console", "--now", "2026-12-06"],
        "/reminders off\n",
    );
    let transcript = stdout(&console);
    assert!(
        transcript
            .starts_with("Reminder: ⏰ $10.01 of your credits expires 12 Dec 2026 (in 6 days)."),
        "{transcript}"
    );
    assert!(
        transcript.contains("Done — no more expiry reminders."),
        "{transcript}"
    );
    // Off: neither the console nor a run shows it any more.
    let quiet = creditbot(
        dir.path(),
        &["--db", "r.db", "console", "--now", "2026-12-06"],
        "/reminders\n",
    );
    assert!(
        stdout(&quiet).starts_with("alice> /reminders\nExpiry reminders are off"),
        "{}",
        stdout(&quiet)
    );
    let skipped = creditbot(
        dir.path(),
        &["--db", "r.db", "remind", "--now", "2026-12-06", "--dry-run"],
        "",
    );
    assert!(
        stdout(&skipped).contains("Skipped alice: reminders turned off"),
        "{}",
        stdout(&skipped)
    );
}

/// A password no output may show, in a PostgreSQL URL nothing listens at.
const PG_PASSWORD: &str = "S3cr3t-pg-pa55";

#[test]
fn a_postgres_url_nothing_listens_at_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://shop:{PG_PASSWORD}@127.0.0.1:1/ledger");
    let shown = "postgres://shop:***@127.0.0.1:1/ledger";
    std::fs::write(
        dir.path().join("url.toml"),
        format!("[database]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    // Logging wide open, so a log line that repeated the URL would show here.
    let loud = ("RUST_LOG", "trace");
    let env_url = ("CREDITBOT_DATABASE_URL", url.as_str());
    // The arguments, the environment, and what stderr says.
    type Run<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], String);
    let runs: [Run; 6] = [
        (
            &["--db", &url, "migrate"],
            &[loud],
            "can't reach PostgreSQL at 127.0.0.1:1".to_string(),
        ),
        (
            &["run"],
            &[loud, env_url],
            "can't reach PostgreSQL at 127.0.0.1:1".to_string(),
        ),
        (
            &["--config", "url.toml", "serve"],
            &[loud],
            "can't reach PostgreSQL at 127.0.0.1:1".to_string(),
        ),
        (
            &["backup", "copy.db"],
            &[loud, env_url],
            format!("backup copies a SQLite file; {shown} is PostgreSQL"),
        ),
        // The `@` forgotten: the password lands where the port goes.
        (
            &[
                "--db",
                &format!("postgres://shop:{PG_PASSWORD}/ledger"),
                "export",
                "ACC-1",
            ],
            &[loud],
            "--db: the PostgreSQL URL's port isn't a number from 1 to 65535".into(),
        ),
        (
            &["sweep"],
            &[
                loud,
                (
                    "CREDITBOT_DATABASE_URL",
                    &format!("mysql://shop:{PG_PASSWORD}@db/x"),
                ),
            ],
            "bot.toml: database.url: unknown database URL scheme \"mysql\"".into(),
        ),
    ];
    for (args, env, expected) in runs {
        let output = creditbot_in(dir.path(), args, env, b"");
        let (out, err) = (stdout(&output), stderr(&output));
        assert!(!output.status.success(), "{args:?}: {out}{err}");
        assert!(err.contains(&expected), "{args:?}: {err}");
        assert!(
            !out.contains(PG_PASSWORD) && !err.contains(PG_PASSWORD),
            "{args:?} showed the password:\n{out}\n{err}"
        );
    }
    assert_eq!(files(dir.path()), vec!["url.toml"], "nothing was created");
}

#[test]
fn db_takes_a_sqlite_url_and_the_environment_a_location_that_db_beats() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = creditbot(
        dir.path(),
        &["--db", "sqlite:u.db", "demo", "--now", NOW],
        "",
    );
    assert!(
        stdout(&seeded).contains("Demo data ready in u.db"),
        "{}",
        stderr(&seeded)
    );
    let export = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = args.to_vec();
        all.extend(["export", "ACC-1042", "--now", NOW]);
        creditbot_in(dir.path(), &all, env, b"")
    };
    let by_env = export(&[], &[("CREDITBOT_DATABASE_URL", "sqlite://u.db")]);
    assert!(by_env.status.success(), "{}", stderr(&by_env));
    assert!(stdout(&by_env).contains("ACC-1042"));
    // --db beats the environment: a missing file it names is refused.
    let refused = export(&["--db", "none.db"], &[("CREDITBOT_DATABASE_URL", "u.db")]);
    assert!(
        stderr(&refused).contains("no database at none.db"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(files(dir.path()), vec!["u.db"]);
}
