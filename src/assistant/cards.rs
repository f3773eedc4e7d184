//! The cards and longer replies that show figures: a balance, what expires, an order item
//! by item, a page of history, `/help`, the FAQ's unanswered questions, and the figures the
//! FAQ fills into its answers. Layout only: every sentence comes from `text`.

use chrono::{DateTime, Utc};

use super::{
    Assistant, COLOUR_INFO, COMMANDS, Card, CommandSpec, Field, Result, Style, UserError, text,
};
use crate::faq;
use crate::ledger::{Account, Balance, HistoryPage, ItemKind, OrderBreakdown};
use crate::money::Credits;

/// How many recent orders personal FAQ answers mention.
const RECENT_ORDERS: usize = 3;
/// How many entries a page of history shows.
pub(super) const HISTORY_PER_PAGE: u32 = 10;
/// Room for the lines of a card's description, under Discord's 4,096.
const CARD_LINES_CHARS: usize = 3_500;

/// Who looks at a balance card: the member whose credits they are, or an admin (with the
/// member holding the account, if one does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Viewer<'a> {
    Own,
    Admin(Option<&'a str>),
}

impl Assistant {
    /// The balance as a card: the asker's own, or, for an admin, an account's (with the
    /// member holding it, if any), with grant numbers and wording about "this account".
    pub(super) fn balance_card(
        &self,
        balance: &Balance,
        title: &str,
        now: DateTime<Utc>,
        style: Style,
        viewer: Viewer,
    ) -> Card {
        let currency = self.ledger.currency();
        let with_ids = viewer != Viewer::Own;
        let mut description = text::available(&currency.format(balance.available));
        if balance.lots.is_empty() {
            description.push('\n');
            description.push_str(&match viewer {
                Viewer::Own => text::no_credits(balance.account_id.as_str()),
                Viewer::Admin(member) => text::member_has_no_credits(
                    balance.account_id.as_str(),
                    member.map(|m| style.member(m)).as_deref(),
                ),
            });
        } else {
            let lines: Vec<String> = balance
                .lots
                .iter()
                .map(|lot| format!("  {}", text::lot_line(lot, currency, now, style, with_ids)))
                .collect();
            description.push('\n');
            description.push_str(&text::pack_lines(
                &lines,
                CARD_LINES_CHARS,
                text::more_grants,
            ));
            let (soon, _) = balance.expiring_within(now, text::SOON_DAYS as u32);
            if soon.is_positive() {
                description.push('\n');
                description.push_str(&text::expiring_soon(&currency.format(soon)));
            }
        }
        Card {
            title: title.to_string(),
            description,
            fields: Vec::new(),
            footer: match viewer {
                Viewer::Own => text::balance_footer(),
                Viewer::Admin(member) => {
                    text::admin_account_footer(member.map(|m| style.member(m)).as_deref())
                }
            },
            colour: COLOUR_INFO,
        }
    }

    pub(super) fn expiry_text(
        &self,
        balance: &Balance,
        days: u32,
        now: DateTime<Utc>,
        style: Style,
    ) -> String {
        let currency = self.ledger.currency();
        if balance.lots.is_empty() {
            return text::no_credits(balance.account_id.as_str());
        }
        let Some((amount, at)) = balance.next_expiry() else {
            return text::none_expire(&currency.format(balance.available));
        };
        let mut out = text::next_expiry(&currency.format(amount), &style.date_relative(at, now));
        let (within, lots) = balance.expiring_within(now, days);
        if within.is_positive() {
            let lines: Vec<String> = lots
                .iter()
                .map(|lot| {
                    format!(
                        "  {}  {}  {}",
                        currency.format(lot.remaining),
                        text::source_label(lot),
                        lot.expires_at.map(|at| style.date(at)).unwrap_or_default()
                    )
                })
                .collect();
            out.push('\n');
            out.push_str(&text::expiring_within(days, &currency.format(within)));
            out.push('\n');
            out.push_str(&text::pack_lines(&lines, 1_500, text::more_expiring));
        } else {
            out.push('\n');
            out.push_str(&text::nothing_expires_within(days));
        }
        if let Some(never) = text::never_expiring(balance, currency) {
            out.push('\n');
            out.push_str(&never);
        }
        out.push('\n');
        out.push_str(text::EXPIRED_CANT_BE_SPENT);
        out
    }

    /// An order, item by item. `own` is whether the asker's account placed it (an admin may
    /// look at anyone's: then a return gives back to "the member's" credits, not "your");
    /// `admin` adds each item's id, which `/admin return item:` takes.
    pub(super) fn order_card(
        &self,
        order: &OrderBreakdown,
        own: bool,
        admin: bool,
        style: Style,
    ) -> Card {
        let currency = self.ledger.currency();
        let method = order
            .other_method
            .clone()
            .unwrap_or_else(|| text::OTHER_PAYMENT.into());
        let mut lines = Vec::new();
        let mut returns = Vec::new();
        for item in &order.items {
            let quantity = if item.quantity > 1 {
                format!(" ×{}", item.quantity)
            } else {
                String::new()
            };
            let mut parts = Vec::new();
            if item.credits.is_positive() {
                parts.push(text::credits_paid(
                    item.credits,
                    &item.credits_by_lot,
                    currency,
                ));
            }
            if item.other.is_positive() {
                parts.push(text::paid_by(&method, &currency.format(item.other)));
            }
            if item.kind == ItemKind::Physical {
                parts.push(text::PHYSICAL_NOT_BY_CREDITS.into());
            }
            if item.returned_quantity > 0 {
                parts.push(text::returned_part(item, currency));
            }
            let id = if admin {
                text::item_id(&item.sku)
            } else {
                String::new()
            };
            lines.push(format!(
                "  {}{id}{quantity}  {}  {}",
                item.title,
                currency.format(item.total),
                parts.join(" — ")
            ));
            if item.return_would_restore.is_positive() {
                returns.push(text::return_gives_back(
                    &item.title,
                    &currency.format(item.return_would_restore),
                    own,
                ));
            }
            if item.return_would_forfeit.is_positive() {
                returns.push(text::return_forfeits(
                    &currency.format(item.return_would_forfeit),
                    &item.title,
                ));
            }
        }
        let mut description = text::pack_lines(&lines, 2_500, text::more_items);
        let other = order
            .other_amount
            .is_positive()
            .then(|| currency.format(order.other_amount));
        description.push('\n');
        description.push_str(&text::credits_applied(
            &currency.format(order.credits_applied),
            other.as_deref().map(|amount| (amount, method.as_str())),
        ));
        if !returns.is_empty() {
            description.push('\n');
            description.push_str(&text::pack_lines(&returns, 800, text::more_returns));
        }
        Card {
            title: text::order_title(order.external_id.as_str(), &style.date(order.placed_at)),
            description,
            fields: Vec::new(),
            // Only where it is true: an order paid entirely with credits has no "rest".
            footer: if order.other_amount.is_positive() {
                text::ORDER_REST_FOOTER.into()
            } else {
                String::new()
            },
            colour: COLOUR_INFO,
        }
    }

    /// A page of an account's history as a card. The caller reads the page: the member's
    /// (`Ledger::history_at`) never carries the admins' notes, an admin's may.
    pub(super) fn history_card(
        &self,
        history: HistoryPage,
        title: &str,
        next_command: &str,
        style: Style,
    ) -> Result<Card> {
        let currency = self.ledger.currency();
        if history.page > history.pages {
            return Err(UserError::NoSuchPage {
                page: history.page,
                pages: history.pages,
                command: next_command.to_string(),
            }
            .into());
        }
        let lines: Vec<String> = history
            .entries
            .iter()
            .map(|e| text::history_line(e, currency, style))
            .collect();
        let description = if lines.is_empty() {
            text::NOTHING_ON_PAGE.to_string()
        } else {
            text::pack_lines(&lines, CARD_LINES_CHARS, text::more_on_page)
        };
        let footer = if history.page < history.pages {
            text::older_entries(next_command, history.page + 1)
        } else {
            text::THATS_EVERYTHING.to_string()
        };
        Ok(Card {
            title: text::history_title(title, history.page, history.pages),
            description,
            fields: Vec::new(),
            footer,
            colour: COLOUR_INFO,
        })
    }

    pub(super) fn help_card(&self, admin: bool) -> Card {
        let line = |spec: &CommandSpec| {
            let options: Vec<String> = spec
                .options
                .iter()
                .map(|o| {
                    if o.required {
                        format!("{}:", o.name)
                    } else {
                        format!("[{}:]", o.name)
                    }
                })
                .collect();
            let usage = if options.is_empty() {
                String::new()
            } else {
                format!(" {}", options.join(" "))
            };
            format!("/{}{usage} — {}", spec.path, spec.description)
        };
        let members: Vec<String> = COMMANDS
            .iter()
            .filter(|c| !c.is_admin())
            .map(line)
            .collect();
        let mut fields = vec![Field {
            name: text::HELP_COMMANDS.into(),
            value: members.join("\n"),
            inline: false,
        }];
        if admin {
            let admins: Vec<String> = COMMANDS.iter().filter(|c| c.is_admin()).map(line).collect();
            fields.push(Field {
                name: text::HELP_ADMIN_COMMANDS.into(),
                value: admins.join("\n"),
                inline: false,
            });
        }
        let topics: Vec<String> = self
            .faq
            .catalog()
            .intents
            .iter()
            .filter(|i| i.id != faq::NONE_ID)
            .map(|i| i.id.clone())
            .collect();
        Card {
            title: text::HELP_TITLE.into(),
            description: text::help_intro(),
            fields,
            footer: text::faq_topics(&topics),
            colour: COLOUR_INFO,
        }
    }

    pub(super) fn personal_figures(
        &self,
        account: &Account,
        now: DateTime<Utc>,
        style: Style,
    ) -> Result<faq::PersonalFigures> {
        let currency = self.ledger.currency();
        let balance = self.ledger.balance(&account.id, now)?;
        let (soon, _) = balance.expiring_within(now, text::SOON_DAYS as u32);
        let mut recent_orders = Vec::new();
        for summary in self.ledger.recent_orders(&account.id, RECENT_ORDERS)? {
            let breakdown = self.ledger.order_breakdown(&summary.external_id, now)?;
            let gives_back: Credits = breakdown.items.iter().map(|i| i.return_would_restore).sum();
            recent_orders.push(faq::OrderFigures {
                order_id: summary.external_id.into_string(),
                date: style.date(summary.placed_at),
                credits_applied: currency.format(summary.credits_applied),
                return_gives_back: gives_back
                    .is_positive()
                    .then(|| currency.format(gives_back)),
            });
        }
        Ok(faq::PersonalFigures {
            account: account.id.to_string(),
            balance: currency.format(balance.available),
            lots: balance
                .lots
                .iter()
                .map(|lot| faq::LotLine {
                    amount: currency.format(lot.remaining),
                    source: text::source_label(lot),
                    expires: lot
                        .expires_at
                        .map_or("never".into(), |at| style.date_relative(at, now)),
                })
                .collect(),
            next_expiry: balance.next_expiry().map(|(amount, at)| faq::NextExpiry {
                amount: currency.format(amount),
                date: style.date_relative(at, now),
            }),
            expiring_within_30_days: soon.is_positive().then(|| currency.format(soon)),
            recent_orders,
            never_expiring: text::never_expiring(&balance, currency),
        })
    }
}

/// The questions the FAQ couldn't answer, most asked first: (question, times, last asked).
pub(super) fn unanswered_card(rows: &[(String, u64, DateTime<Utc>)], style: Style) -> Card {
    let lines: Vec<String> = rows
        .iter()
        .map(|(question, times, last)| text::unanswered_line(question, *times, &style.date(*last)))
        .collect();
    Card {
        title: text::UNANSWERED_TITLE.into(),
        description: text::pack_lines(&lines, CARD_LINES_CHARS, text::more_unanswered),
        footer: text::UNANSWERED_FOOTER.into(),
        colour: COLOUR_INFO,
        ..Card::default()
    }
}
