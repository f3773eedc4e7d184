//! Suggestions while a member types an option (Discord's autocomplete): their recent orders
//! for `/order id`, FAQ titles for `/faq topic`, live grants for `/admin revoke grant` and
//! `/admin expiry grant` (admins only: the `member` option's, or any account's by number), and
//! the order's items for `/admin return item` (admins only). Answers must come at once,
//! so each is one or two indexed reads; failures give no suggestions (logged), never an error.
//!
//! Like the rest of the assistant it knows nothing of Discord: it returns (name, value) pairs,
//! and the transport shapes them. Names are plain text (no markup: Discord shows them raw).

use chrono::{DateTime, Utc};

use super::command::member_id;
use super::text::{self, Style};
use super::{Assistant, Who};
use crate::error::Result;
use crate::faq::NONE_ID;
use crate::ledger::{Lot, MemberId, OrderId};

/// Discord shows at most 25 suggestions.
pub const MAX_SUGGESTIONS: usize = 25;

/// (name shown, value sent back as the option's value)
pub type Suggestion = (String, String);

/// Suggestions for `option` of the command at `path`, given what is `typed` so far and the
/// other options already filled in.
pub fn suggest(
    assistant: &Assistant,
    who: &Who,
    now: DateTime<Utc>,
    path: &str,
    option: &str,
    typed: &str,
    other_options: &[(String, String)],
) -> Vec<Suggestion> {
    let typed = typed.trim().to_lowercase();
    let found = match (path, option) {
        ("order", "id") => orders(assistant, who, &typed),
        ("faq", "topic") => Ok(topics(assistant, &typed)),
        ("admin revoke" | "admin expiry", "grant") => {
            grants(assistant, who, now, &typed, other_options)
        }
        ("admin return", "item") => items(assistant, who, now, &typed, other_options),
        _ => Ok(Vec::new()),
    };
    match found {
        Ok(mut suggestions) => {
            suggestions.truncate(MAX_SUGGESTIONS);
            suggestions
        }
        Err(error) => {
            tracing::warn!(%path, %option, %error, "no suggestions: the ledger failed");
            Vec::new()
        }
    }
}

/// The asker's recent orders: "7781 · 3 Nov 2026 · $34.98", newest first.
fn orders(assistant: &Assistant, who: &Who, typed: &str) -> Result<Vec<Suggestion>> {
    let ledger = assistant.ledger();
    let Some(account) = ledger.account_for_member(&who.member())? else {
        return Ok(Vec::new());
    };
    let currency = ledger.currency();
    Ok(ledger
        .recent_orders(&account.id, MAX_SUGGESTIONS)?
        .into_iter()
        .filter(|order| order.external_id.as_str().to_lowercase().contains(typed))
        .map(|order| {
            (
                format!(
                    "{} · {} · {}",
                    order.external_id,
                    Style::Plain.date(order.placed_at),
                    currency.format(order.total)
                ),
                order.external_id.into_string(),
            )
        })
        .collect())
}

/// FAQ titles whose title or id contains what was typed; the value is the intent id.
fn topics(assistant: &Assistant, typed: &str) -> Vec<Suggestion> {
    assistant
        .faq()
        .catalog()
        .intents
        .iter()
        .filter(|intent| intent.id != NONE_ID)
        .filter(|intent| {
            typed.is_empty()
                || intent.id.contains(typed)
                || intent.title.to_lowercase().contains(typed)
        })
        .map(|intent| (intent.title.clone(), intent.id.clone()))
        .collect()
}

/// The items of the order named in `/admin return order:`, to admins only, whose id or
/// title contains what was typed: "The Hobbit · hobbit-ebook · ×1"; the value is the id.
fn items(
    assistant: &Assistant,
    who: &Who,
    now: DateTime<Utc>,
    typed: &str,
    other_options: &[(String, String)],
) -> Result<Vec<Suggestion>> {
    if !assistant.is_admin(who) {
        return Ok(Vec::new());
    }
    let Some(order) = other_options
        .iter()
        .find(|(name, _)| name == "order")
        .map(|(_, value)| super::command::order_id(value))
        .filter(|order| !order.is_empty())
    else {
        return Ok(Vec::new());
    };
    let breakdown = match assistant
        .ledger()
        .order_breakdown(&OrderId::new(order), now)
    {
        Ok(breakdown) => breakdown,
        // An order still being typed: no suggestions yet, and nothing to log.
        Err(error) if error.as_user().is_some() => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    Ok(breakdown
        .items
        .into_iter()
        .filter(|item| {
            item.sku.to_lowercase().contains(typed) || item.title.to_lowercase().contains(typed)
        })
        .map(|item| {
            (
                format!("{} · {} · ×{}", item.title, item.sku, item.quantity),
                item.sku,
            )
        })
        .collect())
}

/// Live grants for `/admin revoke grant` and `/admin expiry grant`, whose number starts with
/// what was typed, to admins only. With the `member` option filled in, that member's
/// ("#57 · $12.50 promotion · expires 12 Dec 2026", soonest-expiring first); without, any
/// account's, newest first, naming the account ("#57 · $12.50 promotion · ACC-1042 ·
/// expires 12 Dec 2026").
fn grants(
    assistant: &Assistant,
    who: &Who,
    now: DateTime<Utc>,
    typed: &str,
    other_options: &[(String, String)],
) -> Result<Vec<Suggestion>> {
    if !assistant.is_admin(who) {
        return Ok(Vec::new());
    }
    let typed = typed.trim_start_matches('#').trim();
    if !typed.chars().all(|c| c.is_ascii_digit()) {
        return Ok(Vec::new());
    }
    let member = other_options
        .iter()
        .find(|(name, _)| name == "member")
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(_, value)| member_id(value));
    let ledger = assistant.ledger();
    let (lots, with_account) = match member {
        Some(Err(_)) => return Ok(Vec::new()),
        Some(Ok(member)) => {
            let Some(account) = ledger.account_for_member(&MemberId::new(member))? else {
                return Ok(Vec::new());
            };
            let lots: Vec<Lot> = ledger
                .balance(&account.id, now)?
                .lots
                .into_iter()
                .filter(|lot| lot.id.to_string().starts_with(typed))
                .take(MAX_SUGGESTIONS)
                .collect();
            (lots, false)
        }
        None => (
            ledger.live_lots_numbered(typed, now, MAX_SUGGESTIONS)?,
            true,
        ),
    };
    let currency = ledger.currency();
    Ok(lots
        .iter()
        .map(|lot| {
            let expires = match lot.expires_at {
                Some(at) => format!("expires {}", Style::Plain.date(at)),
                None => "never expires".into(),
            };
            let account = if with_account {
                format!(" · {}", lot.account_id)
            } else {
                String::new()
            };
            (
                format!(
                    "#{} · {} {}{account} · {expires}",
                    lot.id,
                    currency.format(lot.remaining),
                    text::source_label(lot)
                ),
                lot.id.to_string(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assistant::Admins;
    use crate::config::DatabaseConfig;
    use crate::faq::Faq;
    use crate::ledger::{AccountId, Act, Expiry, GrantRequest, Ledger, LedgerSettings, Source};
    use chrono::TimeZone;
    use std::sync::Arc;

    fn world() -> (Assistant, tempfile::TempDir, DateTime<Utc>) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(
            &dir.path().join("ledger.db"),
            &DatabaseConfig::default(),
            LedgerSettings::default(),
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        crate::demo::seed(&ledger, now).unwrap();
        let assistant = Assistant::new(
            Arc::new(ledger),
            Arc::new(Faq::builtin().unwrap()),
            Admins {
                user_ids: vec!["boss".into()],
                role_ids: vec![],
            },
        );
        (assistant, dir, now)
    }

    fn who(user: &str) -> Who {
        Who {
            user_id: user.into(),
            display_name: user.into(),
            role_ids: vec![],
        }
    }

    fn member(id: &str) -> Vec<(String, String)> {
        vec![("member".into(), id.into())]
    }

    #[test]
    fn orders_are_the_askers_own() {
        let (assistant, _dir, now) = world();
        let mine = suggest(&assistant, &who("alice"), now, "order", "id", "", &[]);
        assert!(!mine.is_empty());
        for (name, value) in &mine {
            assert!(name.starts_with(value.as_str()), "{name}");
            assert!(name.contains(" · $"), "{name}");
        }
        let nobody = suggest(&assistant, &who("stranger"), now, "order", "id", "", &[]);
        assert!(nobody.is_empty());
        let filtered = suggest(
            &assistant,
            &who("alice"),
            now,
            "order",
            "id",
            "no-such",
            &[],
        );
        assert!(filtered.is_empty());
    }

    #[test]
    fn topics_are_catalog_titles_without_none() {
        let (assistant, _dir, now) = world();
        let all = suggest(&assistant, &who("x"), now, "faq", "topic", "", &[]);
        let intents = assistant.faq().catalog().intents.len();
        assert_eq!(all.len(), intents - 1);
        assert!(all.iter().all(|(_, id)| id != NONE_ID));
        let expiry = suggest(&assistant, &who("x"), now, "faq", "topic", "EXPIR", &[]);
        assert!(expiry.iter().any(|(_, id)| id == "expiry"), "{expiry:?}");
        assert!(expiry.len() < all.len());
    }

    #[test]
    fn the_member_suggestions_read_is_a_registered_option() {
        for path in ["admin revoke", "admin expiry"] {
            let spec = crate::assistant::command::spec(path).unwrap();
            let member = spec.options.iter().find(|o| o.name == "member");
            assert!(member.is_some_and(|o| !o.required), "{path}");
            assert!(
                spec.options
                    .iter()
                    .any(|o| o.name == "grant" && o.autocomplete)
            );
        }
    }

    #[test]
    fn without_a_member_admins_get_any_accounts_grants_by_number() {
        let (assistant, _dir, now) = world();
        let ledger = assistant.ledger();
        // A second account, so suggestions span accounts.
        ledger
            .link_member(
                &Act::new("boss", now, "l-bob"),
                &MemberId::new("bob"),
                &AccountId::new("ACC-2"),
            )
            .unwrap();
        let bobs = ledger
            .grant(
                &Act::new("boss", now, "g-bob"),
                &GrantRequest {
                    account_id: AccountId::new("ACC-2"),
                    amount: crate::money::Credits::from_minor(1_250),
                    source: Source::Gift,
                    reason: "welcome".into(),
                    expiry: Expiry::Never,
                },
            )
            .unwrap();
        let all = suggest(
            &assistant,
            &who("boss"),
            now,
            "admin revoke",
            "grant",
            "",
            &[],
        );
        assert!(all.len() > 1 && all.len() <= MAX_SUGGESTIONS, "{all:?}");
        // Newest first, each naming its account.
        assert_eq!(all[0].1, bobs.id.to_string());
        assert_eq!(
            all[0].0,
            format!("#{} · $12.50 gift · ACC-2 · never expires", bobs.id)
        );
        assert!(
            all.iter().any(|(name, _)| name.contains(" · ACC-1042 · ")),
            "{all:?}"
        );
        let typed = bobs.id.to_string();
        let one = suggest(
            &assistant,
            &who("boss"),
            now,
            "admin expiry",
            "grant",
            &format!("#{typed}"),
            &[],
        );
        assert!(!one.is_empty());
        assert!(one.iter().all(|(_, id)| id.starts_with(&typed)), "{one:?}");
        assert!(
            suggest(
                &assistant,
                &who("boss"),
                now,
                "admin revoke",
                "grant",
                "x",
                &[]
            )
            .is_empty()
        );
        // Only live grants: a spent or revoked one isn't offered.
        ledger
            .revoke(&Act::new("boss", now, "r-bob"), bobs.id, "test")
            .unwrap();
        let after = suggest(
            &assistant,
            &who("boss"),
            now,
            "admin revoke",
            "grant",
            "",
            &[],
        );
        assert!(after.iter().all(|(_, id)| *id != typed), "{after:?}");
        assert!(
            suggest(
                &assistant,
                &who("bob"),
                now,
                "admin revoke",
                "grant",
                "",
                &[]
            )
            .is_empty()
        );
    }

    #[test]
    fn grants_only_for_admins_and_only_with_a_member() {
        let (assistant, _dir, now) = world();
        type Case = (&'static str, &'static str, Vec<(String, String)>, bool);
        let table: Vec<Case> = vec![
            ("boss", "admin revoke", member("alice"), true),
            ("boss", "admin expiry", member("<@alice>"), true),
            ("boss", "admin revoke", vec![], true),
            ("boss", "admin revoke", member(""), true),
            ("boss", "admin revoke", member("stranger"), false),
            ("alice", "admin revoke", vec![], false),
            ("alice", "admin revoke", member("alice"), false),
        ];
        for (user, path, others, some) in table {
            let found = suggest(&assistant, &who(user), now, path, "grant", "", &others);
            assert_eq!(!found.is_empty(), some, "{user} {path} {others:?}");
            for (name, value) in &found {
                assert!(name.starts_with(&format!("#{value} · $")), "{name}");
                assert!(name.contains("expires"), "{name}");
            }
        }
        let all = suggest(
            &assistant,
            &who("boss"),
            now,
            "admin revoke",
            "grant",
            "",
            &member("alice"),
        );
        let first = &all[0].1;
        let one = suggest(
            &assistant,
            &who("boss"),
            now,
            "admin revoke",
            "grant",
            &format!("#{first}"),
            &member("alice"),
        );
        assert!(one.iter().any(|(_, v)| v == first));
    }

    #[test]
    fn unknown_options_get_nothing() {
        let (assistant, _dir, now) = world();
        assert!(suggest(&assistant, &who("alice"), now, "balance", "x", "", &[]).is_empty());
    }
}
