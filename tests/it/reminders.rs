//! Expiry reminders with an injected clock: which grants are reminded when, exactly once per
//! threshold across runs, restarts and two runs racing on one database; members' settings;
//! Discord's refusals, rate limits and failures (through a scripted `Deliver`; the real
//! Discord clients against the fake Discord are in `tests/it/reminders_discord.rs`).

use crate::common::*;
use chrono::{DateTime, Duration, Utc};
use creditbot::config::DatabaseConfig;
use creditbot::ledger::{
    AccountId, Expiry, Ledger, LedgerSettings, LotId, MemberId, ReminderChange,
};
use creditbot::reminders::{
    BoxFuture, Counters, Deliver, Pause, Runner, SendError, Settings, plan_run,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration as Wait;

/// Records every message; answers from a script first (then "sent").
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<(String, String, String)>>,
    tries: Mutex<Vec<String>>,
    script: Mutex<VecDeque<Result<(), SendError>>>,
}

impl Recorder {
    fn scripted(answers: Vec<Result<(), SendError>>) -> Arc<Recorder> {
        Arc::new(Recorder {
            script: Mutex::new(answers.into()),
            ..Recorder::default()
        })
    }
    fn sent(&self) -> Vec<(String, String, String)> {
        self.sent.lock().unwrap().clone()
    }
    fn tries(&self) -> usize {
        self.tries.lock().unwrap().len()
    }
}

impl Deliver for Recorder {
    fn send<'a>(
        &'a self,
        member_id: &'a str,
        text: &'a str,
        nonce: &'a str,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            self.tries.lock().unwrap().push(member_id.to_string());
            let answer = self.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
            if answer.is_ok() {
                self.sent
                    .lock()
                    .unwrap()
                    .push((member_id.into(), text.into(), nonce.into()));
            }
            answer
        })
    }
}

/// Records waits instead of waiting.
#[derive(Default)]
struct Waits(Mutex<Vec<Wait>>);

impl Pause for Waits {
    fn pause(&self, how_long: Wait) -> BoxFuture<'_, ()> {
        self.0.lock().unwrap().push(how_long);
        Box::pin(async {})
    }
}

/// The grant's expiry in these tests.
fn expiry() -> DateTime<Utc> {
    day(12, 20)
}

fn before(days: i64) -> DateTime<Utc> {
    expiry() - Duration::days(days)
}

/// A ledger with member 111 linked to A, holding $10.00 expiring on 20 Dec 2026 (granted
/// well before the first run).
fn setup() -> TestLedger {
    let l = ledger();
    open(&l, "A");
    l.link_member(
        &admin_at("link", day(11, 1)),
        &MemberId::new("111"),
        &AccountId::new("A"),
    )
    .unwrap();
    l.grant(
        &admin_at("g", day(11, 1)),
        &grant_request("A", 10_00, Expiry::At(expiry())),
    )
    .unwrap();
    l
}

fn reopen(l: &TestLedger) -> Arc<Ledger> {
    Arc::new(
        Ledger::open(
            &l.dir.path().join("ledger.db"),
            &DatabaseConfig::default(),
            LedgerSettings::default(),
        )
        .unwrap(),
    )
}

fn runner(ledger: Arc<Ledger>, deliver: Arc<Recorder>, waits: Arc<Waits>) -> Runner {
    Runner {
        ledger,
        settings: Settings::default(),
        deliver,
        pause: waits,
        counters: Some(Counters::default()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_is_reminded_once_at_7_days_and_once_at_1_day_even_after_a_restart() {
    let l = setup();
    let deliver = Arc::new(Recorder::default());
    let waits = Arc::new(Waits::default());
    let run = runner(reopen(&l), Arc::clone(&deliver), Arc::clone(&waits));

    // 8 days before: nothing.
    let report = run.run(before(8)).await.unwrap();
    assert_eq!((report.sent, deliver.sent().len()), (0, 0));
    // 7 days before: one message, with the figures.
    let report = run.run(before(7)).await.unwrap();
    assert_eq!(report.sent, 1);
    let sent = deliver.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "111");
    let stamp = expiry().timestamp();
    assert!(
        sent[0].1.starts_with(&format!(
            "⏰ $10.00 of your credits expires <t:{stamp}:D> (<t:{stamp}:R>)."
        )),
        "{}",
        sent[0].1
    );
    assert!(
        sent[0].1.contains("ebooks, music, films, TV and apps"),
        "{}",
        sent[0].1
    );
    assert!(sent[0].1.contains("/balance"), "{}", sent[0].1);
    // Again, and 3 days before: nothing new.
    assert_eq!(run.run(before(7)).await.unwrap().sent, 0);
    assert_eq!(run.run(before(3)).await.unwrap().sent, 0);
    assert_eq!(deliver.sent().len(), 1);
    // 1 day before: the second.
    assert_eq!(run.run(before(1)).await.unwrap().sent, 1);
    assert_eq!(deliver.sent().len(), 2);
    assert!(
        deliver.sent()[1].1.contains("(<t:"),
        "{}",
        deliver.sent()[1].1
    );
    assert_ne!(
        deliver.sent()[0].2,
        deliver.sent()[1].2,
        "each message its own nonce"
    );

    // A restart: a new process on the same file repeats nothing, whatever its clock says.
    drop(run);
    let again = runner(reopen(&l), Arc::clone(&deliver), Arc::clone(&waits));
    for at in [before(1) + Duration::hours(2), before(7), before(2)] {
        assert_eq!(again.run(at).await.unwrap().sent, 0, "at {at}");
    }
    assert_eq!(deliver.sent().len(), 2);
    assert_eq!(
        l.reminders_of(&MemberId::new("111")).unwrap(),
        vec![
            (LotId::new(1), 1, "sent".to_string()),
            (LotId::new(1), 7, "sent".to_string())
        ]
    );
    // After expiry nothing more either.
    assert_eq!(
        again.run(expiry() + Duration::hours(1)).await.unwrap().sent,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_first_seen_past_both_thresholds_gets_one_message_not_two() {
    let l = setup();
    let deliver = Arc::new(Recorder::default());
    let run = runner(reopen(&l), Arc::clone(&deliver), Arc::default());
    assert_eq!(
        run.run(before(0) + Duration::hours(-3)).await.unwrap().sent,
        1
    );
    assert_eq!(
        run.run(before(0) + Duration::hours(-2)).await.unwrap().sent,
        0
    );
    assert_eq!(deliver.sent().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runs_racing_on_one_database_send_each_reminder_exactly_once() {
    let l = ledger();
    open(&l, "A");
    let members = 40;
    for n in 0..members {
        let account = format!("ACC-{n}");
        open(&l, &account);
        l.link_member(
            &admin_at(&format!("l{n}"), day(11, 1)),
            &MemberId::new(format!("{}", 1000 + n)),
            &AccountId::new(&account),
        )
        .unwrap();
        l.grant(
            &admin_at(&format!("g{n}"), day(11, 1)),
            &grant_request(&account, 1_00 + n, Expiry::At(expiry())),
        )
        .unwrap();
    }
    // Two ledgers on one file: two pools, two writer locks, as two processes would have.
    let deliver = Arc::new(Recorder::default());
    let first = runner(reopen(&l), Arc::clone(&deliver), Arc::default());
    let second = runner(reopen(&l), Arc::clone(&deliver), Arc::default());
    let (a, b) = tokio::join!(first.run(before(7)), second.run(before(7)));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent + b.sent, members as u64);
    let mut to: Vec<String> = deliver.sent().into_iter().map(|(m, _, _)| m).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), members as usize, "each member once");
    assert_eq!(deliver.sent().len(), members as usize);
    // What one skipped the other claimed (and sent). A member the other run had already
    // finished before this one planned isn't in this run's plan at all, so the skips can be
    // fewer than the other's sends, never more.
    assert!(a.skipped <= b.sent && b.skipped <= a.sent, "{a:?} {b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_is_respected_at_once_on_brings_them_back_and_days_moves_the_first() {
    let l = setup();
    let deliver = Arc::new(Recorder::default());
    let run = runner(reopen(&l), Arc::clone(&deliver), Arc::default());
    l.set_member_reminders(&MemberId::new("111"), ReminderChange::Off, before(10))
        .unwrap();
    let report = run.run(before(7)).await.unwrap();
    assert_eq!((report.sent, report.skipped), (0, 1));
    assert_eq!(report.skipped_by.get("reminders turned off"), Some(&1));
    assert!(deliver.sent().is_empty());
    // Turned off between planning and sending: the claim checks again.
    l.set_member_reminders(&MemberId::new("111"), ReminderChange::On, before(6))
        .unwrap();
    let plan = plan_run(&l, &Settings::default(), before(6)).unwrap();
    assert_eq!(plan.messages.len(), 1);
    l.set_member_reminders(&MemberId::new("111"), ReminderChange::Off, before(6))
        .unwrap();
    let claimed = l
        .claim_reminders(
            None,
            &MemberId::new("111"),
            &AccountId::new("A"),
            &plan.messages[0].grants,
            before(6),
        )
        .unwrap();
    assert!(claimed.is_empty(), "off wins over a plan made before");
    // days:3 — the first reminder 3 days before, then the configured 1 day.
    l.set_member_reminders(&MemberId::new("111"), ReminderChange::Days(3), before(5))
        .unwrap();
    assert_eq!(
        Settings::default().thresholds(&l.member_reminders(&MemberId::new("111")).unwrap()),
        vec![3, 1]
    );
    assert_eq!(run.run(before(4)).await.unwrap().sent, 0);
    assert_eq!(run.run(before(3)).await.unwrap().sent, 1);
    assert_eq!(run.run(before(1)).await.unwrap().sent, 1);
    assert_eq!(deliver.sent().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_unlinks_gets_nothing_further() {
    let l = setup();
    let deliver = Arc::new(Recorder::default());
    let run = runner(reopen(&l), Arc::clone(&deliver), Arc::default());
    assert_eq!(run.run(before(7)).await.unwrap().sent, 1);
    l.unlink_member(
        &admin_at("unlink", before(5)),
        &MemberId::new("111"),
        "left",
    )
    .unwrap();
    let report = run.run(before(1)).await.unwrap();
    assert_eq!((report.sent, report.skipped, report.failed), (0, 0, 0));
    assert_eq!(deliver.sent().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_never_gets_another_members_figures() {
    let l = setup();
    open(&l, "B");
    l.link_member(
        &admin_at("link-b", day(11, 1)),
        &MemberId::new("222"),
        &AccountId::new("B"),
    )
    .unwrap();
    l.grant(
        &admin_at("gb", day(11, 1)),
        &grant_request("B", 77_77, Expiry::At(expiry() + Duration::hours(5))),
    )
    .unwrap();
    l.grant(
        &admin_at("ga2", day(11, 1)),
        &grant_request("A", 3_33, Expiry::At(expiry() + Duration::hours(1))),
    )
    .unwrap();
    let deliver = Arc::new(Recorder::default());
    let run = runner(reopen(&l), Arc::clone(&deliver), Arc::default());
    assert_eq!(run.run(before(6)).await.unwrap().sent, 2);
    for (member, text, _) in deliver.sent() {
        match member.as_str() {
            "111" => {
                // Both of A's grants in one message, and none of B's.
                assert!(text.contains("$13.33 of your credits"), "{text}");
                assert!(text.contains("$10.00") && text.contains("$3.33"), "{text}");
                assert!(!text.contains("77.77"), "{text}");
            }
            "222" => {
                assert!(text.contains("$77.77"), "{text}");
                assert!(!text.contains("10.00") && !text.contains("3.33"), "{text}");
            }
            other => panic!("a message to {other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_refusing_dms_is_recorded_not_retried_and_skipped_until_on() {
    let l = setup();
    let deliver = Recorder::scripted(vec![Err(SendError::CantDm(
        "Discord can't DM them (50007)".into(),
    ))]);
    let run = runner(reopen(&l), Arc::clone(&deliver), Arc::default());
    let report = run.run(before(7)).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert_eq!(deliver.tries(), 1, "not retried");
    let setting = l.member_reminders(&MemberId::new("111")).unwrap();
    assert!(setting.undeliverable.is_some());
    assert_eq!(
        l.reminders_of(&MemberId::new("111")).unwrap()[0].2,
        "failed"
    );
    // The 1-day threshold: skipped, Discord isn't asked.
    let report = run.run(before(1)).await.unwrap();
    assert_eq!((report.sent, report.skipped), (0, 1));
    assert_eq!(report.skipped_by.get("Discord can't DM them"), Some(&1));
    assert_eq!(deliver.tries(), 1);
    // `/reminders on` again: the next run tries.
    l.set_member_reminders(&MemberId::new("111"), ReminderChange::On, before(1))
        .unwrap();
    assert_eq!(
        run.run(before(1) + Duration::hours(1)).await.unwrap().sent,
        1
    );
    assert_eq!(deliver.sent().len(), 1);
    // The admin's view of the last run.
    let last = l.last_reminder_run().unwrap().unwrap();
    assert_eq!((last.sent, last.failed), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out_and_a_server_error_retried_sending_once() {
    let l = setup();
    let deliver = Recorder::scripted(vec![
        Err(SendError::RateLimited(Wait::from_millis(1500))),
        Err(SendError::Transient("Discord answered 500".into())),
    ]);
    let waits = Arc::new(Waits::default());
    let run = runner(reopen(&l), Arc::clone(&deliver), Arc::clone(&waits));
    let report = run.run(before(7)).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    assert_eq!(deliver.tries(), 3);
    assert_eq!(deliver.sent().len(), 1);
    let waited = waits.0.lock().unwrap().clone();
    assert!(waited.contains(&Wait::from_millis(1500)), "{waited:?}");
    assert!(
        waited.contains(&creditbot::reminders::FIRST_BACKOFF),
        "{waited:?}"
    );
    // One nonce for all three tries: Discord creates the message at most once.
    assert_eq!(run.run(before(7)).await.unwrap().sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_discord_keeps_failing_is_given_up_and_never_sent_later() {
    let l = setup();
    let deliver = Recorder::scripted(
        (0..creditbot::reminders::MAX_TRIES)
            .map(|_| Err(SendError::Transient("Discord answered 503".into())))
            .collect(),
    );
    let run = runner(reopen(&l), Arc::clone(&deliver), Arc::default());
    let report = run.run(before(7)).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert!(
        report.failures[0].1.contains("gave up after 5 tries"),
        "{:?}",
        report.failures
    );
    assert_eq!(run.run(before(6)).await.unwrap().sent, 0);
    assert_eq!(deliver.tries(), creditbot::reminders::MAX_TRIES as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_paced_within_max_per_minute() {
    let l = ledger();
    for n in 0..4 {
        let account = format!("ACC-{n}");
        open(&l, &account);
        l.link_member(
            &admin_at(&format!("l{n}"), day(11, 1)),
            &MemberId::new(format!("{}", 500 + n)),
            &AccountId::new(&account),
        )
        .unwrap();
        l.grant(
            &admin_at(&format!("g{n}"), day(11, 1)),
            &grant_request(&account, 5_00, Expiry::At(expiry())),
        )
        .unwrap();
    }
    let deliver = Arc::new(Recorder::default());
    let waits = Arc::new(Waits::default());
    let mut run = runner(reopen(&l), Arc::clone(&deliver), Arc::clone(&waits));
    run.settings.max_per_minute = 30;
    assert_eq!(run.run(before(7)).await.unwrap().sent, 4);
    // 4 messages, 3 gaps of 60 s / 30 = 2 s between them.
    assert_eq!(*waits.0.lock().unwrap(), vec![Wait::from_secs(2); 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_account_gets_no_reminders() {
    let l = setup();
    l.close_account(
        &admin_at("close", before(10)),
        &AccountId::new("A"),
        "left the shop",
    )
    .unwrap();
    let deliver = Arc::new(Recorder::default());
    let run = runner(reopen(&l), Arc::clone(&deliver), Arc::default());
    let report = run.run(before(7)).await.unwrap();
    assert_eq!((report.sent, report.skipped, report.failed), (0, 0, 0));
    assert!(deliver.sent().is_empty());
}
