//! The assistant core, command by command, through `handle(Request) -> Reply` on a real
//! ledger: what each command answers, who may run it, what stays private, and that every
//! refusal names the problem and leaves the database exactly as it was.

use crate::common::*;
use creditbot::assistant::{Admins, Assistant, Input, Place, Reply, Request, Who};
use creditbot::faq::Faq;
use creditbot::ledger::{Act, Expiry, MemberId};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const ADMIN: &str = "admin1";

struct World {
    ledger: TestLedger,
    assistant: Assistant,
    next_id: AtomicUsize,
}

/// alice is linked to ACC-1 with $37.50 in three grants and order 7781; bob to ACC-2 with order 9001.
fn world() -> World {
    let ledger = ledger();
    // Opened early in the year, so tests can date grants before "now".
    for account in ["ACC-1", "ACC-2"] {
        open(&ledger, account);
    }
    link(&ledger, "l1", "alice", "ACC-1");
    link(&ledger, "l2", "bob", "ACC-2");
    ledger
        .grant(
            &admin("g1"),
            &grant_request("ACC-1", 20_00, Expiry::At(day(12, 12))),
        )
        .unwrap();
    ledger
        .grant(&admin("g2"), &grant_request("ACC-1", 12_50, Expiry::Never))
        .unwrap();
    ledger
        .grant(
            &admin("g3"),
            &grant_request("ACC-1", 15_00, Expiry::At(day(12, 30))),
        )
        .unwrap();
    ledger
        .record_order(
            "shop",
            now(),
            &order(
                "7781",
                "ACC-1",
                vec![digital("hobbit", 9_99, 1), physical("lamp", 24_99, 1)],
            ),
        )
        .unwrap();
    ledger
        .record_order(
            "shop",
            now(),
            &order("9001", "ACC-2", vec![physical("mug", 8_00, 1)]),
        )
        .unwrap();
    ledger
        .grant(&admin("g4"), &grant_request("ACC-1", 1, Expiry::Never))
        .unwrap();
    let assistant = Assistant::new(
        Arc::new(reopen(&ledger)),
        Arc::new(Faq::builtin().unwrap()),
        Admins {
            user_ids: vec![ADMIN.into()],
            role_ids: vec!["role-staff".into()],
        },
    );
    World {
        ledger,
        assistant,
        next_id: AtomicUsize::new(1),
    }
}

/// A second handle on the same database file, for the assistant to own.
fn reopen(ledger: &TestLedger) -> creditbot::ledger::Ledger {
    creditbot::ledger::Ledger::open(
        &ledger.dir.path().join("ledger.db"),
        &creditbot::config::DatabaseConfig::default(),
        creditbot::ledger::LedgerSettings::default(),
    )
    .unwrap()
}

impl World {
    fn ask(&self, user: &str, place: Place, input: Input) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.assistant.handle(&Request {
            id: format!("req-{id}"),
            who: Who {
                user_id: user.into(),
                display_name: user.into(),
                role_ids: Vec::new(),
            },
            place,
            now: now(),
            input,
        })
    }

    fn command(&self, user: &str, line: &str) -> Reply {
        let input = creditbot::console::parse_line(line).unwrap().unwrap();
        self.ask(user, Place::Console, input)
    }

    fn text(&self, user: &str, line: &str) -> String {
        self.command(user, line).to_plain_text()
    }

    /// Presses the button labelled `label` of `reply`, as `user`, now.
    fn press(&self, user: &str, reply: &Reply, label: &str) -> Reply {
        self.press_at(user, reply, label, now())
    }

    fn press_at(
        &self,
        user: &str,
        reply: &Reply,
        label: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Reply {
        let choice = reply
            .choices
            .iter()
            .find(|c| c.label == label)
            .unwrap_or_else(|| panic!("no button {label} in {reply:?}"));
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.assistant.handle(&Request {
            id: format!("press-{id}"),
            who: Who {
                user_id: user.into(),
                display_name: user.into(),
                role_ids: Vec::new(),
            },
            place: Place::DirectMessage,
            now: at,
            input: Input::Choice(choice.id.clone()),
        })
    }

    /// Runs a command that must be refused; returns its text and checks nothing changed.
    fn refused(&self, user: &str, line: &str) -> String {
        let before = self.ledger.content_checksum().unwrap();
        let reply = self.command(user, line);
        assert_eq!(
            self.ledger.content_checksum().unwrap(),
            before,
            "{line} changed the database"
        );
        assert!(reply.private);
        reply.to_plain_text()
    }
}

#[test]
fn balance_shows_the_available_amount_first_then_each_grant() {
    let w = world();
    let reply = w.command("alice", "/balance");
    assert!(reply.private, "figures are private");
    let text = reply.to_plain_text();
    assert!(
        text.starts_with("Your credits · account ACC-1\nAvailable  $37.52\n"),
        "{text}"
    );
    assert!(
        text.contains("$10.01  promotion  expires 12 Dec 2026 (in 16 days)  ⚠ soon"),
        "{text}"
    );
    assert!(text.contains("never expires"), "{text}");
    assert!(text.contains("Expiring within 30 days: $10.01"), "{text}");
}

#[test]
fn a_grant_due_in_exactly_30_days_is_both_warned_and_counted() {
    let w = world();
    for (key, days, cents) in [("d30", 30, 3_00), ("d31", 31, 4_00)] {
        w.ledger
            .grant(
                &admin(key),
                &grant_request("ACC-2", cents, Expiry::InDays(days)),
            )
            .unwrap();
    }
    let text = w.text("bob", "/balance");
    assert!(
        text.contains("$3.00  promotion  expires 26 Dec 2026 (in 30 days)  ⚠ soon"),
        "{text}"
    );
    assert!(
        text.contains("$4.00  promotion  expires 27 Dec 2026 (in 31 days)\n"),
        "{text}"
    );
    assert!(text.contains("Expiring within 30 days: $3.00"), "{text}");
}

#[test]
fn on_discord_dates_use_timestamp_markup_and_members_are_mentions() {
    let w = world();
    let reply = w.ask(
        "alice",
        Place::Channel,
        creditbot::console::parse_line("/balance").unwrap().unwrap(),
    );
    assert!(
        reply.private,
        "a command's figures stay private even in a channel"
    );
    let expires = day(12, 12).timestamp();
    assert!(
        reply
            .to_plain_text()
            .contains(&format!("expires <t:{expires}:D> (<t:{expires}:R>)"))
    );
    let granted = w.ask(
        ADMIN,
        Place::Channel,
        creditbot::console::parse_line("/admin grant member:<@123> amount:1")
            .unwrap()
            .unwrap(),
    );
    assert!(
        granted.to_plain_text().contains("<@123> isn't linked"),
        "{}",
        granted.to_plain_text()
    );
}

#[test]
fn expiry_gives_the_next_date_and_what_expires_within_the_days_asked() {
    let w = world();
    let text = w.text("alice", "/expiry");
    assert!(
        text.starts_with("Your next expiry: $10.01 on 12 Dec 2026 (in 16 days)."),
        "{text}"
    );
    assert!(text.contains("Within 30 days, $10.01 expires"), "{text}");
    let short = w.text("alice", "/expiry days:3");
    assert!(short.contains("Nothing expires within 3 days."), "{short}");
    let one = w.text("alice", "/expiry days:1");
    assert!(one.contains("Nothing expires within 1 day."), "{one}");
    w.ledger
        .grant(
            &admin("tomorrow"),
            &grant_request("ACC-1", 2_00, Expiry::InDays(1)),
        )
        .unwrap();
    let one = w.text("alice", "/expiry days:1");
    assert!(one.contains("Within 1 day, $2.00 expires:"), "{one}");
}

#[test]
fn a_member_without_credits_reads_that_they_have_none() {
    let w = world();
    w.text(
        ADMIN,
        "/admin link member:newbie account:ACC-NEW create:true",
    );
    let expiry = w.text("newbie", "/faq topic:expiry");
    assert!(
        expiry.starts_with("Your next credits to expire: nothing — you have no credits right now."),
        "{expiry}"
    );
    let balance = w.text("newbie", "/faq topic:balance");
    assert!(
        balance.starts_with("You have $0.00 on account ACC-NEW.\nYou have no credits right now."),
        "{balance}"
    );
    for text in [&expiry, &balance] {
        assert!(
            !text.contains("$0.00 —") && !text.contains("Expiring within 30 days"),
            "{text}"
        );
    }
    // alice has credits expiring soon: the expiry answer's line is there with its amount.
    let hers = w.text("alice", "/faq topic:expiry");
    assert!(hers.contains("Expiring within 30 days: $10.01."), "{hers}");
}

#[test]
fn order_shows_how_each_item_was_paid_and_what_a_return_gives_back() {
    let w = world();
    let text = w.text("alice", "/order id:7781");
    assert!(
        text.contains("hobbit (ebook)  $9.99  paid with credits: $9.99 (promotion)"),
        "{text}"
    );
    assert!(
        text.contains("paid by Visa: $24.99 — credits can't pay physical items"),
        "{text}"
    );
    assert!(
        text.contains("Credits applied $9.99 · other payment $24.99 (Visa)"),
        "{text}"
    );
    assert!(
        text.contains("If you return hobbit (ebook), $9.99 goes back to your credits."),
        "{text}"
    );
}

#[test]
fn order_does_not_promise_credit_a_return_would_not_give_back() {
    let w = world();
    assert!(
        w.text(ADMIN, "/admin revoke grant:1 reason:fraud")
            .contains("Revoked")
    );
    let text = w.text("alice", "/order id:7781");
    assert!(!text.contains("goes back to your credits"), "{text}");
    assert!(
        text.contains("$9.99 of the credit paid for hobbit (ebook) came from a grant that was revoked or has expired, so a return would not give it back."),
        "{text}"
    );
    let returned = w.text(ADMIN, "/admin return order:7781 return-id:R-1");
    assert!(
        returned.contains("$9.99 came from a grant an admin had revoked, so it stays revoked."),
        "{returned}"
    );
    assert!(
        !returned.contains("is back on the member's credits"),
        "{returned}"
    );
}

#[test]
fn the_order_answer_lists_the_latest_orders_even_without_credits() {
    let w = world();
    let text = w.text("bob", "/faq topic:order");
    assert!(
        text.contains("Order 9001 · 26 Nov 2026: credits applied $0.00"),
        "{text}"
    );
    // Nothing of bob's would come back as credits, so the refund answer lists no order.
    let refund = w.text("bob", "/faq topic:refund");
    assert!(
        refund.contains("No recent order would give credits back if returned."),
        "{refund}"
    );
}

#[test]
fn someone_elses_order_reads_exactly_like_an_unknown_one() {
    let w = world();
    let theirs = w.refused("alice", "/order id:9001");
    let unknown = w.refused("alice", "/order id:9999");
    assert_eq!(theirs.replace("9001", "X"), unknown.replace("9999", "X"));
    assert!(unknown.contains("I couldn't find order 9999"), "{unknown}");
    // Admins may look at any order.
    assert!(w.text(ADMIN, "/order id:9001").contains("mug"));
}

#[test]
fn an_unlinked_member_cannot_tell_whether_an_order_exists() {
    let w = world();
    let existing = w.refused("stranger", "/order id:7781");
    let unknown = w.refused("stranger", "/order id:9999");
    assert_eq!(existing, unknown);
    assert!(
        existing.contains("isn't linked to a shop account yet"),
        "{existing}"
    );
}

#[test]
fn order_names_each_grant_that_paid_and_whose_credits_a_return_restores() {
    let w = world();
    // $10.01 is left of the soonest grant, so a $25.00 ebook takes the rest from the next.
    w.ledger
        .record_order(
            "shop",
            now(),
            &order("7790", "ACC-1", vec![digital("atlas", 25_00, 1)]),
        )
        .unwrap();
    let text = w.text("alice", "/order id:7790");
    assert!(
        text.contains("paid with credits: $25.00 — $10.01 promotion, $14.99 promotion"),
        "{text}"
    );
    assert!(
        text.contains("If you return atlas (ebook), $25.00 goes back to your credits."),
        "{text}"
    );
    let theirs = w.text(ADMIN, "/order id:7790");
    assert!(
        theirs.contains("If you return atlas (ebook), $25.00 goes back to the member's credits."),
        "{theirs}"
    );
    assert!(!theirs.contains("your credits"), "{theirs}");
}

#[test]
fn revoke_and_expiry_with_a_member_act_only_on_that_members_grant() {
    let w = world();
    let lot = w
        .ledger
        .balance(&AccountId::new("ACC-1"), now())
        .unwrap()
        .lots[0]
        .id;
    for line in [
        format!("/admin revoke grant:{lot} reason:x member:@bob"),
        format!("/admin expiry grant:#{lot} date:never reason:x member:bob"),
    ] {
        let text = w.refused(ADMIN, &line);
        assert_eq!(
            text.trim_end(),
            format!(
                "Grant #{lot} isn't one of @bob's grants. /admin account member:@bob lists them."
            ),
            "{line}"
        );
    }
    let unlinked = w.refused(
        ADMIN,
        &format!("/admin revoke grant:{lot} reason:x member:@stranger"),
    );
    assert!(unlinked.contains("@stranger isn't linked"), "{unlinked}");
    assert!(
        w.text(
            ADMIN,
            &format!("/admin expiry grant:{lot} date:never reason:x member:@alice")
        )
        .contains("now never expires"),
    );
    assert!(
        w.text(
            ADMIN,
            &format!("/admin revoke grant:{lot} reason:x member:alice")
        )
        .contains("taken back"),
    );
}

#[test]
fn a_new_date_on_an_expired_or_spent_grant_is_refused_saying_its_credit_stays_expired() {
    let w = world();
    // Two of bob's grants expired on 20 Nov; the sweep has written off only the first.
    let lapsed = |key: &str, cents| {
        w.ledger
            .grant(
                &admin_at(key, day(10, 1)),
                &grant_request("ACC-2", cents, Expiry::At(day(11, 20))),
            )
            .unwrap()
            .id
    };
    let swept = lapsed("old-1", 8_00);
    w.ledger.sweep_expired("sweeper", day(11, 21)).unwrap();
    let unswept = lapsed("old-2", 3_00);
    for (lot, amount) in [(swept, "$8.00"), (unswept, "$3.00")] {
        let text = w.refused(
            ADMIN,
            &format!("/admin expiry grant:{lot} date:30 reason:x"),
        );
        assert_eq!(
            text.trim_end(),
            format!(
                "Grant #{lot} already expired on 20 Nov 2026, and expired credit stays expired, so a new date would give nothing back; nothing was changed. To give the {amount} back, make a new grant: /admin grant member:@bob amount:{} reason:…",
                &amount[1..]
            ),
        );
    }
    assert_eq!(
        w.ledger
            .balance(&AccountId::new("ACC-2"), now())
            .unwrap()
            .available,
        usd(0)
    );
    // A grant that was used up before it expired had nothing left to lose.
    let spent = lapsed("old-3", 5_00);
    w.ledger
        .record_order(
            "shop",
            day(11, 1),
            // Dated before they expired: it spends the $3.00 left on the second, then this.
            &order("9100", "ACC-2", vec![digital("song", 8_00, 1)]),
        )
        .unwrap();
    let text = w.refused(
        ADMIN,
        &format!("/admin expiry grant:{spent} date:never reason:x"),
    );
    assert!(
        text.starts_with(&format!(
            "Grant #{spent} has nothing left on it (all spent), so a new expiry would give the member nothing; nothing was changed."
        )),
        "{text}"
    );
    // A grant still live gets the plain answer.
    let live = w
        .ledger
        .balance(&AccountId::new("ACC-1"), now())
        .unwrap()
        .lots[0]
        .id;
    assert!(
        w.text(
            ADMIN,
            &format!("/admin expiry grant:{live} date:2027-01-31 reason:x")
        )
        .contains("now expires 31 Jan 2027 (was 12 Dec 2026)")
    );
}

#[test]
fn history_pages_newest_first() {
    let w = world();
    let first = w.text("alice", "/history");
    assert!(first.contains("page 1 of 1"), "{first}");
    let lines: Vec<&str> = first.lines().collect();
    assert!(lines[1].contains("granted"), "newest first: {first}");
    assert!(first.contains("spent on order 7781"), "{first}");
    let past_the_end = w.refused("alice", "/history page:2");
    assert_eq!(
        past_the_end.trim_end(),
        "There's only 1 page of history, so there's no page 2. /history shows it."
    );
    let admin_past = w.refused(ADMIN, "/admin history member:alice page:5");
    assert!(
        admin_past.starts_with("There's only 1 page of history, so there's no page 5. /admin history member:alice shows it."),
        "{admin_past}"
    );
    let out_of_range = w.refused("alice", "/history page:0");
    assert!(
        out_of_range.contains("page must be a whole number from 1"),
        "{out_of_range}"
    );
}

#[test]
fn history_shows_an_expiry_change_as_human_dates() {
    let w = world();
    let lot = w
        .ledger
        .balance(&AccountId::new("ACC-1"), now())
        .unwrap()
        .lots[0]
        .id;
    w.text(
        ADMIN,
        &format!("/admin expiry grant:{lot} date:2027-01-31 reason:kind"),
    );
    w.text(
        ADMIN,
        &format!("/admin expiry grant:{lot} date:never reason:test"),
    );
    let text = w.text("alice", "/history");
    assert!(
        text.contains(&format!(
            "expiry changed from 31 Jan 2027 to never: test (grant #{lot})"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "expiry changed from 12 Dec 2026 to 31 Jan 2027: kind (grant #{lot})"
        )),
        "{text}"
    );
    assert!(
        !text.contains("T00:00:00Z") && !text.contains("->"),
        "{text}"
    );
}

#[test]
fn transfer_explains_credits_stay_and_moves_nothing() {
    let w = world();
    let text = w.refused("alice", "/transfer to:@bob amount:10");
    assert!(
        text.starts_with("Credits can't be moved to another account"),
        "{text}"
    );
    assert!(
        text.contains("Yours (ACC-1) has $37.52 available"),
        "{text}"
    );
}

#[test]
fn faq_topics_and_questions_answer_with_the_askers_figures_in_private() {
    let w = world();
    let topic = w.command("alice", "/faq topic:expiry");
    assert!(topic.private);
    assert!(
        topic.to_plain_text().contains("$10.01"),
        "{}",
        topic.to_plain_text()
    );
    let by_title = w.text("alice", "/faq topic:\"Do credits expire?\"");
    assert!(by_title.contains("expire"), "{by_title}");
    assert!(
        w.refused("alice", "/faq topic:lottery")
            .contains("I don't have a topic \"lottery\"")
    );
    let asked = w.text(
        "alice",
        "/ask question:\"can i send credits to my brother\"",
    );
    assert!(asked.contains("$37.52"), "{asked}");
}

#[test]
fn a_question_in_a_public_channel_gets_the_general_answer_without_figures() {
    let w = world();
    let public = w.ask(
        "alice",
        Place::Channel,
        Input::Text("how much credit do i have?".into()),
    );
    assert!(!public.private);
    let text = public.to_plain_text();
    assert!(
        !text.contains("$37.52") && !text.contains("ACC-1"),
        "{text}"
    );
    assert!(text.contains("/balance"), "{text}");
    let dm = w.ask(
        "alice",
        Place::DirectMessage,
        Input::Text("how much credit do i have?".into()),
    );
    assert!(
        dm.private && dm.to_plain_text().contains("$37.52"),
        "{}",
        dm.to_plain_text()
    );
}

#[test]
fn an_unlinked_member_is_told_how_to_link() {
    let w = world();
    for line in ["/balance", "/expiry", "/history", "/unlink"] {
        let text = w.refused("sam", line);
        assert!(
            text.contains("isn't linked to a shop account yet"),
            "{line}: {text}"
        );
        assert!(text.contains("/link code:"), "{line}: {text}");
    }
    let dm = w.ask(
        "sam",
        Place::DirectMessage,
        Input::Text("how much credit do i have".into()),
    );
    assert!(
        dm.to_plain_text().contains("/link"),
        "{}",
        dm.to_plain_text()
    );
}

#[test]
fn unanswered_questions_are_recorded_for_admins() {
    let w = world();
    for _ in 0..2 {
        w.ask(
            "alice",
            Place::DirectMessage,
            Input::Text("what's the weather in Paris tomorrow".into()),
        );
    }
    let text = w.text(ADMIN, "/admin unanswered");
    assert!(
        text.contains("2× \"what's the weather in paris tomorrow\""),
        "{text}"
    );
}

#[test]
fn a_did_you_mean_button_answers_that_topic_for_whoever_pressed_it() {
    let w = world();
    let reply = w.ask(
        "alice",
        Place::DirectMessage,
        Input::Choice("faq:refund".into()),
    );
    assert!(reply.private);
    assert!(
        reply.to_plain_text().contains("return"),
        "{}",
        reply.to_plain_text()
    );
    let stale = w.ask(
        "alice",
        Place::DirectMessage,
        Input::Choice("faq:nope".into()),
    );
    assert!(stale.to_plain_text().contains("That button has expired"));
}

#[test]
fn link_redeems_a_code_once_and_unlink_drops_it() {
    let w = world();
    w.ledger
        .open_account(&admin("o9"), &AccountId::new("ACC-9"), "Nine")
        .unwrap();
    let issued = w
        .ledger
        .issue_link_code(&admin("c9"), &AccountId::new("ACC-9"))
        .unwrap();
    let linked = w.text("sam", &format!("/link code:{}", issued.code));
    assert!(
        linked.contains("Linked! Your Discord account now belongs to shop account ACC-9"),
        "{linked}"
    );
    let reused = w.refused("kim", &format!("/link code:{}", issued.code));
    assert!(reused.contains("already been used"), "{reused}");
    // Another account's: ACC-9 is held by sam now, and takes no code.
    w.ledger
        .open_account(&admin("o8"), &AccountId::new("ACC-8"), "Eight")
        .unwrap();
    let expired = w
        .ledger
        .issue_link_code(
            &Act::new("admin", day(11, 1), "c10"),
            &AccountId::new("ACC-8"),
        )
        .unwrap();
    assert!(
        w.refused("kim", &format!("/link code:{}", expired.code))
            .contains("expired")
    );
    let asked = w.command("sam", "/unlink");
    assert!(
        asked
            .to_plain_text()
            .starts_with("Unlink your Discord account from shop account ACC-9?"),
        "{asked:?}"
    );
    assert!(
        w.press("sam", &asked, "Unlink")
            .to_plain_text()
            .contains("Unlinked from account ACC-9")
    );
}

#[test]
fn help_lists_admin_commands_only_to_admins() {
    let w = world();
    let member = w.text("alice", "/help");
    assert!(
        member.contains("/balance") && !member.contains("/admin grant"),
        "{member}"
    );
    let admin = w.text(ADMIN, "/help");
    assert!(admin.contains("/admin grant"), "{admin}");
}

#[test]
fn an_admin_grant_is_counted_once_however_often_the_request_is_retried() {
    let w = world();
    let request = Request {
        id: "interaction-777".into(),
        who: Who {
            user_id: ADMIN.into(),
            display_name: "Admin".into(),
            role_ids: Vec::new(),
        },
        place: Place::Console,
        now: now(),
        input: creditbot::console::parse_line(
            "/admin grant member:alice amount:12.50 reason:goodwill",
        )
        .unwrap()
        .unwrap(),
    };
    let first = w.assistant.handle(&request).to_plain_text();
    assert!(
        first.starts_with("Granted $12.50 (goodwill) to @alice · expires 26 Nov 2027 · grant #"),
        "{first}"
    );
    assert!(first.contains("Their balance is now $50.02."), "{first}");
    w.assistant.handle(&request);
    assert_eq!(
        w.ledger
            .balance(&AccountId::new("ACC-1"), now())
            .unwrap()
            .available,
        usd(50_02)
    );
}

#[test]
fn admin_commands_work_for_admins_by_user_or_role() {
    let w = world();
    let by_role = w.assistant.handle(&Request {
        id: "r1".into(),
        who: Who {
            user_id: "carol".into(),
            display_name: "Carol".into(),
            role_ids: vec!["role-staff".into()],
        },
        place: Place::Channel,
        now: now(),
        input: creditbot::console::parse_line("/admin account member:alice")
            .unwrap()
            .unwrap(),
    });
    assert!(
        by_role
            .to_plain_text()
            .contains("Credits of @alice · account ACC-1")
    );

    let lot = w
        .ledger
        .balance(&AccountId::new("ACC-1"), now())
        .unwrap()
        .lots[0]
        .id;
    assert!(
        w.text(
            ADMIN,
            &format!("/admin expiry grant:#{lot} date:2027-01-31 reason:extension")
        )
        .contains("now expires 31 Jan 2027 (was 12 Dec 2026)")
    );
    assert!(
        w.text(
            ADMIN,
            &format!("/admin revoke grant:{lot} reason:\"by mistake\"")
        )
        .contains("$10.01 taken back")
    );
    assert!(
        w.text(ADMIN, "/admin link member:dave account:ACC-7 create:true")
            .contains("Linked @dave to account ACC-7 (a new account, created as you asked).")
    );
    let empty = w.text(ADMIN, "/admin account member:dave");
    assert!(
        empty.contains("Available  $0.00\nAccount ACC-7 has no credits right now. To give @dave some, use /admin grant member:@dave amount:"),
        "{empty}"
    );
    assert!(
        !empty.contains("Your") && !empty.contains("/expiry"),
        "{empty}"
    );
    assert!(
        w.text(ADMIN, "/admin unlink member:dave")
            .contains("Unlinked @dave from account ACC-7")
    );
    assert!(
        w.text(ADMIN, "/admin code account:ACC-7")
            .contains("Link code for account ACC-7: ")
    );
    assert!(
        w.text(ADMIN, "/admin history member:alice")
            .contains("revoked: by mistake")
    );
    let returned = w.text(ADMIN, "/admin return order:7781 return-id:R-1");
    assert!(
        returned.contains("hobbit (ebook) ×1: $9.99 in credits"),
        "{returned}"
    );
    // The grant that paid was revoked above, so its credit stays revoked.
    assert!(returned.contains("so it stays revoked"), "{returned}");
    assert!(
        returned.contains("lamp (lamp) ×1: $24.99 refunded to Visa"),
        "{returned}"
    );
}

#[test]
fn a_member_with_manage_guild_but_not_admin_by_config_is_refused_and_nothing_changes() {
    let w = world();
    for line in [
        "/admin grant member:alice amount:5",
        "/admin revoke grant:1 reason:x",
        "/admin link member:alice account:ACC-5",
        "/admin code account:ACC-1",
        "/admin account member:bob",
        "/admin unanswered",
        "/admin",
        "/admin foo",
    ] {
        let text = w.refused("alice", line);
        assert!(
            text.starts_with("Only creditbot admins can "),
            "{line}: {text}"
        );
    }
    // Rights are checked before the options: a member learns nothing about them.
    for line in [
        "/admin grant",
        "/admin grant foo",
        "/admin grant member:alice amount:12.505",
        "/admin grant member:alice amount:5 colour:red",
    ] {
        let text = w.refused("alice", line);
        assert_eq!(
            text.trim_end(),
            "Only creditbot admins can grant credits. If you think you should be one, ask a server admin.",
            "{line}"
        );
    }
}

#[test]
fn a_badly_written_command_gets_an_example_of_that_command() {
    let w = world();
    let cases = [
        (
            "alice",
            "/expiry 60 days",
            "/expiry takes options as name:value, like /expiry days:60 (I couldn't read \"60\").",
        ),
        (
            "alice",
            "/balance extra",
            "/balance takes no options; just type /balance (I couldn't read \"extra\").",
        ),
        (
            ADMIN,
            "/admin grant alice",
            "/admin grant takes options as name:value, like /admin grant member:@alice amount:12.50 (I couldn't read \"alice\").",
        ),
        (
            ADMIN,
            "/admin",
            "/admin needs a subcommand: /admin grant, /admin revoke, /admin expiry, /admin link, /admin unlink, /admin code, /admin account, /admin history, /admin return, /admin unanswered, /admin reminders. /help shows their options.",
        ),
        (
            ADMIN,
            "/admin foo",
            "I don't know the command /admin foo. Admin commands: /admin grant, /admin revoke,",
        ),
    ];
    for (user, line, expected) in cases {
        let text = w.refused(user, line);
        assert!(text.starts_with(expected), "{line}: {text}");
    }
}

#[test]
fn bad_input_gets_a_clear_message_and_changes_nothing() {
    let w = world();
    let cases = [
        (
            "/admin grant member:alice amount:-5",
            "That amount is negative",
        ),
        (
            "/admin grant member:alice amount:12.505",
            "That amount has 3 decimals; credits use 2 (for example 12.50).",
        ),
        (
            "/admin grant member:alice amount:ten",
            "\"ten\" isn't an amount I can read",
        ),
        ("/admin grant member:alice amount:0", "That amount is zero"),
        (
            "/admin grant member:alice amount:5000",
            "over the $1,000.00 limit",
        ),
        (
            "/admin grant member:alice amount:5 expires:2026-02-30",
            "isn't a date I can read",
        ),
        (
            "/admin grant member:alice amount:5 expires:2020-01-01",
            "That date is in the past",
        ),
        (
            "/admin grant member:nobody amount:5",
            "@nobody isn't linked to a shop account",
        ),
        (
            "/admin grant member:alice amount:5 source:lottery",
            "isn't a kind of grant",
        ),
        (
            "/admin revoke grant:#999 reason:x",
            "I couldn't find grant #999",
        ),
        (
            "/admin expiry grant:1 date:yesterday reason:x",
            "isn't a date I can read",
        ),
        (
            "/admin return order:9999 return-id:R-9",
            "I couldn't find order 9999",
        ),
        (
            "/admin return order:7781 return-id:R-9 item:hobbit quantity:2",
            "1 bought and 0 already returned, so 2 more can't be returned",
        ),
        (
            "/admin return order:7781 return-id:R-9 item:kettle",
            "Order 7781 has no item \"kettle\". Its items: hobbit (hobbit (ebook)), lamp (lamp (lamp)).",
        ),
        (
            "/admin return order:7781 return-id:R-q quantity:2",
            "quantity: needs item: to say which item to return",
        ),
        ("/admin code account:NOPE", "I couldn't find account NOPE"),
        (
            "/admin link member:alice account:ACC-2",
            "already linked to account ACC-1",
        ),
        ("/order id:9999", "I couldn't find order 9999"),
        ("/link code:ZZZZ-ZZZZ", "I don't know that link code"),
        (
            "/expiry days:0",
            "days must be a whole number from 1 to 3650",
        ),
        ("/balance days:3", "/balance has no option days"),
        ("/refund", "I don't know the command /refund"),
        ("/order", "/order needs id:, for example id:7781"),
    ];
    for (line, expected) in cases {
        let user = if line.starts_with("/admin") {
            ADMIN
        } else {
            "alice"
        };
        let text = w.refused(user, line);
        assert!(
            text.contains(expected),
            "{line}: expected \"{expected}\", got \"{text}\""
        );
    }
}

#[test]
fn amounts_in_a_currency_without_decimals_are_refused_with_its_own_example() {
    let settings = creditbot::ledger::LedgerSettings {
        currency: creditbot::money::Currency::new("JPY", 0, usd(100_000)),
        ..creditbot::ledger::LedgerSettings::default()
    };
    let ledger = ledger_with(settings.clone());
    link(&ledger, "l1", "alice", "ACC-1");
    let assistant = Assistant::new(
        Arc::new(
            creditbot::ledger::Ledger::open(
                &ledger.dir.path().join("ledger.db"),
                &creditbot::config::DatabaseConfig::default(),
                settings,
            )
            .unwrap(),
        ),
        Arc::new(Faq::builtin().unwrap()),
        Admins {
            user_ids: vec![ADMIN.into()],
            role_ids: Vec::new(),
        },
    );
    for (amount, expected) in [
        (
            "12.50",
            "That amount has 2 decimals; credits use whole numbers only (for example 12).",
        ),
        (
            "ten",
            "\"ten\" isn't an amount I can read; write it like 12.",
        ),
    ] {
        let before = ledger.content_checksum().unwrap();
        let reply = assistant.handle(&Request {
            id: format!("jpy-{amount}"),
            who: Who {
                user_id: ADMIN.into(),
                display_name: ADMIN.into(),
                role_ids: Vec::new(),
            },
            place: Place::Console,
            now: now(),
            input: creditbot::console::parse_line(&format!(
                "/admin grant member:alice amount:{amount}"
            ))
            .unwrap()
            .unwrap(),
        });
        assert_eq!(reply.to_plain_text().trim_end(), expected);
        assert_eq!(ledger.content_checksum().unwrap(), before);
    }
}

#[test]
fn no_reply_exceeds_discords_limits_even_with_500_grants() {
    let w = world();
    for n in 0..500 {
        let expiry = if n % 2 == 0 {
            Expiry::InDays(1 + n % 40)
        } else {
            Expiry::Never
        };
        w.ledger
            .grant(
                &admin(&format!("bulk-{n}")),
                &grant_request("ACC-1", 1_00 + n as i64, expiry),
            )
            .unwrap();
    }
    for line in [
        "/balance",
        "/expiry days:3650",
        "/history",
        "/history page:30",
        "/help",
        "/order id:7781",
        "/faq topic:balance",
        "/faq topic:expiry",
    ] {
        for user in ["alice", ADMIN] {
            let reply = w.command(user, line);
            assert!(reply.within_limits(), "{line} by {user} is over a limit");
        }
    }
    let admin_view = w.command(ADMIN, "/admin account member:alice");
    assert!(admin_view.within_limits());
    assert!(
        admin_view.to_plain_text().contains("more grants"),
        "a long list says what it left out"
    );
    for question in [
        "how much credit do i have",
        "when do my credits expire",
        "what happens if i return my order",
    ] {
        let reply = w.ask("alice", Place::DirectMessage, Input::Text(question.into()));
        assert!(reply.within_limits(), "{question}");
    }
}

#[test]
fn an_unsure_answer_offers_both_topics_as_buttons() {
    let w = world();
    let reply = w.ask(
        "alice",
        Place::DirectMessage,
        Input::Text("credits??".into()),
    );
    assert_eq!(reply.text, "I'm not sure which you mean:");
    let choices: Vec<(&str, &str)> = reply
        .choices
        .iter()
        .map(|c| (c.id.as_str(), c.label.as_str()))
        .collect();
    assert_eq!(
        choices,
        [
            ("faq:balance", "How much credit do I have?"),
            ("faq:about", "What are digital credits?")
        ]
    );
    let pressed = w.ask(
        "alice",
        Place::DirectMessage,
        Input::Choice(reply.choices[0].id.clone()),
    );
    assert!(
        pressed.to_plain_text().contains("$37.52"),
        "the balance answer with her figures: {}",
        pressed.to_plain_text()
    );
}

// ---- Plain words, round two (issue 10): answer first, the question's own details,
// several questions at once, and commands typed as words.

/// A question asked in a private place (the console: dates read as plain text).
fn dm(w: &World, user: &str, question: &str) -> String {
    let reply = w.ask(user, Place::Console, Input::Text(question.into()));
    assert!(reply.private, "{question}: a private answer");
    reply.to_plain_text()
}

#[test]
fn personal_answers_put_the_members_own_figure_or_yes_no_first() {
    let w = world();
    // alice: $20.00 expiring 12 Dec, $15.00 on 30 Dec, $12.50 and $0.01 never; $9.99 of
    // the first spent on order 7781.
    let cases: &[(&str, &str)] = &[
        (
            "how much credit do i have",
            "You have $37.52 on account ACC-1. $10.01 of it expires on 12 Dec 2026 (in 16 days).",
        ),
        ("whats my bal", "You have $37.52 on account ACC-1."),
        ("chek balance", "You have $37.52 on account ACC-1."),
        ("check my balance plz", "You have $37.52 on account ACC-1."),
        (
            "when do my credits expire",
            "Your next credits to expire: $10.01 on 12 Dec 2026 (in 16 days).",
        ),
        (
            "can i give my credits to my brother",
            "No — your credits stay on account ACC-1, with $37.52",
        ),
        (
            "can i use my credit on a lamp?",
            "No — credits can't pay for physical items. You have $37.52",
        ),
        (
            "can i pay with credits and a card together",
            "Yes — you have $37.52",
        ),
        (
            "can i cash out my credits",
            "No — credits can't be cashed out or withdrawn. You have $37.52",
        ),
        (
            "where can i buy more credits",
            "No — credits can't be bought, but you have $37.52",
        ),
        (
            "what happens to my credits if i return something",
            "What returning your latest orders would give back:",
        ),
        ("were credits used on my orders", "Your latest orders:"),
    ];
    for (question, first) in cases {
        let text = dm(&w, "alice", question);
        assert!(text.starts_with(first), "{question}:\n{text}");
    }
}

#[test]
fn a_named_order_gets_its_breakdown_and_never_another_members() {
    let w = world();
    for question in [
        "was credit used on order 7781?",
        "order 7781",
        "#7781",
        "7781",
        "did my credits pay for order #7781",
    ] {
        let text = dm(&w, "alice", question);
        assert!(
            text.starts_with("Yes — credits paid $9.99 of order 7781, and Visa paid $24.99."),
            "{question}:\n{text}"
        );
        assert!(
            text.contains("The Hobbit") || text.contains("hobbit"),
            "{text}"
        );
    }
    // bob's order and an unknown one read the same: nothing about either.
    for order in ["9001", "1234"] {
        let text = dm(&w, "alice", &format!("was credit used on order {order}?"));
        assert_eq!(
            text.lines().next().unwrap(),
            format!(
                "I couldn't find order {order} on your account. /order lists your recent orders as you type."
            )
        );
        assert!(!text.contains("mug") && !text.contains("ACC-2"), "{text}");
    }
    // In public, no figures: a pointer to the private command.
    let public = w.ask(
        "alice",
        Place::Channel,
        Input::Text("was credit used on order 7781?".into()),
    );
    let text = public.to_plain_text();
    assert!(
        !text.contains("$9.99") && !text.contains("Hobbit"),
        "{text}"
    );
    assert!(text.contains("/order 7781"), "{text}");
}

#[test]
fn an_amount_and_a_date_in_an_expiry_question_get_a_yes_or_no_about_that_grant() {
    let w = world();
    // $20.00 (now $10.01 left) expires 12 Dec: before Christmas.
    let yes = dm(&w, "alice", "will my $20 expire before christmas?");
    assert!(
        yes.starts_with(
            "Yes — $10.01 (promotion) expires on 12 Dec 2026 (in 16 days), before christmas (25 Dec 2026)."
        ),
        "{yes}"
    );
    // The $15.00 grant expires on 30 Dec: not before Christmas.
    let no = dm(&w, "alice", "will my $15 expire before christmas");
    assert!(
        no.starts_with("No — none of your credits expires before christmas (25 Dec 2026). The soonest is $15.00 (promotion) on 30 Dec 2026 (in 34 days)."),
        "{no}"
    );
    // A date alone asks about all of them.
    let by_date = dm(&w, "alice", "does any of my credit expire by 2026-12-31?");
    assert!(
        by_date.starts_with("Yes — 2 of your grants expire"),
        "{by_date}"
    );
    // An amount no grant has is said so, then all grants' dates.
    let unknown = dm(&w, "alice", "when does my $99 credit expire");
    assert!(
        unknown.starts_with("I couldn't find a grant of $99.00 among your credits"),
        "{unknown}"
    );
}

#[test]
fn where_did_my_credits_go_lists_recent_changes_newest_first_with_the_balance() {
    let w = world();
    // The $20.00 grant expires on 12 Dec; ask on 20 Dec, before any sweep has run.
    let later = crate::common::day(12, 20);
    let reply = w.assistant.handle(&Request {
        id: "req-where".into(),
        who: Who {
            user_id: "alice".into(),
            display_name: "alice".into(),
            role_ids: Vec::new(),
        },
        place: Place::Console,
        now: later,
        input: Input::Text("my credits disappeared?? i had like 40 yesterday now its less".into()),
    });
    let text = reply.to_plain_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "You have $27.51 now. What changed recently, newest first:",
        "{text}"
    );
    assert!(
        lines[1].contains("12 Dec 2026") && lines[1].contains("-$10.01  expired"),
        "{text}"
    );
    assert!(
        lines[2].contains("-$9.99") && lines[2].contains("spent on order 7781"),
        "{text}"
    );
}

#[test]
fn who_gave_me_a_grant_names_its_source_and_reason() {
    let w = world();
    let text = dm(&w, "alice", "who gave me the $12.50 gift");
    assert!(
        text.starts_with(
            "$12.50 (grant #2) came as promotion on 26 Nov 2026: “test” — never expires."
        ),
        "{text}"
    );
    let all = dm(&w, "alice", "where did these credits come from");
    assert!(
        all.starts_with("Your latest grants, and where each came from:"),
        "{all}"
    );
    assert!(all.lines().count() >= 4, "{all}");
}

#[test]
fn several_questions_in_one_message_are_answered_in_the_order_asked() {
    let w = world();
    let both = dm(&w, "alice", "can i transfer credits and do they expire");
    let transfer = both
        .find("No — your credits stay on account ACC-1")
        .expect(&both);
    let expiry = both.find("Your next credits to expire").expect(&both);
    assert!(transfer < expiry, "{both}");
    let total_and_next = dm(&w, "alice", "how much do i have and when does it expire?");
    assert!(
        total_and_next.starts_with("You have $37.52"),
        "{total_and_next}"
    );
    assert!(
        total_and_next.contains("Your next credits to expire: $10.01"),
        "{total_and_next}"
    );
    // Public: both answers, general.
    let public = w
        .ask(
            "alice",
            Place::Channel,
            Input::Text("can i transfer credits and do they expire".into()),
        )
        .to_plain_text();
    assert!(
        public.contains("can't be moved") && public.contains("expire"),
        "{public}"
    );
    assert!(!public.contains("$"), "{public}");
}

#[test]
fn a_mention_in_a_transfer_question_reveals_nothing_about_the_other_member() {
    let w = world();
    let text = dm(&w, "alice", "can i send $10 of credits to <@bob>?");
    assert!(
        text.starts_with("No — your credits stay on account ACC-1"),
        "{text}"
    );
    assert!(!text.contains("ACC-2") && !text.contains("9001"), "{text}");
}

#[test]
fn new_topics_cash_buying_thanks_and_small_talk_are_answered_and_never_logged() {
    let w = world();
    let thanks = dm(&w, "alice", "thanks!!");
    assert!(thanks.starts_with("You're welcome!"), "{thanks}");
    let bye = dm(&w, "sam", "ok bye");
    assert!(
        !bye.contains("/link"),
        "small talk needs no link hint: {bye}"
    );
    let what = dm(&w, "sam", "what do you do exactly");
    assert!(
        what.contains("I answer questions about your digital credits"),
        "{what}"
    );
    let pool = dm(&w, "sam", "can two people pool their credits together");
    assert!(pool.contains("can't be moved to another account"), "{pool}");
    let ebook = dm(
        &w,
        "sam",
        "what happens to the credit if i send an ebook back",
    );
    assert!(ebook.contains("goes back to your account"), "{ebook}");
    let unanswered = w.text(ADMIN, "/admin unanswered");
    assert!(
        !unanswered.contains("thanks") && !unanswered.contains("bye"),
        "{unanswered}"
    );
}

#[test]
fn commands_typed_as_words_get_suggestions_bare_options_and_quote_hints() {
    let w = world();
    assert_eq!(
        w.refused("alice", "/balanc").trim_end(),
        "I don't know the command /balanc. Did you mean /balance?"
    );
    assert!(w.text("alice", "/expiry 30").contains("$10.01"));
    assert!(w.text("alice", "/history 1").contains("page 1 of"));
    assert!(w.text("alice", "/order #7781").contains("Order 7781"));
    assert_eq!(
        w.refused(
            ADMIN,
            "/admin grant member:alice amount:5 reason:late delivery"
        )
        .trim_end(),
        "Put a value with spaces in quotes: reason:\"late delivery\"."
    );
    // Typed in a DM, a command runs; in a channel it is not run in public.
    let dm_typed = dm(&w, "alice", "/balance");
    assert!(dm_typed.contains("Available  $37.52"), "{dm_typed}");
    let channel = w
        .ask("alice", Place::Channel, Input::Text("/balance".into()))
        .to_plain_text();
    assert!(!channel.contains("$37.52"), "{channel}");
    assert!(
        channel.contains("pick balance from Discord's command list"),
        "{channel}"
    );
    let typo = w
        .ask("alice", Place::Channel, Input::Text("/balanc".into()))
        .to_plain_text();
    assert!(typo.contains("Did you mean /balance?"), "{typo}");
    // A stray "1" after the buttons are gone is not a question to log.
    let stray = dm(&w, "alice", "1");
    assert!(stray.contains("That choice has expired"), "{stray}");
    let unanswered = w.text(ADMIN, "/admin unanswered");
    assert!(!unanswered.contains("\"1\""), "{unanswered}");
}

#[test]
fn an_order_paid_entirely_with_credits_does_not_mention_another_payment_method() {
    let w = world();
    w.ledger
        .record_order(
            "shop",
            now(),
            &order("7790", "ACC-1", vec![digital("song", 1_00, 1)]),
        )
        .unwrap();
    let text = w.text("alice", "/order 7790");
    assert!(!text.contains("another payment method"), "{text}");
    let mixed = w.text("alice", "/order 7781");
    assert!(
        mixed.contains("another payment method pays the rest"),
        "{mixed}"
    );
}

#[test]
fn a_returned_order_says_how_much_went_back_and_to_which_grants() {
    let w = world();
    w.text(ADMIN, "/admin return order:7781 return-id:R-1");
    let text = w.text("alice", "/order 7781");
    assert!(
        text.contains("1 of 1 returned, $9.99 back to credits (promotion #1)"),
        "{text}"
    );
    assert!(
        text.contains("1 of 1 returned, $24.99 back to the other payment method"),
        "{text}"
    );
}

// ----- issue 12: admins can't hurt members by mistake ----------------------------------------

#[test]
fn an_account_id_differing_only_in_capitals_is_refused_naming_the_existing_one() {
    let w = world();
    w.ledger
        .open_account(&admin("o2001"), &AccountId::new("ACC-2001"), "Carol")
        .unwrap();
    for (line, typed) in [
        ("/admin link member:carol account:acc-2001", "acc-2001"),
        (
            "/admin link member:carol account:acc-2001 create:true",
            "acc-2001",
        ),
        ("/admin code account:Acc-2001", "Acc-2001"),
        ("/admin account account:acc-2001", "acc-2001"),
    ] {
        assert_eq!(
            w.refused(ADMIN, line).trim_end(),
            format!(
                "{typed} differs from the existing account ACC-2001 only in capitals, and account ids ignore capitals; use ACC-2001."
            ),
            "{line}"
        );
    }
    // The ledger refuses the look-alike whoever asks (the shop's feed too).
    assert_eq!(
        w.ledger
            .open_account(&admin("o2001b"), &AccountId::new("acc-2001"), "Carol again")
            .unwrap_err()
            .as_user()
            .cloned(),
        Some(creditbot::error::UserError::AccountLookAlike {
            typed: "acc-2001".into(),
            existing: "ACC-2001".into(),
        })
    );
    assert!(
        w.text(ADMIN, "/admin link member:carol account:ACC-2001")
            .contains("Linked @carol to account ACC-2001.")
    );
}

#[test]
fn linking_to_an_account_that_does_not_exist_asks_for_create_and_odd_ids_are_refused() {
    let w = world();
    let missing = w.refused(ADMIN, "/admin link member:carol account:ACC-3000");
    assert_eq!(
        missing.trim_end(),
        "There's no account ACC-3000, so @carol wasn't linked. Check the id; if it's a new shop account, run /admin link member:@carol account:ACC-3000 create:true"
    );
    for line in [
        "/admin link member:carol account:\"weird id\" create:true",
        "/admin link member:carol account:\"weird id\"",
    ] {
        assert_eq!(
            w.refused(ADMIN, line).trim_end(),
            "\"weird id\" can't be an account id: use 1 to 64 letters (A-Z), digits, '-', '_' or '.', like ACC-1042.",
            "{line}"
        );
    }
    assert!(
        w.refused(
            ADMIN,
            "/admin link member:carol account:ACC-3000 create:maybe"
        )
        .contains("create must be true or false")
    );
    // Trimmed: the id as typed with spaces around is the same id.
    let created = w.text(
        ADMIN,
        "/admin link member:carol account:\" ACC-3000 \" create:true",
    );
    assert_eq!(
        created.trim_end(),
        "Linked @carol to account ACC-3000 (a new account, created as you asked)."
    );
    assert!(w.ledger.account(&AccountId::new("ACC-3000")).is_ok());
}

#[test]
fn admin_account_takes_a_member_or_an_account_id() {
    let w = world();
    let by_id = w.text(ADMIN, "/admin account account:ACC-1");
    assert!(
        by_id.starts_with("Credits of @alice · account ACC-1\nAvailable  $37.52"),
        "{by_id}"
    );
    w.ledger
        .open_account(&admin("o9"), &AccountId::new("ACC-9"), "Nine")
        .unwrap();
    let unlinked = w.text(ADMIN, "/admin account account:ACC-9");
    assert!(
        unlinked.starts_with("Credits of account ACC-9 · no member linked"),
        "{unlinked}"
    );
    assert!(unlinked.contains("no member is linked to it"), "{unlinked}");
    for line in [
        "/admin account",
        "/admin account member:alice account:ACC-1",
    ] {
        assert!(
            w.refused(ADMIN, line)
                .starts_with("/admin account needs either member: or account:"),
            "{line}"
        );
    }
    assert!(
        w.refused(ADMIN, "/admin account account:ACC-404")
            .contains("I couldn't find account ACC-404")
    );
}

#[test]
fn a_link_code_is_refused_for_a_linked_account() {
    let w = world();
    let text = w.refused(ADMIN, "/admin code account:ACC-1");
    let text = text.trim_end();
    assert!(
        text.starts_with("Account ACC-1 is linked to a member, so no link code is made for it")
            && text.ends_with("Unlink them first with /admin unlink."),
        "{text}"
    );
}

#[test]
fn a_code_made_before_a_member_linked_shows_their_history_to_nobody_after_they_unlink() {
    let w = world();
    w.ledger
        .open_account(&admin("o9"), &AccountId::new("ACC-9"), "Nine")
        .unwrap();
    // Made while nobody held the account…
    let code = w
        .ledger
        .issue_link_code(&admin("c9"), &AccountId::new("ACC-9"))
        .unwrap()
        .code;
    // …then dave is linked directly, gets credits and an order, and unlinks.
    w.text(ADMIN, "/admin link member:dave account:ACC-9");
    w.text(ADMIN, "/admin grant member:dave amount:5 reason:welcome");
    w.ledger
        .record_order(
            "shop",
            now(),
            &order("5150", "ACC-9", vec![digital("song", 1_00, 1)]),
        )
        .unwrap();
    w.ledger
        .unlink_member(&admin("u-dave"), &MemberId::new("dave"), "moving")
        .unwrap();
    // sam redeems the old code: refused, and sees nothing of dave's.
    let redeemed = w.refused("sam", &format!("/link code:{code}"));
    assert_eq!(
        redeemed.trim_end(),
        "That link code is no longer valid: its account was linked since the code was made. Ask an admin for a new one."
    );
    for line in ["/history", "/balance", "/order 5150"] {
        let text = w.text("sam", line);
        assert!(
            !text.contains("welcome") && !text.contains("$5.00") && !text.contains("song"),
            "{line}: {text}"
        );
    }
    // A new code, made knowingly, tells the admin whose history comes with it.
    let fresh = w.text(ADMIN, "/admin code account:ACC-9");
    assert!(
        fresh.contains("account ACC-9 was linked to @dave before"),
        "{fresh}"
    );
}

#[test]
fn a_note_reaches_admins_only_and_the_admin_is_told_which_words_the_member_reads() {
    let w = world();
    let granted = w.text(
        ADMIN,
        "/admin grant member:alice amount:5 reason:\"sorry for the wait\" note:\"ticket 4411, dup of #2?\"",
    );
    assert!(
        granted.contains("@alice sees the reason “sorry for the wait” in their history; your note is for admins only"),
        "{granted}"
    );
    let lot = granted
        .split("grant #")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .to_string();
    let revoked = w.text(
        ADMIN,
        &format!("/admin revoke grant:{lot} reason:\"granted twice\" note:dup"),
    );
    assert!(
        revoked.contains(
            "@alice sees the reason “granted twice” in their history; your note is for admins only"
        ),
        "{revoked}"
    );
    let plain = w.text(ADMIN, "/admin grant member:alice amount:1 reason:goodwill");
    assert!(
        plain.contains("@alice sees the reason “goodwill” in their history. For words only admins read, add note:"),
        "{plain}"
    );
    // The member's history, and their plain-words answers, never carry a note.
    for text in [
        w.text("alice", "/history"),
        w.text("alice", "where did my credits go?"),
    ] {
        assert!(
            !text.contains("ticket 4411") && !text.contains("dup"),
            "{text}"
        );
    }
    assert!(
        w.text("alice", "/history")
            .contains("revoked: granted twice"),
        "the reason is the member's"
    );
    let admin = w.text(ADMIN, "/admin history member:alice");
    assert!(
        admin.contains("granted: sorry for the wait (grant #")
            && admin.contains("· note: ticket 4411, dup of #2?"),
        "{admin}"
    );
    assert!(admin.contains("revoked: granted twice"), "{admin}");
    assert!(admin.contains("· note: dup"), "{admin}");
    // A bad note is refused before anything changes.
    let long = "x".repeat(201);
    let refused = w.refused(
        ADMIN,
        &format!("/admin grant member:alice amount:5 note:{long}"),
    );
    assert!(refused.contains("The note is too long"), "{refused}");
}

#[test]
fn expiry_changes_read_naturally_and_warn_when_they_shorten() {
    let w = world();
    let balance = w.ledger.balance(&AccountId::new("ACC-1"), now()).unwrap();
    // The $12.50 grant never expires; the soonest ($20.00) expires on 12 Dec.
    let never = balance
        .lots
        .iter()
        .find(|l| l.expires_at.is_none() && l.remaining == usd(12_50))
        .unwrap()
        .id;
    let soon = balance.lots[0].id;
    let to_never = w.text(
        ADMIN,
        &format!("/admin expiry grant:{soon} date:never reason:kind"),
    );
    assert!(
        to_never.starts_with(&format!(
            "Grant #{soon} now never expires (was 12 Dec 2026).\n@alice sees the reason “kind”"
        )),
        "{to_never}"
    );
    assert!(!to_never.contains("sooner"), "{to_never}");
    let shortened = w.text(
        ADMIN,
        &format!("/admin expiry grant:{never} date:2026-12-01 reason:\"policy\""),
    );
    assert!(
        shortened.starts_with(&format!(
            "Grant #{never} now expires 1 Dec 2026 (it never expired before).\n⚠ That's sooner than before: @alice has less time to spend the $12.50 left on it."
        )),
        "{shortened}"
    );
    let earlier = w.text(
        ADMIN,
        &format!("/admin expiry grant:{never} date:2026-11-30 reason:\"policy\""),
    );
    assert!(earlier.contains("⚠ That's sooner than before"), "{earlier}");
    let later = w.text(
        ADMIN,
        &format!("/admin expiry grant:{never} date:2027-01-30 reason:\"policy\""),
    );
    assert!(!later.contains("sooner"), "{later}");
}

#[test]
fn an_expiry_change_on_a_revoked_grant_is_refused() {
    let w = world();
    let lot = w
        .ledger
        .balance(&AccountId::new("ACC-1"), now())
        .unwrap()
        .lots[0]
        .id;
    w.text(ADMIN, &format!("/admin revoke grant:{lot} reason:oops"));
    let text = w.refused(
        ADMIN,
        &format!("/admin expiry grant:{lot} date:never reason:x"),
    );
    assert_eq!(
        text.trim_end(),
        format!(
            "Grant #{lot} was revoked, so there's no credit left on it whose expiry could change. Nothing was changed."
        )
    );
}

#[test]
fn admins_see_item_ids_and_return_an_item_by_its_id_or_title() {
    let w = world();
    let admin = w.text(ADMIN, "/order 7781");
    assert!(admin.contains("hobbit (ebook) [item hobbit]"), "{admin}");
    assert!(admin.contains("lamp (lamp) [item lamp]"), "{admin}");
    let member = w.text("alice", "/order 7781");
    assert!(!member.contains("[item"), "{member}");
    let by_title = w.text(
        ADMIN,
        "/admin return order:7781 return-id:R-5 item:\"Hobbit (ebook)\"",
    );
    assert!(
        by_title.contains("hobbit (ebook) ×1: $9.99 in credits"),
        "{by_title}"
    );
    let by_part = w.text(ADMIN, "/admin return order:7781 return-id:R-6 item:LAMP");
    assert!(
        by_part.contains("lamp (lamp) ×1: $24.99 refunded to Visa"),
        "{by_part}"
    );
    // On Discord the item is suggested as it is typed, from the order named.
    let who = Who {
        user_id: ADMIN.into(),
        display_name: ADMIN.into(),
        role_ids: Vec::new(),
    };
    let suggested = creditbot::assistant::suggest::suggest(
        &w.assistant,
        &who,
        now(),
        "admin return",
        "item",
        "hob",
        &[("order".into(), "7781".into())],
    );
    assert_eq!(
        suggested,
        vec![(
            "hobbit (ebook) · hobbit · ×1".to_string(),
            "hobbit".to_string()
        )]
    );
    let member_who = Who {
        user_id: "alice".into(),
        ..who
    };
    assert!(
        creditbot::assistant::suggest::suggest(
            &w.assistant,
            &member_who,
            now(),
            "admin return",
            "item",
            "",
            &[("order".into(), "7781".into())],
        )
        .is_empty()
    );
}

#[test]
fn admin_refusals_speak_to_the_admin_not_to_a_member() {
    let w = world();
    w.ledger
        .record_order(
            "shop",
            now(),
            &order(
                "7800",
                "ACC-2",
                vec![digital("tale-1", 1_00, 1), digital("tale-2", 1_00, 1)],
            ),
        )
        .unwrap();
    let cases = [
        (
            "/admin return order:9999 return-id:R-9",
            "I couldn't find order 9999. Check the number against the shop's records; orders reach creditbot through the shop's feed.",
        ),
        (
            "/order 9999",
            "I couldn't find order 9999. Check the number against the shop's records; orders reach creditbot through the shop's feed.",
        ),
        (
            "/admin return order:9999 return-id:R-9 item:hobbit",
            "I couldn't find order 9999. Check the number against the shop's records; orders reach creditbot through the shop's feed.",
        ),
        (
            "/admin return order:7800 return-id:R-9 item:tale",
            "\"tale\" matches more than one item of order 7800: tale-1 (tale-1 (ebook)), tale-2 (tale-2 (ebook)). Give item: the item's id.",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(w.refused(ADMIN, line).trim_end(), expected, "{line}");
    }
    // Whatever an admin command is refused for, it never reads as if to a member.
    let lot = w
        .ledger
        .balance(&AccountId::new("ACC-1"), now())
        .unwrap()
        .lots[0]
        .id;
    for line in [
        "/admin return order:9999 return-id:R-9".to_string(),
        "/admin return order:7781 return-id:R-9 item:kettle".to_string(),
        "/admin link member:carol account:NOPE".to_string(),
        "/admin code account:NOPE".to_string(),
        "/admin code account:ACC-1".to_string(),
        "/admin account account:NOPE".to_string(),
        "/admin grant member:stranger amount:5".to_string(),
        format!("/admin revoke grant:{lot} reason:x member:@bob"),
        "/admin revoke grant:999 reason:x".to_string(),
        format!("/admin expiry grant:{lot} date:2020-01-01 reason:x"),
        "/order 9999".to_string(),
    ] {
        let text = w.refused(ADMIN, &line).to_lowercase();
        for member_words in ["your ", "you ", "/order lists", "ask an admin"] {
            assert!(
                !text.contains(member_words),
                "{line}: \"{member_words}\" in {text}"
            );
        }
    }
}

#[test]
fn a_repeated_grant_asks_first_and_confirmed_twice_grants_once() {
    let w = world();
    let first = w.text(ADMIN, "/admin grant member:alice amount:5 reason:goodwill");
    assert!(
        first.starts_with("Granted $5.00 (goodwill) to @alice"),
        "{first}"
    );
    let balance = || {
        w.ledger
            .balance(&AccountId::new("ACC-1"), now())
            .unwrap()
            .available
    };
    assert_eq!(balance(), usd(42_52));
    let asked = w.command(ADMIN, "/admin grant member:alice amount:5 reason:goodwill");
    let question = asked.to_plain_text();
    assert!(
        question.starts_with("@alice was already granted $5.00 (goodwill) just now (grant #")
            && question.contains(
                "Grant the same again?\nConfirm within a minute; until then nothing changes."
            ),
        "{question}"
    );
    assert_eq!(
        asked
            .choices
            .iter()
            .map(|c| c.label.as_str())
            .collect::<Vec<_>>(),
        ["Grant again", "Cancel"]
    );
    assert_eq!(balance(), usd(42_52), "asking changes nothing");
    // Someone else can't answer it.
    let stranger = w.press("bob", &asked, "Grant again").to_plain_text();
    assert!(
        stranger.starts_with("That confirmation isn't one I can act on"),
        "{stranger}"
    );
    let yes = w.press(ADMIN, &asked, "Grant again").to_plain_text();
    assert!(
        yes.starts_with("Granted $5.00 (goodwill) to @alice"),
        "{yes}"
    );
    let again = w.press(ADMIN, &asked, "Grant again").to_plain_text();
    assert!(
        again.starts_with("That confirmation was already answered"),
        "{again}"
    );
    assert_eq!(balance(), usd(47_52), "confirmed twice, granted once");
    // A different reason, or another amount, is no repeat.
    assert!(
        w.text(
            ADMIN,
            "/admin grant member:alice amount:5 reason:\"late delivery\""
        )
        .starts_with("Granted")
    );
}

#[test]
fn a_large_grant_asks_first_and_a_declined_or_stale_confirmation_changes_nothing() {
    let w = world();
    let balance = || {
        w.ledger
            .balance(&AccountId::new("ACC-1"), now())
            .unwrap()
            .available
    };
    let asked = w.command(ADMIN, "/admin grant member:alice amount:150 reason:apology");
    assert!(
        asked.to_plain_text().starts_with(
            "Grant $150.00 to @alice? That's more than $100.00, so I'm checking first."
        ),
        "{asked:?}"
    );
    let no = w.press(ADMIN, &asked, "Cancel").to_plain_text();
    assert_eq!(no.trim_end(), "Cancelled; nothing was changed.");
    let late_yes = w.press(ADMIN, &asked, "Grant").to_plain_text();
    assert!(
        late_yes.starts_with("That confirmation was already answered"),
        "{late_yes}"
    );
    assert_eq!(balance(), usd(37_52));
    // A minute later the question is stale.
    let asked = w.command(ADMIN, "/admin grant member:alice amount:150 reason:apology");
    let stale = w
        .press_at(
            ADMIN,
            &asked,
            "Grant",
            now() + chrono::Duration::seconds(61),
        )
        .to_plain_text();
    assert!(
        stale.starts_with("That confirmation has expired"),
        "{stale}"
    );
    assert_eq!(balance(), usd(37_52));
    let asked = w.command(ADMIN, "/admin grant member:alice amount:150 reason:apology");
    let yes = w
        .press_at(
            ADMIN,
            &asked,
            "Grant",
            now() + chrono::Duration::seconds(59),
        )
        .to_plain_text();
    assert!(
        yes.starts_with("Granted $150.00 (apology) to @alice"),
        "{yes}"
    );
    assert_eq!(
        w.ledger
            .balance(
                &AccountId::new("ACC-1"),
                now() + chrono::Duration::minutes(1)
            )
            .unwrap()
            .available,
        usd(187_52)
    );
    // 100 itself is not "more than 100".
    assert!(
        w.text(ADMIN, "/admin grant member:bob amount:100")
            .starts_with("Granted $100.00")
    );
}

#[test]
fn a_retried_request_asks_the_same_question_which_is_accepted_once() {
    let w = world();
    let balance = || {
        w.ledger
            .balance(&AccountId::new("ACC-1"), now())
            .unwrap()
            .available
    };
    // Discord resends an interaction with its id; the retry arrives a moment later.
    let send = |at| {
        w.assistant.handle(&Request {
            id: "interaction-42".into(),
            who: Who {
                user_id: ADMIN.into(),
                display_name: ADMIN.into(),
                role_ids: Vec::new(),
            },
            place: Place::Console,
            now: at,
            input: creditbot::console::parse_line(
                "/admin grant member:alice amount:150 reason:apology",
            )
            .unwrap()
            .unwrap(),
        })
    };
    let asked = send(now());
    let retried = send(now() + chrono::Duration::seconds(2));
    assert!(
        retried
            .to_plain_text()
            .starts_with("Grant $150.00 to @alice?"),
        "{retried:?}"
    );
    assert_eq!(asked.choices, retried.choices, "the same question");
    let yes = w.press(ADMIN, &asked, "Grant").to_plain_text();
    assert!(yes.starts_with("Granted $150.00"), "{yes}");
    let again = w.press(ADMIN, &retried, "Grant").to_plain_text();
    assert!(
        again.starts_with("That confirmation was already answered"),
        "{again}"
    );
    assert_eq!(balance(), usd(187_52), "granted once");
}

#[test]
fn a_large_revoke_asks_first() {
    let w = world();
    let lot = w
        .ledger
        .grant(&admin("g80"), &grant_request("ACC-1", 80_00, Expiry::Never))
        .unwrap()
        .id;
    let asked = w.command(ADMIN, &format!("/admin revoke grant:{lot} reason:mistake"));
    assert!(
        asked.to_plain_text().starts_with(&format!(
            "Revoke grant #{lot}, taking back $80.00 from @alice? That's more than $50.00, so I'm checking first."
        )),
        "{asked:?}"
    );
    assert_eq!(
        w.ledger
            .balance(&AccountId::new("ACC-1"), now())
            .unwrap()
            .available,
        usd(117_52)
    );
    let yes = w.press(ADMIN, &asked, "Revoke").to_plain_text();
    assert!(yes.contains("$80.00 taken back"), "{yes}");
    assert_eq!(
        w.ledger
            .balance(&AccountId::new("ACC-1"), now())
            .unwrap()
            .available,
        usd(37_52)
    );
}

/// Issue 11: a revoke's reply once said "$88.00 taken back" when the journal recorded $26.50,
/// because its figures were read beside the write. Orders now spend the grant while the
/// revoke runs; every reply must name exactly what the journal's revoke entry took.
#[test]
fn a_revoke_reply_names_what_its_own_write_took_under_concurrent_orders() {
    let w = world();
    let orders = reopen(&w.ledger);
    for round in 0..12 {
        let lot = w
            .ledger
            .grant(
                &admin(&format!("race-{round}")),
                &grant_request("ACC-2", 45_00, Expiry::Never),
            )
            .unwrap()
            .id;
        let reply = std::thread::scope(|scope| {
            let spender = scope.spawn(|| {
                for n in 0..8 {
                    // Refused once the grant is gone: what matters is that some land meanwhile.
                    let _ = orders.record_order(
                        "shop",
                        now(),
                        &order(
                            &format!("race-{round}-{n}"),
                            "ACC-2",
                            vec![digital("zine", 1_50, 1)],
                        ),
                    );
                }
            });
            let reply = w.text(ADMIN, &format!("/admin revoke grant:{lot} reason:race"));
            spender.join().unwrap();
            reply
        });
        let journal = w.ledger.history(&AccountId::new("ACC-2"), 1, 100).unwrap();
        let revoke = journal
            .entries
            .iter()
            .find(|e| e.kind == creditbot::ledger::JournalKind::Revoke && e.lot_id == Some(lot))
            .unwrap_or_else(|| panic!("no revoke entry: {reply}"));
        let taken = usd_text(-revoke.amount.minor());
        assert!(
            reply.contains(&format!("{taken} taken back")),
            "round {round}: the journal took {taken}, the reply says: {reply}"
        );
    }
}

/// `cents` as the replies write dollars: `$12.50`.
fn usd_text(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

/// Found by the simulation: a revoke that asked first, retried after the grant had shrunk
/// below the threshold, must ask the same question again, not revoke unasked.
#[test]
fn a_retried_request_that_asked_asks_again_even_when_its_figures_have_moved() {
    let w = world();
    let lot = w
        .ledger
        .grant(&admin("g80"), &grant_request("ACC-1", 80_00, Expiry::Never))
        .unwrap()
        .id;
    let revoke = Request {
        id: "retried-revoke".into(),
        who: Who {
            user_id: ADMIN.into(),
            display_name: ADMIN.into(),
            role_ids: Vec::new(),
        },
        place: Place::Console,
        now: now(),
        input: creditbot::console::parse_line(&format!("/admin revoke grant:{lot} reason:mistake"))
            .unwrap()
            .unwrap(),
    };
    let asked = w.assistant.handle(&revoke);
    assert!(
        asked.to_plain_text().starts_with("Revoke grant"),
        "{asked:?}"
    );
    // The member spends most of it: what is left is now below the $50.00 threshold.
    w.ledger
        .record_order(
            "shop",
            now(),
            &order("8100", "ACC-1", vec![digital("atlas", 110_00, 1)]),
        )
        .unwrap();
    let before = w
        .ledger
        .balance(&AccountId::new("ACC-1"), now())
        .unwrap()
        .available;
    assert!(w.ledger.lot(lot).unwrap().remaining < usd(50_00));
    let again = w.assistant.handle(&revoke);
    assert_eq!(again, asked, "the same question, the same buttons");
    assert_eq!(
        w.ledger
            .balance(&AccountId::new("ACC-1"), now())
            .unwrap()
            .available,
        before
    );
    assert!(
        !w.ledger.lot(lot).unwrap().revoked,
        "nothing revoked unasked"
    );
}

#[test]
fn the_console_answers_a_confirmation_with_yes_or_no() {
    let w = world();
    let session = creditbot::console::Session::new("alice", false, Some(now()));
    let mut pending = Vec::new();
    let asked = creditbot::console::answer_line(&w.assistant, &session, 1, "/unlink", &mut pending)
        .unwrap();
    assert!(asked.ends_with("Type yes or no.\n"), "{asked}");
    let no =
        creditbot::console::answer_line(&w.assistant, &session, 2, "no", &mut pending).unwrap();
    assert!(no.starts_with("Cancelled"), "{no}");
    assert!(
        w.ledger
            .account_for_member(&MemberId::new("alice"))
            .unwrap()
            .is_some()
    );
    creditbot::console::answer_line(&w.assistant, &session, 3, "/unlink", &mut pending).unwrap();
    let yes =
        creditbot::console::answer_line(&w.assistant, &session, 4, "yes", &mut pending).unwrap();
    assert!(yes.starts_with("Unlinked from account ACC-1"), "{yes}");
    assert!(
        w.ledger
            .account_for_member(&MemberId::new("alice"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn reminders_show_the_setting_and_turn_off_on_and_move() {
    let w = world();
    let shown = w.text("alice", "/reminders");
    assert!(
        shown.starts_with("Expiry reminders are on: a private message 7 days and 1 day before"),
        "{shown}"
    );
    let off = w.text("alice", "/reminders off");
    assert!(off.starts_with("Done — no more expiry reminders."), "{off}");
    assert!(
        !w.ledger
            .member_reminders(&MemberId::new("alice"))
            .unwrap()
            .enabled
    );
    assert!(
        w.text("alice", "/reminders")
            .starts_with("Expiry reminders are off")
    );
    let on = w.text("alice", "/reminders on");
    assert!(on.contains("7 days and 1 day"), "{on}");
    let three = w.text("alice", "/reminders days:3");
    assert!(three.contains("3 days and 1 day before"), "{three}");
    assert_eq!(
        w.ledger
            .member_reminders(&MemberId::new("alice"))
            .unwrap()
            .days_before,
        Some(3)
    );
    // Another member's setting is theirs alone.
    assert!(
        w.ledger
            .member_reminders(&MemberId::new("bob"))
            .unwrap()
            .enabled
    );
    assert_eq!(
        w.ledger
            .member_reminders(&MemberId::new("bob"))
            .unwrap()
            .days_before,
        None
    );
}

#[test]
fn reminders_refuse_days_out_of_range_and_unknown_settings() {
    let w = world();
    let text = w.refused("alice", "/reminders days:61");
    assert!(text.contains("61"), "{text}");
    let text = w.refused("alice", "/reminders set:maybe");
    assert!(text.contains("isn't on or off"), "{text}");
    let text = w.refused("alice", "/reminders set:off days:3");
    assert!(text.contains("don't go together"), "{text}");
}

#[test]
fn admin_reminders_shows_the_last_run_and_what_is_due_only_to_admins() {
    let w = world();
    let refused = w.refused("alice", "/admin reminders");
    assert!(
        refused.starts_with("Only creditbot admins can see reminder runs"),
        "{refused}"
    );
    let status = w.text(ADMIN, "/admin reminders");
    assert!(
        status.starts_with("No reminder run has sent anything yet."),
        "{status}"
    );
    // alice's $10.01 expires on 12 Dec: within 7 days on 6 Dec.
    let run = w.ledger.start_reminder_run(now()).unwrap();
    w.ledger
        .finish_reminder_run(
            run,
            now(),
            (3, 1, 1),
            &serde_json::json!({
                "skipped": { "reminders turned off": 1 },
                "failed": [{ "member": "carol", "reason": "Discord can't DM them (50007)" }],
            }),
        )
        .unwrap();
    let status = w.text(ADMIN, "/admin reminders");
    assert!(
        status.starts_with("Last run 26 Nov 2026 (today): 3 sent, 1 skipped, 1 failed."),
        "{status}"
    );
    assert!(
        status.contains("skipped 1: reminders turned off"),
        "{status}"
    );
    assert!(
        status.contains("failed @carol: Discord can't DM them (50007)"),
        "{status}"
    );
    assert!(status.contains("Next run 26 Nov 2026"), "{status}");
    assert!(status.contains("0 messages due now"), "{status}");
}

#[test]
fn expiry_answers_say_which_credits_never_expire() {
    let w = world();
    let expiry = w.text("alice", "/expiry");
    assert!(
        expiry.contains("$12.50 promotion and $0.01 promotion never expire."),
        "{expiry}"
    );
    let faq = w.text("alice", "do my credits expire?");
    assert!(!faq.contains("Each grant has its own expiry date"), "{faq}");
    assert!(faq.contains("never expire"), "{faq}");
}
