//! The sentences members and admins read, and how amounts, dates and members are written.
//! Kept together so the voice stays one; handlers pick a sentence and fill in figures, and
//! write none themselves (`tests/it/voice.rs` reads them to make sure). Grouped by who
//! reads it: what both read, what members read, what admins read, then refusals and the
//! one apology for an internal failure.

use chrono::{DateTime, Utc};

use crate::error::UserError;
use crate::ledger::{
    HistoryEntry, JournalKind, Lot, LotId, LotShare, OrderId, ReturnReceipt, Source,
};
use crate::money::{Credits, Currency};
pub use crate::words::{CREDITS_PAY_FOR, Style, relative_days};

// ─── How figures, dates and lines are written ────────────────────────────────────────────
// Both audiences read these, in cards and in sentences.

/// Within this many days an expiry is "soon": it gets a warning sign and counts in the
/// "Expiring within 30 days" total (both by `is_soon`, as the ledger's `expiring_within`).
pub const SOON_DAYS: i64 = 30;

/// True when `at` is at most `SOON_DAYS` days after `now`, the same bound as the ledger's
/// `Balance::expiring_within`, so a warned grant is always in the total and vice versa.
pub fn is_soon(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    at <= now + chrono::Duration::days(SOON_DAYS)
}

/// "promotion", or "refund, order 7781" for a refund lot.
pub fn source_label(lot: &Lot) -> String {
    match (&lot.source, &lot.refund_of_order) {
        (Source::Refund, Some(order)) => format!("refund, order {order}"),
        (source, _) => source.as_str().to_string(),
    }
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
    let order = entry
        .order_external_id
        .as_ref()
        .map(OrderId::as_str)
        .unwrap_or("?");
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

// ─── Cards and questions both members and admins read ────────────────────────────────────
// A balance, an order, a history page; a confirmation's last words.

/// A balance card's first line.
pub fn available(amount: &str) -> String {
    format!("Available  {amount}")
}

/// Ends a balance card's grant lines when some were left out.
pub fn more_grants(n: usize) -> String {
    format!("  …and {n} more grants, expiring later.")
}

/// Under a balance card's grants: what expires within `SOON_DAYS`.
pub fn expiring_soon(amount: &str) -> String {
    format!("Expiring within {SOON_DAYS} days: {amount} — {SOONEST_FIRST}")
}

/// An order card's title.
pub fn order_title(order: &str, date: &str) -> String {
    format!("Order {order} · {date}")
}

/// An order item's id, as an admin's order card shows it (for `/admin return item:`).
pub fn item_id(sku: &str) -> String {
    format!(" [item {sku}]")
}

/// What paid an order when it doesn't say which other method did.
pub const OTHER_PAYMENT: &str = "other payment";

/// The other method's share of an order line.
pub fn paid_by(method: &str, amount: &str) -> String {
    format!("paid by {method}: {amount}")
}

pub const PHYSICAL_NOT_BY_CREDITS: &str = "credits can't pay physical items";

/// What returning an item would give back; `own` when the reader's account placed the order.
pub fn return_gives_back(title: &str, amount: &str, own: bool) -> String {
    let whose = if own { "your" } else { "the member's" };
    format!("If you return {title}, {amount} goes back to {whose} credits.")
}

/// Credit a return would not give back: its grant was revoked or has expired.
pub fn return_forfeits(amount: &str, title: &str) -> String {
    format!(
        "{amount} of the credit paid for {title} came from a grant that was revoked or has expired, so a return would not give it back."
    )
}

/// Ends an order card's item lines when some were left out.
pub fn more_items(n: usize) -> String {
    format!("  …and {n} more items.")
}

/// An order's totals: credits applied, and what another method paid, if anything.
pub fn credits_applied(applied: &str, other: Option<(&str, &str)>) -> String {
    match other {
        Some((amount, method)) => {
            format!("Credits applied {applied} · other payment {amount} ({method})")
        }
        None => format!("Credits applied {applied}"),
    }
}

/// Ends an order card's return lines when some were left out.
pub fn more_returns(n: usize) -> String {
    format!("…and {n} more items could be returned.")
}

/// An order card's footer, when another method paid part of it.
pub const ORDER_REST_FOOTER: &str =
    "Credits cover digital items; another payment method pays the rest.";

/// A history card's title: whose history, and which page.
pub fn history_title(title: &str, page: u32, pages: u32) -> String {
    format!("{title} · page {page} of {pages}")
}

pub const NOTHING_ON_PAGE: &str = "Nothing on this page.";

/// Ends a history page's lines when some were left out.
pub fn more_on_page(n: usize) -> String {
    format!("…and {n} more on this page.")
}

/// A history card's footer when older pages follow: the command that shows the next one.
pub fn older_entries(command: &str, page: u32) -> String {
    format!("Older entries: {command} page:{page}")
}

/// A history card's footer on its last page.
pub const THATS_EVERYTHING: &str = "That's everything.";

/// Ends every confirmation question.
pub const CONFIRM_WITHIN: &str = "Confirm within a minute; until then nothing changes.";

pub const CONFIRMATION_DECLINED: &str = "Cancelled; nothing was changed.";

// ─── What members read ───────────────────────────────────────────────────────────────────

pub const NOT_TRANSFERABLE: &str =
    "Credits can't be moved to another account: only the account that holds them can spend them.";

pub const SOONEST_FIRST: &str = "soonest first when you buy.";

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

pub fn not_linked_hint() -> &'static str {
    "Ask an admin for a link code, then run /link code:XXXX-XXXX."
}

pub fn no_credits(account: &str) -> String {
    format!(
        "Your account {account} has no credits right now. Credits come as gifts, promotions or refunds of returned purchases."
    )
}

pub fn transfer_answer(account: &str, available: Credits, currency: &Currency) -> String {
    format!(
        "{NOT_TRANSFERABLE} Yours ({account}) has {} available for digital purchases.",
        currency.format(available)
    )
}

/// The title of the asker's own balance card.
pub fn balance_title(account: &str) -> String {
    format!("Your credits · account {account}")
}

/// The footer of the asker's own balance card.
pub fn balance_footer() -> String {
    format!("{CREDITS_PAY_FOR} /expiry · /order · /help")
}

/// `/expiry` when every credit has no date.
pub fn none_expire(total: &str) -> String {
    format!("None of your {total} of credits expire.")
}

/// `/expiry`'s first line.
pub fn next_expiry(amount: &str, date: &str) -> String {
    format!("Your next expiry: {amount} on {date}.")
}

/// `/expiry`: what expires within the days asked, before the grants' lines.
pub fn expiring_within(days: u32, total: &str) -> String {
    format!(
        "Within {}, {total} expires:",
        crate::words::count(days, "day")
    )
}

/// Ends `/expiry`'s grant lines when some were left out.
pub fn more_expiring(n: usize) -> String {
    format!("  …and {n} more. /balance shows them all.")
}

/// `/expiry` when nothing expires within the days asked.
pub fn nothing_expires_within(days: u32) -> String {
    format!(
        "Nothing expires within {}.",
        crate::words::count(days, "day")
    )
}

/// Ends every `/expiry`.
pub const EXPIRED_CANT_BE_SPENT: &str =
    "Expired credits can't be spent; the soonest-expiring credits are used first when you buy.";

/// The title of the asker's own history card.
pub const HISTORY_TITLE: &str = "Your credit history";

/// `/transfer` from a member who isn't linked.
pub fn transfer_unlinked() -> String {
    format!("{NOT_TRANSFERABLE} {}", not_linked_hint())
}

/// A member redeemed a link code.
pub fn linked_by_code(account: &str) -> String {
    format!("Linked! Your Discord account now belongs to shop account {account}. Try /balance.")
}

/// The buttons of `confirm_unlink`: accept, then decline.
pub const UNLINK_BUTTONS: (&str, &str) = ("Unlink", "Keep linked");

/// A member unlinked themselves.
pub fn unlinked_self(account: &str) -> String {
    format!(
        "Unlinked from account {account}. Its credits stay on the account; to link again, ask an admin for a new code."
    )
}

/// `/help`'s card: its title, what the bot does, and the field of members' commands.
pub const HELP_TITLE: &str = "creditbot — your digital credits";
pub const HELP_COMMANDS: &str = "Commands";

pub fn help_intro() -> String {
    format!(
        "I answer questions about your digital credits: balance, expiry, returns, orders and linking your account. {CREDITS_PAY_FOR} Ask in your own words, or use a command."
    )
}

/// `/help`'s footer: the topics `/faq` takes.
pub fn faq_topics(topics: &[String]) -> String {
    format!("Topics for /faq: {}", topics.join(", "))
}

/// A member's `/unlink`, before it happens.
pub fn confirm_unlink(account: &str) -> String {
    format!(
        "Unlink your Discord account from shop account {account}? Its credits stay on the account, but only an admin can link you again."
    )
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

// ─── What admins read ────────────────────────────────────────────────────────────────────

/// An admin moved a grant's expiry: "Grant #57 now never expires (it was to expire on
/// 12 Dec 2026)", "Grant #57 now expires 31 Jan 2027 (was 12 Dec 2026)".
pub fn expiry_changed(
    grant: LotId,
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

/// A grant above the configured amount, before it happens.
pub fn confirm_large_grant(amount: &str, member: &str, above: &str) -> String {
    format!("Grant {amount} to {member}? That's more than {above}, so I'm checking first.")
}

/// A grant like one made minutes ago, before it happens.
pub fn confirm_repeat_grant(
    amount: &str,
    reason: &str,
    member: &str,
    earlier: LotId,
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
pub fn confirm_large_revoke(grant: LotId, amount: &str, member: &str, above: &str) -> String {
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

/// The buttons of `confirm_large_grant`, `confirm_repeat_grant` and `confirm_large_revoke`.
pub const GRANT_BUTTONS: (&str, &str) = ("Grant", "Cancel");
pub const REPEAT_GRANT_BUTTONS: (&str, &str) = ("Grant again", "Cancel");
pub const REVOKE_BUTTONS: (&str, &str) = ("Revoke", "Cancel");

/// The reasons the journal records for changes that come without one.
pub const REASON_UNLINKED_BY_MEMBER: &str = "unlinked by the member";
pub const REASON_UNLINKED_BY_ADMIN: &str = "unlinked by an admin";
pub const REASON_RETURN_BY_ADMIN: &str = "recorded by an admin";

/// Stands for the member holding an account when none does.
pub const THE_MEMBER: &str = "The member";

/// A grant made: what, to whom, until when, and the balance after it. `expires` is the
/// date it expires, `None` when it never does.
pub fn granted(
    amount: &str,
    reason: &str,
    member: &str,
    expires: Option<&str>,
    grant: LotId,
    balance: &str,
) -> String {
    let expires = match expires {
        Some(date) => format!("expires {date}"),
        None => "never expires".into(),
    };
    format!(
        "Granted {amount} ({reason}) to {member} · {expires} · grant #{grant}\nTheir balance is now {balance}."
    )
}

/// A grant revoked: what was taken back, and the account's balance after it.
pub fn revoked(grant: LotId, taken: &str, reason: &str, account: &str, balance: &str) -> String {
    format!(
        "Revoked grant #{grant}: {taken} taken back ({reason}). Account {account} now has {balance}."
    )
}

/// An admin unlinked a member.
pub fn unlinked_member(member: &str, account: &str) -> String {
    format!("Unlinked {member} from account {account}. The account keeps its credits.")
}

/// A link code issued, with how to hand it over.
pub fn link_code(account: &str, code: &str, expires: &str) -> String {
    format!(
        "Link code for account {account}: {code}\nSingle use, expires {expires}. Give it to the member privately; they run /link code:{code}"
    )
}

/// The title of an admin's view of a member's history.
pub fn member_history_title(member: &str, account: &str) -> String {
    format!("Credit history of {member} · account {account}")
}

/// The command that shows a member's history to an admin (pages follow with `page:`).
pub fn member_history_command(member: &str) -> String {
    format!("/admin history member:{member}")
}

/// The command that grants again what an expired grant lost.
pub fn regrant_command(member: &str, amount: &str) -> String {
    format!("/admin grant member:{member} amount:{amount} reason:…")
}

/// A return recorded: item by item what went back where, then what became of credit whose
/// grant had expired or been revoked meanwhile.
pub fn return_recorded(receipt: &ReturnReceipt, currency: &Currency, style: Style) -> String {
    let method = receipt
        .other_method
        .as_deref()
        .unwrap_or("the other payment method");
    let mut lines = vec![format!(
        "Return {} of order {} recorded.",
        receipt.return_id, receipt.order_external_id
    )];
    for item in &receipt.items {
        let mut parts = Vec::new();
        if item.credits.is_positive() {
            parts.push(format!("{} in credits", currency.format(item.credits)));
        }
        if item.other.is_positive() {
            parts.push(format!(
                "{} refunded to {method}",
                currency.format(item.other)
            ));
        }
        if parts.is_empty() {
            parts.push("nothing to refund".into());
        }
        lines.push(format!(
            "  {} ×{}: {}",
            item.title,
            item.quantity,
            parts.join(", ")
        ));
    }
    if receipt.credits_restored.is_positive() {
        lines.push(format!(
            "{} is back on the member's credits.",
            currency.format(receipt.credits_restored)
        ));
    }
    if let Some(lot) = &receipt.reissued {
        let expires = lot.expires_at.map_or("never".into(), |at| style.date(at));
        lines.push(format!(
            "{} came from credits that had expired meanwhile, so it was issued again as grant #{} (expires {expires}).",
            currency.format(lot.amount),
            lot.id
        ));
    }
    if receipt.expired_at_once.is_positive() {
        lines.push(format!(
            "{} came from credits that had expired meanwhile, so it expired again at once.",
            currency.format(receipt.expired_at_once)
        ));
    }
    if receipt.revoked_at_once.is_positive() {
        lines.push(format!(
            "{} came from a grant an admin had revoked, so it stays revoked.",
            currency.format(receipt.revoked_at_once)
        ));
    }
    lines.join("\n")
}

/// `/admin unanswered` when the FAQ has answered everything so far.
pub const NO_UNANSWERED: &str = "No unanswered questions so far.";
pub const UNANSWERED_TITLE: &str = "Questions the FAQ couldn't answer, most asked first";
pub const UNANSWERED_FOOTER: &str = "Add examples for these to the FAQ catalog.";

/// One unanswered question: how often, and when it was last asked.
pub fn unanswered_line(question: &str, times: u64, last: &str) -> String {
    format!("{times}× \"{question}\" (last {last})")
}

/// Ends the unanswered questions when some were left out.
pub fn more_unanswered(n: usize) -> String {
    format!("…and {n} more")
}

/// The field of `/help` that only admins see.
pub const HELP_ADMIN_COMMANDS: &str = "Admin commands";

// ─── Refusals, and the one apology ───────────────────────────────────────────────────────

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
            lot_id: Some(LotId::new(9)),
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
            lot_id: LotId::new(lot_id),
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
