//! Crash safety: a child process doing acknowledged ledger writes is killed with SIGKILL at
//! random moments; after each reopen the database must be intact, the ledger's invariants
//! must hold, and every write the child acknowledged must be there.
//!
//! The child is this test binary itself, re-run with the test's own name as filter and
//! `CREDITBOT_CRASH_CHILD=<db path>`: the same test function then runs the writer loop and is
//! killed instead of returning. The database runs with the default WAL + synchronous NORMAL,
//! which is durable across a process crash (a commit is in the WAL once `COMMIT` returns)
//! though not across power loss; a process crash is what this test proves.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use creditbot::config::DatabaseConfig;
use creditbot::ledger::{
    AccountId, Act, CreditChoice, Expiry, GrantRequest, ItemKind, Ledger, LedgerSettings, LotId,
    OrderId, OrderItemRequest, OrderRequest, ReturnId, ReturnLine, ReturnRequest, ReturnScope,
    Source,
};
use creditbot::money::Credits;

/// This test's name; with its module path (`test_path`) the child's `--exact` filter.
const TEST_NAME: &str = "killed_writer_loses_no_acknowledged_write";
/// Set in the child: the database it writes to.
const CHILD_DB_ENV: &str = "CREDITBOT_CRASH_CHILD";
/// Set in the child: the round, which makes its idempotency keys unique across rounds.
const CHILD_ROUND_ENV: &str = "CREDITBOT_CRASH_ROUND";
/// Rounds in CI; `CREDITBOT_CRASH_ROUNDS` may ask for more in a soak run.
const DEFAULT_ROUNDS: u64 = 24;
/// The longest the parent lets the child write before killing it.
const MAX_KILL_DELAY_MS: u64 = 150;
/// A child whose parent died without killing it stops by itself after this long.
const CHILD_LIFETIME: Duration = Duration::from_secs(30);
const ACCOUNTS: [&str; 3] = ["crash-a0", "crash-a1", "crash-a2"];
const ACTOR: &str = "crash-test";

/// The test's name as the harness lists it: its module path in the `it` binary without the
/// crate's name (`ledger_crash::killed_writer_loses_no_acknowledged_write`).
fn test_path() -> String {
    let module = module_path!()
        .split_once("::")
        .map_or("", |(_crate, module)| module);
    format!("{module}::{TEST_NAME}")
}

#[test]
fn killed_writer_loses_no_acknowledged_write() {
    if let Some(db) = std::env::var_os(CHILD_DB_ENV) {
        let round = std::env::var(CHILD_ROUND_ENV)
            .ok()
            .and_then(|r| r.parse().ok())
            .expect("the child needs its round");
        run_child(Path::new(&db), round);
    }
    let rounds = std::env::var("CREDITBOT_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS)
        .max(DEFAULT_ROUNDS);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut everything = Acknowledged::default();
    let mut total_acks = 0;
    for round in 0..rounds {
        let acked = run_and_kill(&db, dir.path(), round);
        total_acks += acked.len();
        check_after_crash(&db, round, &acked, &mut everything);
    }
    // A run where the child never got a write acknowledged would prove nothing.
    assert!(
        total_acks >= rounds as usize,
        "only {total_acks} writes were acknowledged in {rounds} rounds"
    );
    eprintln!("{rounds} kills, {total_acks} acknowledged writes all found after reopening");
}

// ----- what the child does, shared with the parent's checks ---------------------------------

fn now_of(round: u64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + chrono::Duration::hours(round as i64)
}

fn account_of(i: u64) -> &'static str {
    ACCOUNTS[(i % ACCOUNTS.len() as u64) as usize]
}

fn grant_key(round: u64, i: u64) -> String {
    format!("r{round}:grant:{i}")
}

fn grant_of(i: u64) -> GrantRequest {
    GrantRequest {
        account_id: AccountId::new(account_of(i)),
        amount: Credits::from_minor(500 + 10 * (i % 7) as i64),
        source: Source::Gift,
        reason: format!("crash grant {i}"),
        expiry: Expiry::Default,
    }
}

fn order_of(round: u64, i: u64) -> OrderRequest {
    OrderRequest {
        external_id: OrderId::new(format!("r{round}-o{i}")),
        account_id: AccountId::new(account_of(i)),
        items: vec![
            OrderItemRequest {
                sku: "ebook".into(),
                title: "An e-book".into(),
                kind: ItemKind::Digital,
                unit_price: Credits::from_minor(300),
                quantity: 2,
            },
            OrderItemRequest {
                sku: "mug".into(),
                title: "A mug".into(),
                kind: ItemKind::Physical,
                unit_price: Credits::from_minor(500),
                quantity: 1,
            },
        ],
        credits: match i % 3 {
            0 => CreditChoice::All,
            1 => CreditChoice::UpTo(Credits::from_minor(200)),
            _ => CreditChoice::None,
        },
        other_method: Some("Visa".into()),
    }
}

/// Step `i` returns part of order `i - 1` when `i % 6 == 2` and all of it when `i % 6 == 5`,
/// so no order is returned twice.
fn return_of(round: u64, i: u64) -> Option<ReturnRequest> {
    let scope = match i % 6 {
        2 => ReturnScope::Items(vec![ReturnLine {
            sku: "ebook".into(),
            quantity: 1,
        }]),
        5 => ReturnScope::Whole,
        _ => return None,
    };
    Some(ReturnRequest {
        return_id: ReturnId::new(format!("r{round}-ret{i}")),
        order_external_id: OrderId::new(format!("r{round}-o{}", i - 1)),
        scope,
        reason: "crash return".into(),
    })
}

fn open_ledger(db: &Path) -> Ledger {
    Ledger::open(db, &DatabaseConfig::default(), LedgerSettings::default()).expect("open")
}

/// Writes forever, printing one `ACK` line (flushed) after each call that returned `Ok`.
fn run_child(db: &Path, round: u64) -> ! {
    let started = Instant::now();
    let ledger = open_ledger(db);
    let now = now_of(round);
    for account in ACCOUNTS {
        let act = Act::new(ACTOR, now, format!("open:{account}"));
        ledger
            .open_account(&act, &AccountId::new(account), account)
            .expect("open");
    }
    let mut out = std::io::stdout().lock();
    // libtest has printed "test <name> ... " without a newline; start the acks on a line.
    writeln!(out).expect("stdout");
    let mut ack = |line: String| {
        writeln!(out, "ACK {line}")
            .and_then(|()| out.flush())
            .expect("ack");
    };
    ack("ready".into());
    for i in 0.. {
        if started.elapsed() > CHILD_LIFETIME {
            // The parent is gone; an orphaned writer must not run forever.
            std::process::abort();
        }
        let lot = ledger
            .grant(&Act::new(ACTOR, now, grant_key(round, i)), &grant_of(i))
            .expect("grant");
        ack(format!("grant {i} {}", lot.id));
        let receipt = ledger
            .record_order(ACTOR, now, &order_of(round, i))
            .expect("order");
        ack(format!("order {i} {}", receipt.credits_applied.minor()));
        if let Some(request) = return_of(round, i) {
            ledger.record_return(ACTOR, now, &request).expect("return");
            ack(format!("return {i}"));
        }
        if i % 50 == 49 {
            // Nothing expires at `now`; the sweep still takes the write lock and commits.
            ledger.sweep_expired(ACTOR, now).expect("sweep");
        }
    }
    unreachable!("the writer loop only ends when the child is killed")
}

// ----- the parent ---------------------------------------------------------------------------

/// A write the child acknowledged.
#[derive(Clone, Debug, PartialEq)]
enum Ack {
    Grant { i: u64, lot_id: i64 },
    Order { i: u64, credits_applied: i64 },
    Return { i: u64 },
}

fn parse_ack(line: &str) -> Option<Ack> {
    let words: Vec<&str> = line.strip_prefix("ACK ")?.split(' ').collect();
    let number = |n: usize| words.get(n)?.parse().ok();
    match words[0] {
        "grant" => Some(Ack::Grant {
            i: number(1)? as u64,
            lot_id: number(2)?,
        }),
        "order" => Some(Ack::Order {
            i: number(1)? as u64,
            credits_applied: number(2)?,
        }),
        "return" => Some(Ack::Return {
            i: number(1)? as u64,
        }),
        _ => None,
    }
}

/// Kills the child if the parent panics before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A small deterministic PRNG (splitmix64), seeded per round so a failing round replays.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Runs one child on `db`, kills it with SIGKILL at a random moment after its first
/// acknowledgement, and returns the writes it acknowledged (whole lines only).
fn run_and_kill(db: &Path, dir: &Path, round: u64) -> Vec<Ack> {
    let stderr_path: PathBuf = dir.join(format!("child-{round}.stderr"));
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            test_path().as_str(),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB_ENV, db)
        .env(CHILD_ROUND_ENV, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .expect("spawn the child");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        // A line cut short by the kill has no newline: it was never acknowledged.
        while reader.read_line(&mut line).unwrap_or(0) > 0 && line.ends_with('\n') {
            if lines_tx.send(line.trim_end().to_string()).is_err() {
                break;
            }
            line.clear();
        }
    });

    let child_failed = |child: &mut KillOnDrop, why: &str| -> ! {
        let _ = child.0.kill();
        let _ = child.0.wait();
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        panic!("round {round}: {why}; the child's stderr:\n{stderr}");
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match lines_rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) if line == "ACK ready" => break,
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                if let Ok(Some(status)) = child.0.try_wait() {
                    child_failed(&mut child, &format!("the child exited early ({status})"));
                }
            }
            Err(_) => child_failed(&mut child, "the child never became ready"),
        }
    }

    let mut rng = SplitMix(0xc4a5_0000 ^ round);
    let delay = Duration::from_millis(rng.next() % (MAX_KILL_DELAY_MS + 1));
    std::thread::sleep(delay);
    if let Ok(Some(status)) = child.0.try_wait() {
        child_failed(
            &mut child,
            &format!("the child stopped before the kill ({status})"),
        );
    }
    // On Unix `Child::kill` sends SIGKILL: no destructor, no flush, no clean close.
    child.0.kill().expect("kill the child");
    child.0.wait().expect("reap the child");
    reader.join().unwrap();
    lines_rx.try_iter().filter_map(|l| parse_ack(&l)).collect()
}

/// Every acknowledged write of earlier rounds: lot ids and order ids per account.
#[derive(Default)]
struct Acknowledged {
    lots: BTreeMap<&'static str, Vec<i64>>,
    orders: BTreeMap<&'static str, Vec<String>>,
}

fn check_after_crash(db: &Path, round: u64, acked: &[Ack], everything: &mut Acknowledged) {
    let ledger = open_ledger(db);
    let now = now_of(round);
    let fail = |what: String| -> ! {
        panic!(
            "round {round} (after {} acknowledged writes): {what}",
            acked.len()
        )
    };

    if let Err(e) = ledger.integrity_check() {
        fail(format!("integrity_check failed: {e}"));
    }
    for (lot_id, remaining, journal_sum) in ledger.lot_journal_sums().unwrap() {
        if remaining != journal_sum {
            fail(format!(
                "lot {lot_id} has remaining {remaining} but its journal sums to {journal_sum}"
            ));
        }
    }
    let crossing = ledger.entries_touching_two_accounts().unwrap();
    if crossing != 0 {
        fail(format!("{crossing} journal entries touch two accounts"));
    }
    for account in ACCOUNTS {
        // The child may have died before opening every account in round 0.
        let Ok(balance) = ledger.balance(&AccountId::new(account), now) else {
            continue;
        };
        if balance.available.minor() < 0 {
            fail(format!(
                "{account} has a negative balance {}",
                balance.available
            ));
        }
        for lot in ledger.lots(&AccountId::new(account)).unwrap() {
            if lot.remaining.minor() < 0 || lot.remaining > lot.amount {
                fail(format!(
                    "lot {} has remaining out of range: {lot:?}",
                    lot.id
                ));
            }
        }
    }

    // This round's acknowledged writes, each replayed: the same key and request must give
    // back the first result and change nothing.
    let before = ledger.content_checksum().unwrap();
    for ack in acked {
        match ack {
            Ack::Grant { i, lot_id } => {
                let stored = ledger.lot(LotId::new(*lot_id)).unwrap_or_else(|e| {
                    fail(format!(
                        "acknowledged grant {i} (lot {lot_id}) is missing: {e}"
                    ))
                });
                let request = grant_of(*i);
                if stored.account_id != request.account_id || stored.amount != request.amount {
                    fail(format!(
                        "lot {lot_id} is not acknowledged grant {i}: {stored:?}"
                    ));
                }
                let replayed = ledger
                    .grant(&Act::new(ACTOR, now, grant_key(round, *i)), &request)
                    .unwrap_or_else(|e| fail(format!("replaying grant {i} failed: {e}")));
                if replayed.id.get() != *lot_id {
                    fail(format!(
                        "grant {i} was acknowledged as lot {lot_id}, its replay gives lot {}",
                        replayed.id
                    ));
                }
                everything
                    .lots
                    .entry(account_of(*i))
                    .or_default()
                    .push(*lot_id);
            }
            Ack::Order { i, credits_applied } => {
                let request = order_of(round, *i);
                let breakdown = ledger
                    .order_breakdown(&OrderId::new(request.external_id.as_str()), now_of(round))
                    .unwrap_or_else(|e| {
                        fail(format!(
                            "acknowledged order {} is missing: {e}",
                            request.external_id
                        ))
                    });
                if breakdown.credits_applied.minor() != *credits_applied {
                    fail(format!(
                        "order {} was acknowledged with {credits_applied} credits applied, has {}",
                        request.external_id,
                        breakdown.credits_applied.minor()
                    ));
                }
                let replayed = ledger
                    .record_order(ACTOR, now, &request)
                    .unwrap_or_else(|e| fail(format!("replaying order {i} failed: {e}")));
                if replayed.credits_applied != breakdown.credits_applied {
                    fail(format!(
                        "replaying order {i} changed its credits: {replayed:?}"
                    ));
                }
                everything
                    .orders
                    .entry(account_of(*i))
                    .or_default()
                    .push(request.external_id.into_string());
            }
            Ack::Return { i } => {
                let request = return_of(round, *i).expect("only returning steps acknowledge one");
                let breakdown = ledger
                    .order_breakdown(
                        &OrderId::new(request.order_external_id.as_str()),
                        now_of(round),
                    )
                    .unwrap();
                let ebook = &breakdown.items[0];
                let expected = match request.scope {
                    ReturnScope::Whole => ebook.quantity,
                    ReturnScope::Items(_) => 1,
                };
                if ebook.returned_quantity != expected {
                    fail(format!(
                        "acknowledged return {} shows {} of {expected} units returned",
                        request.return_id, ebook.returned_quantity
                    ));
                }
                ledger
                    .record_return(ACTOR, now, &request)
                    .unwrap_or_else(|e| fail(format!("replaying return {i} failed: {e}")));
            }
        }
    }
    let after = ledger.content_checksum().unwrap();
    if before != after {
        fail("replaying acknowledged writes changed the database".into());
    }

    // Earlier rounds' acknowledged writes must survive every later crash too.
    for account in ACCOUNTS {
        let lots: Vec<i64> = match everything.lots.get(account) {
            Some(ids) => {
                let present: BTreeSet<i64> = ledger
                    .lots(&AccountId::new(account))
                    .unwrap()
                    .iter()
                    .map(|l| l.id.get())
                    .collect();
                ids.iter()
                    .filter(|id| !present.contains(id))
                    .copied()
                    .collect()
            }
            None => Vec::new(),
        };
        if !lots.is_empty() {
            fail(format!(
                "acknowledged lots of {account} from earlier rounds are gone: {lots:?}"
            ));
        }
        if let Some(orders) = everything.orders.get(account) {
            let present: BTreeSet<String> = ledger
                .recent_orders(&AccountId::new(account), usize::MAX >> 1)
                .unwrap()
                .into_iter()
                .map(|o| o.external_id.into_string())
                .collect();
            let missing: Vec<&String> = orders.iter().filter(|o| !present.contains(*o)).collect();
            if !missing.is_empty() {
                fail(format!(
                    "acknowledged orders of {account} from earlier rounds are gone: {missing:?}"
                ));
            }
        }
    }
}
