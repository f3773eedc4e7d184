//! The ledger's smaller tables through its API, on both stores: reminder settings, candidates,
//! claims and runs; confirmations; unanswered questions. (The reminder runner itself is
//! proved on SQLite in `reminders`; these prove each store's rows under it.)

use crate::common::*;
use crate::stores::{Stores, over_both_stores};
use chrono::Duration;
use creditbot::ledger::{DueGrant, Expiry, MemberId, ReminderChange, ReminderOutcome};

over_both_stores!(
    reminders_are_claimed_once_per_threshold_and_runs_are_recorded,
    a_confirmation_is_decided_once_and_never_after_it_expires,
    unanswered_questions_group_ignoring_ascii_case_and_surrounding_space,
);

fn reminders_are_claimed_once_per_threshold_and_runs_are_recorded(stores: &impl Stores) {
    let l = stores.ledger();
    open(&l, "A");
    link(&l, "link", "111", "A");
    let expiry = day(12, 20);
    let lot = l
        .grant(&admin("g"), &grant_request("A", 10_00, Expiry::At(expiry)))
        .unwrap();
    let setting = l.member_reminders(&MemberId::new("111")).unwrap();
    assert!(setting.enabled && setting.days_before.is_none() && setting.undeliverable.is_none());
    let changed = l
        .set_member_reminders(&MemberId::new("111"), ReminderChange::Days(30), now())
        .unwrap();
    assert_eq!((changed.enabled, changed.days_before), (true, Some(30)));
    assert_eq!(l.max_member_reminder_days().unwrap(), Some(30));

    let candidates = l.reminder_candidates(now(), 30).unwrap();
    assert_eq!(candidates.len(), 1);
    let candidate = &candidates[0];
    assert_eq!(
        (
            candidate.lot_id,
            candidate.member_id.as_str(),
            candidate.remaining
        ),
        (lot.id, "111", usd(10_00))
    );
    assert_eq!(
        (candidate.expires_at, candidate.reminded_at_days),
        (expiry, None)
    );
    assert_eq!(
        l.reminder_candidates_of(&MemberId::new("111"), now(), 30)
            .unwrap()
            .len(),
        1
    );
    assert!(
        l.reminder_candidates_of(&MemberId::new("222"), now(), 30)
            .unwrap()
            .is_empty()
    );
    assert!(
        l.reminder_candidates(now(), 10).unwrap().is_empty(),
        "beyond the window"
    );

    let run = l.start_reminder_run(now()).unwrap();
    let at = |threshold_days| DueGrant {
        lot_id: lot.id,
        threshold_days,
        remaining: lot.remaining,
        source: lot.source,
        reason: lot.reason.clone(),
        expires_at: expiry,
    };
    let claim = |grant: DueGrant| {
        l.claim_reminders(
            Some(run),
            &MemberId::new("111"),
            &AccountId::new("A"),
            &[grant],
            now(),
        )
        .unwrap()
        .len()
    };
    assert_eq!(claim(at(7)), 1);
    assert_eq!(claim(at(7)), 0, "claimed once");
    assert_eq!(claim(at(14)), 0, "a farther threshold after a closer one");
    assert_eq!(claim(at(1)), 1);
    l.finish_reminders(
        &MemberId::new("111"),
        &[at(7)],
        &ReminderOutcome::Sent,
        now(),
    )
    .unwrap();
    let mut rows = l.reminders_of(&MemberId::new("111")).unwrap();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (lot.id, 1, "sending".to_string()),
            (lot.id, 7, "sent".to_string())
        ]
    );
    assert_eq!(
        l.reminder_candidates(now(), 30).unwrap()[0].reminded_at_days,
        Some(1)
    );

    let detail = serde_json::json!({"skipped": {"off": 2}});
    l.finish_reminder_run(run, now() + Duration::minutes(1), (1, 2, 0), &detail)
        .unwrap();
    let last = l.last_reminder_run().unwrap().unwrap();
    assert_eq!(
        (last.id, last.sent, last.skipped, last.failed),
        (run, 1, 2, 0)
    );
    assert_eq!(
        (last.started_at, last.finished_at),
        (now(), Some(now() + Duration::minutes(1)))
    );
    assert_eq!(last.detail, detail);

    let refused = ReminderOutcome::Undeliverable("50007".into());
    l.finish_reminders(&MemberId::new("111"), &[at(1)], &refused, now())
        .unwrap();
    assert_eq!(
        l.member_reminders(&MemberId::new("111"))
            .unwrap()
            .undeliverable,
        Some(("50007".to_string(), now()))
    );
    assert_eq!(
        claim(at(3)),
        0,
        "not claimed for a member Discord can't reach"
    );
    let on = l
        .set_member_reminders(&MemberId::new("111"), ReminderChange::On, now())
        .unwrap();
    assert!(on.enabled && on.undeliverable.is_none());
    let off = l
        .set_member_reminders(&MemberId::new("111"), ReminderChange::Off, now())
        .unwrap();
    assert!(!off.enabled);
    assert_eq!(l.max_member_reminder_days().unwrap(), None);
}

fn a_confirmation_is_decided_once_and_never_after_it_expires(stores: &impl Stores) {
    let l = stores.ledger();
    let until = now() + Duration::minutes(1);
    l.ask_confirmation("c1", &MemberId::new("111"), "{\"grant\":1}", now(), until)
        .unwrap();
    // The same id again keeps the first request.
    l.ask_confirmation("c1", &MemberId::new("111"), "{\"grant\":2}", now(), until)
        .unwrap();
    let asked = l.confirmation("c1").unwrap().unwrap();
    assert_eq!(
        (asked.request.as_str(), asked.decision),
        ("{\"grant\":1}", None)
    );
    assert_eq!(asked.expires_at, until);
    assert!(l.decide_confirmation("c1", true, now()).unwrap());
    assert!(!l.decide_confirmation("c1", false, now()).unwrap());
    assert_eq!(l.confirmation("c1").unwrap().unwrap().decision, Some(true));

    l.ask_confirmation("c2", &MemberId::new("111"), "{}", now(), until)
        .unwrap();
    assert!(!l.decide_confirmation("c2", true, until).unwrap());
    assert_eq!(l.confirmation("c2").unwrap().unwrap().decision, None);
    assert!(l.confirmation("c3").unwrap().is_none());
}

/// Grouped as SQLite's `lower(trim(…))` groups them: ASCII letters folded, others (`É`) not.
fn unanswered_questions_group_ignoring_ascii_case_and_surrounding_space(stores: &impl Stores) {
    let l = stores.ledger();
    let at = |minutes| now() + Duration::minutes(minutes);
    for (n, question) in ["How do I X?", "  how do i x?  ", "CAFÉ", "café", "Other"]
        .iter()
        .enumerate()
    {
        l.record_unanswered(&MemberId::new("111"), question, at(n as i64))
            .unwrap();
    }
    assert_eq!(l.unanswered_total().unwrap(), 5);
    assert_eq!(
        l.unanswered(10).unwrap(),
        vec![
            ("how do i x?".to_string(), 2, at(1)),
            ("other".to_string(), 1, at(4)),
            ("café".to_string(), 1, at(3)),
            ("cafÉ".to_string(), 1, at(2)),
        ]
    );
    assert_eq!(l.unanswered(1).unwrap().len(), 1);
}
