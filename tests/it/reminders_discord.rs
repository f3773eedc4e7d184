//! Reminder delivery against the in-repo fake Discord: Discord's REST API (what `serve` and
//! `creditbot remind` use) and serenity (what the gateway bot uses), both through
//! `api_base`. The DM channel is opened and the message posted with the member's figures;
//! 50007 is recorded and not retried; a 429's `retry_after` is waited out; a 500 is retried
//! and the member sees exactly one message.

use crate::common::*;
use crate::fake_discord::{FakeDiscord, Options, Scripted};
use chrono::{DateTime, Duration, Utc};
use creditbot::config::DatabaseConfig;
use creditbot::ledger::{AccountId, Expiry, Ledger, LedgerSettings, MemberId};
use creditbot::reminders::{BoxFuture, Counters, Deliver, Pause, Runner, Settings};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration as Wait;

const MEMBER: &str = "1000000000000000042";
const TOKEN: &str = "test-token";

#[derive(Default)]
struct Waits(Mutex<Vec<Wait>>);

impl Pause for Waits {
    fn pause(&self, how_long: Wait) -> BoxFuture<'_, ()> {
        self.0.lock().unwrap().push(how_long);
        Box::pin(async {})
    }
}

fn expiry() -> DateTime<Utc> {
    day(12, 20)
}

/// Member MEMBER linked to A with $12.50 expiring on 20 Dec 2026.
fn setup() -> (TestLedger, Arc<Ledger>) {
    let l = ledger();
    open(&l, "A");
    l.link_member(
        &admin_at("link", day(11, 1)),
        &MemberId::new(MEMBER),
        &AccountId::new("A"),
    )
    .unwrap();
    l.grant(
        &admin_at("g", day(11, 1)),
        &grant_request("A", 12_50, Expiry::At(expiry())),
    )
    .unwrap();
    let shared = Arc::new(
        Ledger::open(
            &l.dir.path().join("ledger.db"),
            &DatabaseConfig::default(),
            LedgerSettings::default(),
        )
        .unwrap(),
    );
    (l, shared)
}

fn runner(ledger: Arc<Ledger>, deliver: Arc<dyn Deliver>, waits: Arc<Waits>) -> Runner {
    Runner {
        ledger,
        settings: Settings::default(),
        deliver,
        pause: waits,
        counters: Some(Counters::default()),
    }
}

fn rest(fake: &FakeDiscord) -> Arc<dyn Deliver> {
    Arc::new(creditbot::dm::RestDms::new(&fake.rest_url, TOKEN))
}

fn message_posts(fake: &FakeDiscord) -> usize {
    fake.view()
        .calls
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/messages"))
        .count()
}

fn seven_days_before() -> DateTime<Utc> {
    expiry() - Duration::days(7)
}

async fn opens_the_dm_and_posts_the_figures(deliver: impl Fn(&FakeDiscord) -> Arc<dyn Deliver>) {
    let fake = FakeDiscord::start(Options::default()).await;
    let (_l, ledger) = setup();
    let run = runner(ledger, deliver(&fake), Arc::default());
    let report = run.run(seven_days_before()).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0), "{report:?}");
    let view = fake.view();
    let open = view
        .calls
        .iter()
        .find(|c| c.path == "/api/v10/users/@me/channels")
        .expect("the DM channel was opened");
    assert_eq!(open.body["recipient_id"], MEMBER);
    let dms = fake.dms(MEMBER);
    assert_eq!(dms.len(), 1);
    let content = dms[0]["content"].as_str().unwrap();
    let stamp = expiry().timestamp();
    assert!(
        content.starts_with(&format!(
            "⏰ $12.50 of your credits expires <t:{stamp}:D> (<t:{stamp}:R>)."
        )),
        "{content}"
    );
    assert!(content.contains("/balance"), "{content}");
    assert_eq!(dms[0]["enforce_nonce"], true);
    assert!(dms[0]["nonce"].as_str().is_some_and(|n| n.len() <= 25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_rest_the_dm_channel_is_opened_and_the_message_posted_with_the_figures() {
    opens_the_dm_and_posts_the_figures(rest).await;
}

#[cfg(feature = "discord")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_serenity_the_dm_channel_is_opened_and_the_message_posted_with_the_figures() {
    opens_the_dm_and_posts_the_figures(|fake| {
        Arc::new(creditbot::discord::SerenityDms::new(&fake.rest_url, TOKEN))
    })
    .await;
}

async fn cant_dm_is_recorded_and_not_retried(deliver: impl Fn(&FakeDiscord) -> Arc<dyn Deliver>) {
    let fake = FakeDiscord::start(Options::default()).await;
    let (l, ledger) = setup();
    fake.script_messages(vec![Scripted {
        status: 403,
        body: json!({ "message": "Cannot send messages to this user", "code": 50007 }),
        delivered: false,
    }]);
    let run = runner(ledger, deliver(&fake), Arc::default());
    let report = run.run(seven_days_before()).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert!(
        report.failures[0].1.contains("50007"),
        "{:?}",
        report.failures
    );
    assert_eq!(message_posts(&fake), 1, "not retried");
    assert!(
        l.member_reminders(&MemberId::new(MEMBER))
            .unwrap()
            .undeliverable
            .is_some()
    );
    // The next threshold skips them without asking Discord.
    let report = run.run(expiry() - Duration::hours(12)).await.unwrap();
    assert_eq!((report.sent, report.skipped), (0, 1));
    assert_eq!(message_posts(&fake), 1);
    assert!(fake.dms(MEMBER).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_rest_50007_is_recorded_and_not_retried() {
    cant_dm_is_recorded_and_not_retried(rest).await;
}

#[cfg(feature = "discord")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_serenity_50007_is_recorded_and_not_retried() {
    cant_dm_is_recorded_and_not_retried(|fake| {
        Arc::new(creditbot::discord::SerenityDms::new(&fake.rest_url, TOKEN))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_is_honoured() {
    let fake = FakeDiscord::start(Options::default()).await;
    let (_l, ledger) = setup();
    fake.script_messages(vec![Scripted {
        status: 429,
        body: json!({ "message": "You are being rate limited.", "retry_after": 0.75, "global": false }),
        delivered: false,
    }]);
    let waits = Arc::new(Waits::default());
    let run = runner(ledger, rest(&fake), Arc::clone(&waits));
    let report = run.run(seven_days_before()).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    assert_eq!(message_posts(&fake), 2);
    assert_eq!(fake.dms(MEMBER).len(), 1);
    let waited = waits.0.lock().unwrap().clone();
    assert!(waited.contains(&Wait::from_millis(750)), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_retried_and_the_member_gets_exactly_one_message() {
    let fake = FakeDiscord::start(Options::default()).await;
    let (l, ledger) = setup();
    // The first 500 comes after Discord created the message (the answer was lost); the
    // second created nothing. The retries carry the same nonce.
    fake.script_messages(vec![
        Scripted {
            status: 500,
            body: json!({ "message": "500: Internal Server Error", "code": 0 }),
            delivered: true,
        },
        Scripted {
            status: 502,
            body: json!({ "message": "502: Bad Gateway", "code": 0 }),
            delivered: false,
        },
    ]);
    let waits = Arc::new(Waits::default());
    let run = runner(ledger, rest(&fake), Arc::clone(&waits));
    let report = run.run(seven_days_before()).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    assert_eq!(message_posts(&fake), 3);
    assert_eq!(
        fake.dms(MEMBER).len(),
        1,
        "one message, however often it was tried"
    );
    let waited = waits.0.lock().unwrap().clone();
    assert!(
        waited.contains(&creditbot::reminders::FIRST_BACKOFF),
        "{waited:?}"
    );
    assert!(
        waited.contains(&(creditbot::reminders::FIRST_BACKOFF * 2)),
        "{waited:?}"
    );
    // Recorded as sent: later runs and restarts send nothing more for this threshold.
    assert_eq!(l.reminders_of(&MemberId::new(MEMBER)).unwrap()[0].2, "sent");
    assert_eq!(run.run(seven_days_before()).await.unwrap().sent, 0);
    assert_eq!(fake.dms(MEMBER).len(), 1);
}
