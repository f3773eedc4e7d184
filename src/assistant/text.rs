//! The sentences members and admins read, and how amounts, dates and members are written.
//! Kept together so the voice stays one; handlers pick a sentence and fill in figures.

use chrono::{DateTime, Utc};

use crate::error::UserError;
use crate::ledger::{HistoryEntry, JournalKind, Lot, LotShare, Source};
use crate::money::{Credits, Currency};
pub use crate::words::{CREDITS_PAY_FOR, Style, relative_days};

/// Within this many days an expiry is "soon": it gets a warning sign and counts in the
/// "Expiring within 30 days" total (both by `is_soon`, as the ledger's `expiring_within`).
pub const SOON_DAYS: i64 = 30;

/// True when `at` is at most `SOON_DAYS` days after `now`, the same bound as the ledger's
/// `Balance::expiring_within`, so a warned grant is always in the total and vice versa.
pub fn is_soon(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    at <= now + chrono::Duration::days(SOON_DAYS)
}

pub const NOT_TRANSFERABLE: &str =
    "Credits can't be moved to another account: only the account that holds them can spend them.";
pub const SOONEST_FIRST: &str = "soonest first when you buy.";

/// "promotion", or "refund, order 7781" for a refund lot.
pub fn source_label(lot: &Lot) -> String {
    match (&lot.source, &lot.refund_of_order) {
        (Source::Refund, Some(order)) => format!("refund, order {order}"),
        (source, _) => source.as_str().to_string(),
    }
}

/// Which credits of a balance never expire: "$5.00 goodwill never expires." or "$5.00
/// goodwill and $3.00 gift never expire."; `None` when every one has a date.
pub fn never_expiring(balance: &crate::ledger::Balance, currency: &Currency) -> Option<String> {
    let lots: Vec<String> = balance
        .lots
        .iter()
        .filter(|lot| lot.expires_at.is_none())
        .map(|lot| format!("{} {}", currency.format(lot.remaining), source_label(lot)))
        .collect();
    let (verb, list) = match lots.as_slice() {
        [] => return None,
        [one] => ("never expires", one.clone()),
        [rest @ .., last] if rest.len() < 4 => {
            ("never expire", format!("{} and {last}", rest.join(", ")))
        }
        _ => {
            let total: Credits = balance
                .lots
                .iter()
                .filter(|lot| lot.expires_at.is_none())
                .map(|lot| lot.remaining)
                .sum();
            return Some(format!(
                "{} of your credits, from {} grants, never expire.",
                currency.format(total),
                lots.len()
            ));
        }
    };
    Some(format!("{list} {verb}."))
}

/// "expires 12 Dec 2026 (in 16 days)  ⚠ soon", or "never expires".
pub fn expiry_phrase(lot: &Lot, now: DateTime<Utc>, style: Style) -> String {
    match lot.expires_at {
        None => "never expires".into(),
        Some(at) => {
            let soon = is_soon(at, now);
            format!(
                "expires {}{}",
                style.date_relative(at, now),
                if soon { "  ⚠ soon" } else { "" }
            )
        }
    }
}

/// One lot as a line of the balance card.
pub fn lot_line(
    lot: &Lot,
    currency: &Currency,
    now: DateTime<Utc>,
    style: Style,
    with_id: bool,
) -> String {
    let id = if with_id {
        format!("#{} ", lot.id)
    } else {
        String::new()
    };
    format!(
        "{id}{}  {}  {}",
        currency.format(lot.remaining),
        source_label(lot),
        expiry_phrase(lot, now, style)
    )
}

/// One journal entry in plain words.
pub fn history_line(entry: &HistoryEntry, currency: &Currency, style: Style) -> String {
    let amount = if entry.amount.is_zero() {
        String::new()
    } else if entry.amount.is_positive() {
        format!("+{}  ", currency.format(entry.amount))
    } else {
        format!("{}  ", currency.format(entry.amount))
    };
    let grant = entry
        .lot_id
        .map(|id| format!(" (grant #{id})"))
        .unwrap_or_default();
    let order = entry.order_external_id.as_deref().unwrap_or("?");
    let what = match entry.kind {
        JournalKind::Grant => format!("granted: {}{grant}", entry.reason),
        JournalKind::Spend => format!("spent on order {order}{grant}"),
        JournalKind::Refund => format!("back from a return of order {order}{grant}"),
        JournalKind::Reissue => format!("reissued from a return of order {order}{grant}"),
        JournalKind::Revoke => format!("revoked: {}{grant}", entry.reason),
        JournalKind::Expire => format!("expired{grant}"),
        JournalKind::ExpiryChange => match entry
            .detail
            .as_deref()
            .and_then(|d| expiry_change(d, style))
        {
            Some((from, to)) => format!(
                "expiry changed from {from} to {to}: {}{grant}",
                entry.reason
            ),
            None => format!("expiry changed: {}{grant}", entry.reason),
        },
        JournalKind::Link => "linked to a Discord member".into(),
        JournalKind::Unlink => "unlinked from a Discord member".into(),
        JournalKind::Open => "account opened".into(),
        JournalKind::LinkCode => "link code issued".into(),
        JournalKind::Close => format!("account closed: {}", entry.reason),
    };
    // Present only in an admin's history (`Ledger::admin_history`).
    let note = entry
        .note
        .as_deref()
        .map(|note| format!(" · note: {note}"))
        .unwrap_or_default();
    format!("{}  {amount}{what}{note}", style.date(entry.at))
}

/// An admin moved a grant's expiry: "Grant #57 now never expires (it was to expire on
/// 12 Dec 2026)", "Grant #57 now expires 31 Jan 2027 (was 12 Dec 2026)".
pub fn expiry_changed(
    grant: i64,
    before: Option<DateTime<Utc>>,
    after: Option<DateTime<Utc>>,
    style: Style,
) -> String {
    let was = match before {
        Some(at) => format!("was {}", style.date(at)),
        None => "it never expired before".into(),
    };
    match after {
        Some(at) => format!("Grant #{grant} now expires {} ({was}).", style.date(at)),
        None => format!("Grant #{grant} now never expires ({was})."),
    }
}

/// The warning after an expiry was brought forward.
pub fn expiry_shortened(member: &str, left: &str) -> String {
    format!("⚠ That's sooner than before: {member} has less time to spend the {left} left on it.")
}

/// Ends every confirmation question.
pub const CONFIRM_WITHIN: &str = "Confirm within a minute; until then nothing changes.";
pub const CONFIRMATION_DECLINED: &str = "Cancelled; nothing was changed.";

/// A member's `/unlink`, before it happens.
pub fn confirm_unlink(account: &str) -> String {
    format!(
        "Unlink your Discord account from shop account {account}? Its credits stay on the account, but only an admin can link you again."
    )
}

/// A grant above the configured amount, before it happens.
pub fn confirm_large_grant(amount: &str, member: &str, above: &str) -> String {
    format!("Grant {amount} to {member}? That's more than {above}, so I'm checking first.")
}

/// A grant like one made minutes ago, before it happens.
pub fn confirm_repeat_grant(
    amount: &str,
    reason: &str,
    member: &str,
    earlier: i64,
    minutes_ago: i64,
) -> String {
    let when = match minutes_ago {
        ..=0 => "just now".to_string(),
        n => format!("{} ago", crate::words::count(n as u32, "minute")),
    };
    format!(
        "{member} was already granted {amount} ({reason}) {when} (grant #{earlier}). Grant the same again?"
    )
}

/// A revoke above the configured amount, before it happens.
pub fn confirm_large_revoke(grant: i64, amount: &str, member: &str, above: &str) -> String {
    format!(
        "Revoke grant #{grant}, taking back {amount} from {member}? That's more than {above}, so I'm checking first."
    )
}

/// Tells the admin, after a grant, revoke or expiry change, which words the member will read.
pub fn who_reads_what(member: &str, reason: &str, note: Option<&str>) -> String {
    match note {
        Some(_) => format!(
            "{member} sees the reason “{reason}” in their history; your note is for admins only (/admin history shows it)."
        ),
        None => format!(
            "{member} sees the reason “{reason}” in their history. For words only admins read, add note:…"
        ),
    }
}

/// The ledger's detail of an expiry change, "<RFC 3339 or never> -> <RFC 3339 or never>",
/// as the dates a person reads: ("31 Jan 2027", "never"). `None` if it isn't in that form.
fn expiry_change(detail: &str, style: Style) -> Option<(String, String)> {
    let side = |text: &str| -> Option<String> {
        let text = text.trim();
        if text == "never" {
            return Some("never".into());
        }
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| style.date(at.with_timezone(&Utc)))
    };
    let (from, to) = detail.split_once("->")?;
    Some((side(from)?, side(to)?))
}

/// How many grants an order line names before "and N more".
const SHARES_SHOWN: usize = 4;

/// What credits paid for an order line, grant by grant: "paid with credits: $9.99
/// (promotion)" from one grant, "paid with credits: $9.99 — $5.00 promotion, $4.99 gift"
/// from several (at most `SHARES_SHOWN` named, so a line stays short).
pub fn credits_paid(total: Credits, shares: &[LotShare], currency: &Currency) -> String {
    let total = currency.format(total);
    match shares {
        [] => format!("paid with credits: {total}"),
        [one] => format!("paid with credits: {total} ({})", one.source.as_str()),
        many => {
            let mut named: Vec<String> = many
                .iter()
                .take(SHARES_SHOWN)
                .map(|share| {
                    format!(
                        "{} {}",
                        currency.format(share.amount),
                        share.source.as_str()
                    )
                })
                .collect();
            if many.len() > SHARES_SHOWN {
                let rest: Credits = many[SHARES_SHOWN..].iter().map(|s| s.amount).sum();
                named.push(format!(
                    "{} from {} more grants",
                    currency.format(rest),
                    many.len() - SHARES_SHOWN
                ));
            }
            format!("paid with credits: {total} — {}", named.join(", "))
        }
    }
}

/// A public answer to a question naming an order: its figures are for private places.
pub fn order_privately(order: &str) -> String {
    format!("Use /order {order} to see that order's breakdown privately.")
}

/// An order the asker named that isn't theirs, or doesn't exist: the same words for both.
pub fn order_not_on_your_account(order: &str) -> String {
    format!(
        "I couldn't find order {order} on your account. /order lists your recent orders as you type."
    )
}

/// The first line of "were credits used on order 7781?": yes or no, and how much.
pub fn order_credits_used(
    order: &str,
    applied: Credits,
    other: Credits,
    method: Option<&str>,
    currency: &Currency,
) -> String {
    let method = method.unwrap_or("another payment method");
    match (applied.is_positive(), other.is_positive()) {
        (true, true) => format!(
            "Yes — credits paid {} of order {order}, and {method} paid {}.",
            currency.format(applied),
            currency.format(other)
        ),
        (true, false) => format!(
            "Yes — order {order} was paid entirely with credits ({}).",
            currency.format(applied)
        ),
        (false, _) => format!(
            "No — order {order} used no credits; {method} paid {}.",
            currency.format(other)
        ),
    }
}

/// Credit that expired but has not been swept into the journal yet, as a history line
/// dated when it expired.
pub fn unswept_expiry_line(
    lot: &Lot,
    at: DateTime<Utc>,
    currency: &Currency,
    style: Style,
) -> String {
    format!(
        "{}  -{}  expired (grant #{})",
        style.date(at),
        currency.format(lot.remaining),
        lot.id
    )
}

/// "Where did my credits go?": today's balance first, then the recent changes.
pub fn recent_changes(balance: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return format!(
            "You have {balance} now, and nothing has been spent, expired or taken back yet. /history shows every change."
        );
    }
    format!(
        "You have {balance} now. What changed recently, newest first:\n{}\n/history shows every change.",
        lines.join("\n")
    )
}

/// One grant with where it came from and the reason the member may read.
pub fn grant_source_line(
    lot: &Lot,
    now: DateTime<Utc>,
    currency: &Currency,
    style: Style,
) -> String {
    let source = match lot.source {
        Source::Goodwill => "goodwill from the shop's staff".to_string(),
        _ => source_label(lot),
    };
    let reason = if lot.reason.trim().is_empty() || lot.reason == lot.source.as_str() {
        String::new()
    } else {
        format!(": “{}”", lot.reason)
    };
    let left = if lot.remaining == lot.amount {
        String::new()
    } else {
        format!(", {} left", currency.format(lot.remaining))
    };
    format!(
        "{} (grant #{}) came as {source} on {}{reason}{left} — {}.",
        currency.format(lot.amount),
        lot.id,
        style.date(lot.granted_at),
        expiry_phrase(lot, now, style)
    )
}

/// "Who gave me these credits?" without an amount, or with one no grant has.
pub fn grant_sources(missing: Option<&str>, lines: &[String]) -> String {
    let head = match missing {
        Some(amount) => {
            format!("I couldn't find a grant of {amount} on your account. Your latest grants:")
        }
        None => "Your latest grants, and where each came from:".to_string(),
    };
    format!("{head}\n{}", lines.join("\n"))
}

/// An expiry question naming an amount no live grant has.
pub fn no_grant_of(amount: &str) -> String {
    format!("I couldn't find a grant of {amount} among your credits, so here are all of them.")
}

/// The date words of a question with the date they mean: "before christmas (25 Dec 2026)",
/// "next month (1 Jan 2027 – 31 Jan 2027)".
pub fn date_words(date: &crate::faq::DateMention, style: Style) -> String {
    use crate::faq::DateRelation;
    let day = |d: chrono::NaiveDate| style.date(d.and_time(chrono::NaiveTime::MIN).and_utc());
    let meant = match date.relation {
        DateRelation::Before => day(date.from),
        DateRelation::By => day(date.to),
        DateRelation::On if date.from == date.to => day(date.from),
        DateRelation::On => format!("{} – {}", day(date.from), day(date.to)),
    };
    format!("{} ({meant})", date.text)
}

/// Yes: these grants expire within the asked time.
pub fn expires_in_window_yes(when: &str, grants: &[(String, String)]) -> String {
    match grants {
        [(grant, date)] => format!("Yes — {grant} expires on {date}, {when}."),
        many => {
            let lines: Vec<String> = many
                .iter()
                .map(|(grant, date)| format!("  {grant} on {date}"))
                .collect();
            format!(
                "Yes — {} of your grants expire {when}:\n{}",
                many.len(),
                lines.join("\n")
            )
        }
    }
}

/// No: nothing expires within the asked time; the soonest expiry, if any.
pub fn expires_in_window_no(when: &str, soonest: Option<(String, String)>) -> String {
    match soonest {
        Some((grant, date)) => {
            format!("No — none of your credits expires {when}. The soonest is {grant} on {date}.")
        }
        None => {
            format!("No — none of your credits expires {when}: none of them has an expiry date.")
        }
    }
}

/// What a return of an order line gave back: "1 of 1 returned, $9.99 back to your
/// credits (promotion #3)" — to the grants that had paid for it.
pub fn returned_part(item: &crate::ledger::ItemBreakdown, currency: &Currency) -> String {
    let mut out = format!("{} of {} returned", item.returned_quantity, item.quantity);
    if item.credits_returned.is_positive() {
        let grants: Vec<String> = item
            .credits_by_lot
            .iter()
            .map(|share| format!("{} #{}", share.source.as_str(), share.lot_id))
            .collect();
        out.push_str(&format!(
            ", {} back to credits ({})",
            currency.format(item.credits_returned),
            grants.join(", ")
        ));
    }
    if item.other_returned.is_positive() {
        out.push_str(&format!(
            ", {} back to the other payment method",
            currency.format(item.other_returned)
        ));
    }
    out
}

pub fn not_linked_hint() -> &'static str {
    "Ask an admin for a link code, then run /link code:XXXX-XXXX."
}

pub fn no_credits(account: &str) -> String {
    format!(
        "Your account {account} has no credits right now. Credits come as gifts, promotions or refunds of returned purchases."
    )
}

/// An admin looking at an account that has no credits; `member` holds it, if anyone does.
pub fn member_has_no_credits(account: &str, member: Option<&str>) -> String {
    match member {
        Some(member) => format!(
            "Account {account} has no credits right now. To give {member} some, use /admin grant member:{member} amount:…"
        ),
        None => format!(
            "Account {account} has no credits right now, and no member is linked to it: link one with /admin link member:… account:{account}"
        ),
    }
}

/// The title of an admin's view of an account: whose it is, when a member holds it.
pub fn account_card_title(account: &str, member: Option<&str>) -> String {
    match member {
        Some(member) => format!("Credits of {member} · account {account}"),
        None => format!("Credits of account {account} · no member linked"),
    }
}

/// The footer of an admin's view of an account.
pub fn admin_account_footer(member: Option<&str>) -> String {
    match member {
        Some(member) => format!(
            "Grant numbers are for /admin revoke and /admin expiry · /admin history member:{member}"
        ),
        None => "Grant numbers are for /admin revoke and /admin expiry".into(),
    }
}

/// An admin linked a member to an account.
pub fn linked(member: &str, account: &str, created: bool) -> String {
    if created {
        format!("Linked {member} to account {account} (a new account, created as you asked).")
    } else {
        format!("Linked {member} to account {account}.")
    }
}

/// A link code made for an account another member held before: its redeemer will read that
/// member's history, so the admin is told before handing the code out.
pub fn code_shows_earlier_history(account: &str, earlier: &str) -> String {
    format!(
        "Note: account {account} was linked to {earlier} before. Whoever redeems this code sees the account's whole history and orders, including from that time, so give it only to the account's owner."
    )
}

pub fn transfer_answer(account: &str, available: Credits, currency: &Currency) -> String {
    format!(
        "{NOT_TRANSFERABLE} Yours ({account}) has {} available for digital purchases.",
        currency.format(available)
    )
}

/// A refusal as chat reads it: the sentence every door shares, then, where a chat command
/// helps, that command; members and admins each get the one they can run.
pub fn refusal(refusal: &UserError, admin: bool) -> String {
    let sentence = refusal.to_string();
    match chat_hint(refusal, admin) {
        Some(hint) => format!("{sentence} {hint}"),
        None => sentence,
    }
}

fn chat_hint(refusal: &UserError, admin: bool) -> Option<String> {
    Some(match (refusal, admin) {
        (UserError::UnknownAccount(id), true) => {
            format!("A new one is created by /admin link member:… account:{id} create:true.")
        }
        (UserError::AlreadyLinked(_), _) => {
            "Run /unlink first if you want to link another one.".into()
        }
        (UserError::MemberAlreadyLinked(_) | UserError::CodeForLinkedAccount(_), true) => {
            "Unlink them first with /admin unlink.".into()
        }
        (UserError::LinkCodeAlreadyIssued, true) => "Run /admin code again for a new one.".into(),
        (UserError::UnknownGrant(_), true) => "/admin account lists a member's grants.".into(),
        (UserError::UnknownOrder(_), false) => {
            "/order lists your recent orders as you type.".into()
        }
        _ => return None,
    })
}

/// The one apology, at every door that answers in chat or the console.
pub fn internal_error(reference: &crate::error::Reference) -> String {
    format!(
        "Sorry, something went wrong on my side. If it keeps happening, give an admin this reference: {reference}."
    )
}

/// Wraps lines into a block of at most `max_chars`, ending with `more(n)` when lines were left out.
pub fn pack_lines(lines: &[String], max_chars: usize, more: impl Fn(usize) -> String) -> String {
    let mut out = String::new();
    for (n, line) in lines.iter().enumerate() {
        let tail = more(lines.len() - n);
        let needed = out.chars().count() + line.chars().count() + 1;
        let room_for_tail = if n + 1 < lines.len() {
            tail.chars().count() + 1
        } else {
            0
        };
        if needed + room_for_tail > max_chars {
            out.push_str(&tail);
            return out;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
    }

    #[test]
    fn dates_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        assert_eq!(
            Style::Plain.date_relative(at(12, 10), now),
            "12 Dec 2026 (in 16 days)"
        );
        assert_eq!(Style::Plain.date(at(1, 0)), "1 Dec 2026");
        assert_eq!(
            relative_days(now + chrono::Duration::hours(3), now),
            "today"
        );
        assert_eq!(
            relative_days(now + chrono::Duration::hours(20), now),
            "tomorrow"
        );
        assert_eq!(
            relative_days(now - chrono::Duration::hours(12), now),
            "yesterday"
        );
        assert_eq!(
            relative_days(now - chrono::Duration::days(3), now),
            "3 days ago"
        );
        assert_eq!(
            Style::Discord.date_relative(at(12, 10), now),
            format!("<t:{0}:D> (<t:{0}:R>)", at(12, 10).timestamp())
        );
    }

    #[test]
    fn an_expiry_change_in_the_history_reads_as_dates() {
        let entry = HistoryEntry {
            id: 1,
            kind: JournalKind::ExpiryChange,
            amount: Credits::ZERO,
            lot_id: Some(9),
            order_external_id: None,
            detail: Some("2027-01-31T00:00:00Z -> never".into()),
            actor: "admin".into(),
            reason: "test".into(),
            at: at(1, 0),
            note: None,
            recorded_at: Some(at(1, 0)),
        };
        let usd = Currency::usd();
        assert_eq!(
            history_line(&entry, &usd, Style::Plain),
            "1 Dec 2026  expiry changed from 31 Jan 2027 to never: test (grant #9)"
        );
        let back = HistoryEntry {
            detail: Some("never -> 2027-01-31T00:00:00Z".into()),
            ..entry.clone()
        };
        let stamp = Utc
            .with_ymd_and_hms(2027, 1, 31, 0, 0, 0)
            .unwrap()
            .timestamp();
        assert!(
            history_line(&back, &usd, Style::Discord).ends_with(&format!(
                "expiry changed from never to <t:{stamp}:D>: test (grant #9)"
            ))
        );
        let odd = HistoryEntry {
            detail: Some("garbled".into()),
            ..entry
        };
        let line = history_line(&odd, &usd, Style::Plain);
        assert!(line.ends_with("expiry changed: test (grant #9)"), "{line}");
    }

    #[test]
    fn members_are_mentioned_per_surface() {
        assert_eq!(Style::Discord.member("42"), "<@42>");
        assert_eq!(Style::Plain.member("alice"), "@alice");
    }

    #[test]
    fn packed_lines_stay_under_the_limit_and_say_what_was_left() {
        let lines: Vec<String> = (0..100).map(|n| format!("line number {n}")).collect();
        let packed = pack_lines(&lines, 200, |n| format!("…and {n} more"));
        assert!(packed.chars().count() <= 200, "{}", packed.len());
        assert!(packed.ends_with("more"), "{packed}");
        assert_eq!(
            pack_lines(&lines[..2], 200, |n| format!("{n}")),
            "line number 0\nline number 1"
        );
    }

    #[test]
    fn credits_paid_names_each_grant_with_its_amount() {
        let usd = Currency::usd();
        let share = |lot_id, source, cents| LotShare {
            lot_id,
            source,
            amount: Credits::from_minor(cents),
        };
        assert_eq!(
            credits_paid(
                Credits::from_minor(999),
                &[share(1, Source::Promotion, 999)],
                &usd
            ),
            "paid with credits: $9.99 (promotion)"
        );
        assert_eq!(
            credits_paid(
                Credits::from_minor(999),
                &[
                    share(1, Source::Promotion, 500),
                    share(2, Source::Gift, 499)
                ],
                &usd
            ),
            "paid with credits: $9.99 — $5.00 promotion, $4.99 gift"
        );
        let many: Vec<LotShare> = (1..=10).map(|id| share(id, Source::Gift, 100)).collect();
        let text = credits_paid(Credits::from_minor(1_000), &many, &usd);
        assert!(text.ends_with("$6.00 from 6 more grants"), "{text}");
        assert!(text.chars().count() < 120, "{text}");
    }
}
