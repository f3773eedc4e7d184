//! Rendering FAQ answers for one asker in one place, with their own figures when allowed.
//!
//! Owns the privacy rule for FAQ text: figures only for a linked member in a private
//! place; a public answer never carries any. The figures arrive as plain, already
//! formatted strings (`PersonalFigures`), filled by the assistant from the ledger; this
//! module must not import the ledger, the database or anything that talks to a network.
use super::catalog::{Intent, MAX_MESSAGE_CHARS, SMALL_TALK_ID, placeholders};
use std::fmt::Write as _;

/// Where the answer will be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Ephemeral reply, DM or console: only the asker sees it.
    Private,
    /// A channel others read: general answers only.
    Public,
}

/// One lot of credit, formatted for display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LotLine {
    /// Remaining amount, e.g. "$20.00".
    pub amount: String,
    /// e.g. "promotion", "gift", "refund, order 7781".
    pub source: String,
    /// e.g. "12 Dec 2026 (in 16 days)", or "never".
    pub expires: String,
}

/// One recent order, formatted for display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFigures {
    pub order_id: String,
    /// e.g. "3 Nov 2026".
    pub date: String,
    /// Credits applied to the order, e.g. "$9.99" ("$0.00" when none).
    pub credits_applied: String,
    /// Credits a full return would give back, e.g. "$9.99"; `None` when it would give back
    /// none (no credits paid, returned already, or the grant was revoked or has expired).
    pub return_gives_back: Option<String>,
}

/// The next expiry of a member's credits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextExpiry {
    pub amount: String,
    /// e.g. "12 Dec 2026 (in 16 days)" or Discord markup `<t:…:D>`.
    pub date: String,
}

/// A linked member's own figures, already formatted (currency, decimals, dates).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalFigures {
    /// e.g. "ACC-1042".
    pub account: String,
    /// Available balance, e.g. "$37.50".
    pub balance: String,
    /// Lots that make up the balance, soonest-expiring first.
    pub lots: Vec<LotLine>,
    pub next_expiry: Option<NextExpiry>,
    /// Total expiring within 30 days, e.g. "$25.00"; `None` when nothing does. A template
    /// line with `{expiring_30}` is left out then, rather than announcing "$0.00".
    pub expiring_within_30_days: Option<String>,
    /// Latest orders first.
    pub recent_orders: Vec<OrderFigures>,
    /// Which of their credits never expire, as a sentence ("$5.00 goodwill never
    /// expires."); `None` when all of them have a date. A template line with
    /// `{never_expiring}` is left out then.
    pub never_expiring: Option<String>,
}

/// Who is asking, as far as figures go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asker {
    /// The Discord member has no linked shop account.
    Unlinked,
    Linked(PersonalFigures),
}

/// Ends every public answer: figures are for private places.
pub const PUBLIC_POINTER: &str = "Use /balance to see your own credits privately.";
/// Added to private answers for a member without a linked account.
pub const LINK_HINT: &str = "Your Discord account isn't linked to a shop account yet. Ask an admin for a link code, then run /link code:XXXX-XXXX.";

/// Lists are cut to this many lines; the rest is summarised with a pointer to the
/// command that shows everything, so the message stays readable and under the limit.
const MAX_LOT_LINES: usize = 5;
const MAX_ORDER_LINES: usize = 3;
/// One figure can't take over a message, whatever the caller passes.
const MAX_FIELD_CHARS: usize = 80;

/// The answer of `intent` for `asker` in `place`; always at most 2,000 characters.
pub fn render(intent: &Intent, asker: &Asker, place: Place) -> String {
    let text = match (place, asker) {
        // Small talk needs no pointer to figures, nor a hint about linking.
        _ if intent.id == SMALL_TALK_ID => intent.answer.clone(),
        (Place::Public, _) => format!("{}\n{PUBLIC_POINTER}", intent.answer),
        (Place::Private, Asker::Unlinked) if intent.answer.contains("/link code:") => {
            intent.answer.clone()
        }
        (Place::Private, Asker::Unlinked) => format!("{}\n{LINK_HINT}", intent.answer),
        (Place::Private, Asker::Linked(figures)) => match &intent.personal {
            Some(template) => personalise(template, intent, figures),
            None => intent.answer.clone(),
        },
    };
    clip(&text, MAX_MESSAGE_CHARS)
}

/// Fills the template's placeholders: the member's own figures first, as the template
/// orders them, then `{brief}` (or `{answer}`). A line whose figure is absent
/// (`{expiring_30}` when nothing expires soon) is left out.
fn personalise(template: &str, intent: &Intent, figures: &PersonalFigures) -> String {
    let mut out = String::new();
    let kept: Vec<&str> = template
        .split('\n')
        .filter(|line| {
            (figures.expiring_within_30_days.is_some()
                || placeholders(line).all(|name| name != "expiring_30"))
                && (figures.never_expiring.is_some()
                    || placeholders(line).all(|name| name != "never_expiring"))
        })
        .collect();
    let template = kept.join("\n");
    let mut rest = template.as_str();
    while let Some((before, after)) = rest.split_once('{') {
        out.push_str(before);
        match after.split_once('}') {
            Some((name, tail)) => {
                fill(&mut out, name, intent, figures);
                rest = tail;
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    // An empty figure (`{soonest}` with no credits) must not leave a dangling space.
    out.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn fill(out: &mut String, name: &str, intent: &Intent, figures: &PersonalFigures) {
    let field = |s: &str| clip(s, MAX_FIELD_CHARS);
    match name {
        "answer" => out.push_str(&intent.answer),
        "brief" => out.push_str(intent.brief.as_deref().unwrap_or(&intent.answer)),
        "soonest" => match &figures.next_expiry {
            Some(next) => {
                let _ = write!(
                    out,
                    "{} of it expires on {}.",
                    field(&next.amount),
                    field(&next.date)
                );
            }
            None if figures.lots.is_empty() => {}
            None => out.push_str("None of it expires."),
        },
        "account" => out.push_str(&field(&figures.account)),
        "never_expiring" => {
            if let Some(sentence) = &figures.never_expiring {
                out.push_str(&clip(sentence, 2 * MAX_FIELD_CHARS));
            }
        }
        "balance" => out.push_str(&field(&figures.balance)),
        "expiring_30" => match &figures.expiring_within_30_days {
            Some(amount) => out.push_str(&field(amount)),
            None => out.push_str("nothing"),
        },
        "next_expiry" => match &figures.next_expiry {
            Some(next) => {
                let _ = write!(out, "{} on {}", field(&next.amount), field(&next.date));
            }
            None if figures.lots.is_empty() => {
                out.push_str("nothing — you have no credits right now")
            }
            None => out.push_str("nothing — none of your credits has an expiry date"),
        },
        "lots" => write_list(
            out,
            &figures.lots,
            MAX_LOT_LINES,
            "You have no credits right now.",
            "/balance",
            |out, lot| {
                let _ = write!(
                    out,
                    "  {}  {}  expires {}",
                    field(&lot.amount),
                    field(&lot.source),
                    field(&lot.expires)
                );
            },
        ),
        "orders_applied" => write_list(
            out,
            &figures.recent_orders,
            MAX_ORDER_LINES,
            "No recent orders.",
            "/order",
            |out, order| {
                let _ = write!(
                    out,
                    "  Order {} · {}: credits applied {}",
                    field(&order.order_id),
                    field(&order.date),
                    field(&order.credits_applied)
                );
            },
        ),
        "orders_refund" => {
            let giving_back: Vec<(&OrderFigures, &String)> = figures
                .recent_orders
                .iter()
                .filter_map(|order| Some((order, order.return_gives_back.as_ref()?)))
                .collect();
            write_list(
                out,
                &giving_back,
                MAX_ORDER_LINES,
                "No recent order would give credits back if returned.",
                "/order",
                |out, (order, gives_back)| {
                    let _ = write!(
                        out,
                        "  Order {} · {}: a return gives back {} in credits",
                        field(&order.order_id),
                        field(&order.date),
                        field(gives_back)
                    );
                },
            )
        }
        // Validated away at catalog load; keep the text visible rather than panic.
        other => {
            let _ = write!(out, "{{{other}}}");
        }
    }
}

/// At most `max` lines, then "…and N more (see /command)".
fn write_list<T>(
    out: &mut String,
    items: &[T],
    max: usize,
    empty: &str,
    command: &str,
    line: impl Fn(&mut String, &T),
) {
    if items.is_empty() {
        out.push_str(empty);
        return;
    }
    for (i, item) in items.iter().take(max).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        line(out, item);
    }
    if items.len() > max {
        let _ = write!(out, "\n  …and {} more (see {command})", items.len() - max);
    }
}

/// `text` cut to at most `max` characters, with "…" marking a cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let keep = text
                .char_indices()
                .nth(max - 1)
                .map_or(text.len(), |(i, _)| i);
            format!("{}…", &text[..keep])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faq::catalog::Catalog;

    fn big_figures() -> PersonalFigures {
        PersonalFigures {
            account: "ACC-1042".into(),
            balance: "$1,234,567.89".into(),
            lots: (0..500)
                .map(|i| LotLine {
                    amount: format!("${i}.50"),
                    source: format!("promotion number {i} with a long description"),
                    expires: "12 Dec 2026 (in 16 days)".into(),
                })
                .collect(),
            next_expiry: Some(NextExpiry {
                amount: "$20.00".into(),
                date: "12 Dec 2026 (in 16 days)".into(),
            }),
            expiring_within_30_days: Some("$25.00".into()),
            recent_orders: (0..200)
                .map(|i| OrderFigures {
                    order_id: format!("{}", 7000 + i),
                    date: "3 Nov 2026".into(),
                    credits_applied: "$9.99".into(),
                    return_gives_back: Some("$9.99".into()),
                })
                .collect(),
            never_expiring: Some("$5.00 goodwill never expires.".into()),
        }
    }

    #[test]
    fn every_answer_fits_a_message_for_every_asker_and_place() {
        let faq = crate::faq::Faq::builtin().unwrap();
        let catalog = faq.catalog();
        let huge_field = "9".repeat(5000);
        let mut hostile = big_figures();
        hostile.account = huge_field.clone();
        hostile.balance = huge_field;
        let askers = [
            Asker::Unlinked,
            Asker::Linked(PersonalFigures::default()),
            Asker::Linked(big_figures()),
            Asker::Linked(hostile),
        ];
        for intent in &catalog.intents {
            for asker in &askers {
                for place in [Place::Private, Place::Public] {
                    let text = render(intent, asker, place);
                    let chars = text.chars().count();
                    assert!(
                        chars <= MAX_MESSAGE_CHARS,
                        "{} {place:?}: {chars} chars",
                        intent.id
                    );
                    assert!(
                        !text.contains('{'),
                        "unfilled placeholder in {}: {text}",
                        intent.id
                    );
                }
            }
        }
    }

    #[test]
    fn public_answers_never_carry_figures() {
        let catalog = Catalog::builtin().unwrap();
        let asker = Asker::Linked(big_figures());
        for intent in &catalog.intents {
            let text = render(intent, &asker, Place::Public);
            let pointer = intent.id != SMALL_TALK_ID;
            assert_eq!(text.ends_with(PUBLIC_POINTER), pointer, "{}", intent.id);
            assert!(
                !text.contains("ACC-1042") && !text.contains("1,234,567.89"),
                "{}: {text}",
                intent.id
            );
        }
    }

    #[test]
    fn private_linked_answers_carry_the_figures_the_issue_asks_for() {
        let catalog = Catalog::builtin().unwrap();
        let asker = Asker::Linked(big_figures());
        let text = |id: &str| {
            render(
                &catalog.intents[catalog.position(id).unwrap()],
                &asker,
                Place::Private,
            )
        };
        // The member's own figure comes first, then the explanation.
        let balance = text("balance");
        assert!(
            balance.starts_with(
                "You have $1,234,567.89 on account ACC-1042. $20.00 of it expires on 12 Dec 2026 (in 16 days).\n"
            ),
            "{balance}"
        );
        assert!(balance.contains("$0.50  promotion number 0"));
        assert!(
            balance.contains("…and 495 more (see /balance)"),
            "{balance}"
        );
        assert!(text("expiry").starts_with("Your next credits to expire: $20.00 on 12 Dec 2026"));
        assert!(text("transfer").starts_with("No — your credits stay on account ACC-1042"));
        let refund = text("refund");
        assert!(refund.contains("Order 7000 · 3 Nov 2026: a return gives back $9.99"));
        assert!(refund.starts_with("What returning your latest orders would give back:"));
        assert!(text("order").contains("credits applied $9.99"));
        assert!(
            text("physical")
                .starts_with("No — credits can't pay for physical items. You have $1,234,567.89")
        );
        assert!(text("combine").starts_with("Yes — you have $1,234,567.89"));
        assert!(text("cash").starts_with("No — credits can't be cashed out"));
        assert!(
            text("buy").starts_with("No — credits can't be bought, but you have $1,234,567.89")
        );
    }

    #[test]
    fn unlinked_private_answers_say_how_to_link() {
        let catalog = Catalog::builtin().unwrap();
        for intent in &catalog.intents {
            let text = render(intent, &Asker::Unlinked, Place::Private);
            // "Thanks!" gets a short friendly reply, not a lecture on linking.
            let expected = intent.id != SMALL_TALK_ID;
            assert_eq!(
                text.contains("/link code:XXXX-XXXX"),
                expected,
                "{}",
                intent.id
            );
        }
    }

    #[test]
    fn missing_next_expiry_and_empty_lists_read_well() {
        let catalog = Catalog::builtin().unwrap();
        let intent = |id: &str| &catalog.intents[catalog.position(id).unwrap()];
        let no_credits = Asker::Linked(PersonalFigures {
            account: "ACC-9".into(),
            balance: "$0.00".into(),
            ..PersonalFigures::default()
        });
        let expiry = render(intent("expiry"), &no_credits, Place::Private);
        assert!(
            expiry.starts_with(
                "Your next credits to expire: nothing — you have no credits right now.\n"
            ),
            "{expiry}"
        );
        assert!(!expiry.contains("Expiring within"), "{expiry}");
        let balance = render(intent("balance"), &no_credits, Place::Private);
        assert!(
            balance
                .starts_with("You have $0.00 on account ACC-9.\nYou have no credits right now.\n"),
            "{balance}"
        );
        assert!(!balance.contains("Expiring within"), "{balance}");

        let never_expiring = Asker::Linked(PersonalFigures {
            account: "ACC-9".into(),
            balance: "$5.00".into(),
            lots: vec![LotLine {
                amount: "$5.00".into(),
                source: "goodwill".into(),
                expires: "never".into(),
            }],
            ..PersonalFigures::default()
        });
        let expiry = render(intent("expiry"), &never_expiring, Place::Private);
        assert!(
            expiry.contains("nothing — none of your credits has an expiry date"),
            "{expiry}"
        );
        assert!(!expiry.contains("{never_expiring}"), "{expiry}");
        assert!(!expiry.contains("its own expiry date"), "{expiry}");
        // Which of them never expire, when the assistant says so.
        let said = Asker::Linked(PersonalFigures {
            never_expiring: Some("$5.00 goodwill never expires.".into()),
            ..match never_expiring {
                Asker::Linked(figures) => figures,
                Asker::Unlinked => unreachable!(),
            }
        });
        let expiry = render(intent("expiry"), &said, Place::Private);
        assert!(
            expiry.contains("\n$5.00 goodwill never expires.\n"),
            "{expiry}"
        );
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("héllo", 10), "héllo");
        assert_eq!(clip("héllo", 3), "hé…");
    }
}
