//! Plain-word questions answered: what the FAQ understood, completed in private places with
//! the asker's own figures from the ledger — the order they named, whether the grant
//! behind an amount expires before a date, what changed recently, who gave a grant — with
//! the figure or the yes/no first. Several questions in one message get one answer each,
//! in the order asked.
//!
//! Privacy: only the asker's own account is ever read here. An order id that belongs to
//! another account reads exactly like one that doesn't exist, and a mention of another
//! member (`can I send credits to @sam`) is never looked up.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use super::text::{self, Style};
use super::{Assistant, Choice, Reply, Request};
use crate::error::{Result, UserError};
use crate::faq::{self, DateMention, DateRelation, Decision, Entities, FaqReply, IntentIndex};
use crate::ledger::{Account, Lot, OrderId};
use crate::money::Credits;

/// How many recent changes "where did my credits go?" lists.
const RECENT_CHANGES: usize = 6;
/// How many grants "who gave me these credits?" lists when no amount narrows it.
const SOURCES_SHOWN: usize = 5;

/// What every answer to one message shares: who asks, where, and their account when the
/// place is private and they are linked.
struct Asking<'a> {
    request: &'a Request,
    private: bool,
    account: Option<Account>,
    /// The FAQ's view of the asker (their figures), read from the ledger only when an
    /// answer from the catalog needs it: ledger-made answers and "not understood" don't.
    asker: std::cell::OnceCell<faq::Asker>,
    style: Style,
}

impl Assistant {
    /// Answers free text (a DM, a mention, `/ask`, a console line).
    pub(super) fn answer_question(
        &self,
        request: &Request,
        question: &str,
        private: bool,
    ) -> Result<Reply> {
        let question = question.trim();
        if question.is_empty() {
            return Err(UserError::EmptyQuestion.into());
        }
        let understanding = self
            .faq
            .understand(question, &request.who.user_id, request.now);
        let entities = &understanding.entities;
        let asks_for_an_order = !entities.order_ids.is_empty();
        if understanding.is_unanswered() && !asks_for_an_order {
            self.ledger
                .record_unanswered(&request.who.member(), question, request.now)?;
        }
        let account = if private {
            self.ledger.account_for_member(&request.who.member())?
        } else {
            None
        };
        let asking = Asking {
            request,
            private,
            asker: std::cell::OnceCell::new(),
            account,
            style: self.style(request),
        };
        let reply = match &understanding.parts[..] {
            [one] => match one.found.decision {
                Decision::Answer(intent) => Reply::text(self.answer(intent, entities, &asking)?),
                // A bare order number ("7781?") is a question about that order.
                Decision::None if asks_for_an_order => {
                    Reply::text(self.answer(self.order_intent(), entities, &asking)?)
                }
                _ => self.faq_reply(&one.found, &asking),
            },
            several => {
                let mut answers = Vec::with_capacity(several.len());
                for part in several {
                    if let Decision::Answer(intent) = part.found.decision {
                        answers.push(self.answer(intent, entities, &asking)?);
                    }
                }
                Reply::text(answers.join("\n\n"))
            }
        };
        Ok(Reply { private, ..reply })
    }

    /// The asker's figures, read once per message.
    fn asker<'a>(&self, asking: &'a Asking) -> Result<&'a faq::Asker> {
        if asking.asker.get().is_none() {
            let asker = self.faq_asker_of(asking.request, asking.account.as_ref())?;
            let _ = asking.asker.set(asker);
        }
        Ok(asking.asker.get().expect("set just above"))
    }

    fn order_intent(&self) -> IntentIndex {
        self.faq
            .catalog()
            .position("order")
            .expect("the catalog validates that `order` exists")
    }

    /// The FAQ's own reply: a did-you-mean with its choices, or what the bot can help with.
    fn faq_reply(&self, found: &faq::Match, asking: &Asking) -> Reply {
        let place = if asking.private {
            faq::Place::Private
        } else {
            faq::Place::Public
        };
        // Only "did you mean" and "not understood" come here (answers go through
        // `answer`), and neither carries figures.
        match self.faq.reply(found, &faq::Asker::Unlinked, place) {
            FaqReply::Answer { text, .. } | FaqReply::NotUnderstood { text } => Reply::text(text),
            FaqReply::Choose { prompt, choices } => Reply::text(prompt).with_choices(
                choices
                    .iter()
                    .map(|(id, title)| Choice {
                        id: format!("faq:{id}"),
                        label: title.clone(),
                    })
                    .collect(),
            ),
        }
    }

    /// One intent's answer: from the ledger when the question is about the asker's own
    /// order, grants or recent changes and the place allows it, else the FAQ's answer.
    fn answer(&self, intent: IntentIndex, entities: &Entities, asking: &Asking) -> Result<String> {
        let id = self.faq.intent(intent).id.as_str();
        let order_id = entities.order_ids.first();
        if let Some(account) = &asking.account {
            match id {
                "order" | "refund" if order_id.is_some() => {
                    return self.order_answer(account, order_id.expect("checked"), asking);
                }
                "history" => return self.recent_changes(account, asking),
                "source" => return self.grant_sources(account, entities, asking),
                "expiry" if !entities.amounts.is_empty() || !entities.dates.is_empty() => {
                    return self.expiry_check(account, entities, asking);
                }
                _ => {}
            }
        }
        let place = if asking.private {
            faq::Place::Private
        } else {
            faq::Place::Public
        };
        let mut answer = self.faq.render(intent, self.asker(asking)?, place);
        if let Some(order) = order_id.filter(|_| !asking.private && id == "order") {
            answer.push('\n');
            answer.push_str(&text::order_privately(order));
        }
        Ok(answer)
    }

    /// "was credit used on order 7781?": yes or no first, then the breakdown. Another
    /// member's order reads exactly like one that doesn't exist.
    fn order_answer(&self, account: &Account, order_id: &str, asking: &Asking) -> Result<String> {
        let breakdown = match self
            .ledger
            .order_breakdown(&OrderId::new(order_id), asking.request.now)
        {
            Ok(breakdown) if breakdown.account_id == account.id => breakdown,
            Ok(_) | Err(crate::error::Error::User(UserError::UnknownOrder(_))) => {
                return Ok(text::order_not_on_your_account(order_id));
            }
            Err(other) => return Err(other),
        };
        let currency = self.ledger.currency();
        let first = text::order_credits_used(
            order_id,
            breakdown.credits_applied,
            breakdown.other_amount,
            breakdown.other_method.as_deref(),
            currency,
        );
        let card = self.order_card(&breakdown, true, false, asking.style);
        let mut lines = vec![first, card.title, card.description];
        if !card.footer.is_empty() {
            lines.push(card.footer);
        }
        Ok(lines.join("\n"))
    }

    /// "where did my credits go?": today's balance first, then what changed recently,
    /// newest first: spent, expired (dated when it expired, swept or not), revoked, back
    /// from a return.
    fn recent_changes(&self, account: &Account, asking: &Asking) -> Result<String> {
        let now = asking.request.now;
        let currency = self.ledger.currency();
        let style = asking.style;
        let balance = self.ledger.balance(&account.id, now)?;
        let mut changes: Vec<(DateTime<Utc>, String)> = Vec::new();
        let history = self.ledger.history_at(&account.id, now, 1, 50)?;
        for entry in &history.entries {
            if entry.amount.is_zero() || entry.kind == crate::ledger::JournalKind::Grant {
                continue;
            }
            changes.push((entry.at, text::history_line(entry, currency, style)));
        }
        // Credit that expired unswept is in `history_at` already, dated at its expiry.
        changes.sort_by_key(|&(at, _)| std::cmp::Reverse(at));
        let lines: Vec<String> = changes
            .into_iter()
            .take(RECENT_CHANGES)
            .map(|(_, line)| format!("  {line}"))
            .collect();
        Ok(text::recent_changes(
            &currency.format(balance.available),
            &lines,
        ))
    }

    /// "who gave me the $12.50 gift?": the grant behind that amount (or the latest
    /// grants), with its source and the reason the member may read.
    fn grant_sources(
        &self,
        account: &Account,
        entities: &Entities,
        asking: &Asking,
    ) -> Result<String> {
        let now = asking.request.now;
        let currency = self.ledger.currency();
        let mut lots = self.ledger.lots(&account.id)?;
        lots.sort_by(|a, b| b.granted_at.cmp(&a.granted_at).then(b.id.cmp(&a.id)));
        if lots.is_empty() {
            return Ok(text::no_credits(account.id.as_str()));
        }
        let (wanted, matching) = named_grants(&lots, entities, currency);
        let line = |lot: &Lot| text::grant_source_line(lot, now, currency, asking.style);
        if !matching.is_empty() {
            let lines: Vec<String> = matching
                .iter()
                .take(SOURCES_SHOWN)
                .map(|l| line(l))
                .collect();
            return Ok(lines.join("\n"));
        }
        let lines: Vec<String> = lots
            .iter()
            .take(SOURCES_SHOWN)
            .map(|lot| format!("  {}", line(lot)))
            .collect();
        let missing = (!wanted.is_empty()).then(|| currency.format(wanted[0]));
        Ok(text::grant_sources(missing.as_deref(), &lines))
    }

    /// "will my $10 expire before Christmas?": yes or no first, with the grant and its
    /// date; the amount narrows which grant, the date what "in time" means.
    fn expiry_check(
        &self,
        account: &Account,
        entities: &Entities,
        asking: &Asking,
    ) -> Result<String> {
        let now = asking.request.now;
        let currency = self.ledger.currency();
        let style = asking.style;
        let balance = self.ledger.balance(&account.id, now)?;
        if balance.lots.is_empty() {
            return Ok(text::no_credits(account.id.as_str()));
        }
        let (wanted, by_amount) = named_grants(&balance.lots, entities, currency);
        let (lots, named): (Vec<&Lot>, bool) = if by_amount.is_empty() {
            (balance.lots.iter().collect(), false)
        } else {
            (by_amount, true)
        };
        let grant = |lot: &Lot| {
            format!(
                "{} ({})",
                currency.format(lot.remaining),
                text::source_label(lot)
            )
        };
        let mut out = Vec::new();
        if !wanted.is_empty() && !named {
            out.push(text::no_grant_of(&currency.format(wanted[0])));
        }
        match entities.dates.first() {
            Some(date) => {
                let (start, end) = window(date);
                let hits: Vec<&&Lot> = lots
                    .iter()
                    .filter(|lot| {
                        lot.expires_at
                            .is_some_and(|at| start.is_none_or(|s| at >= s) && at < end)
                    })
                    .collect();
                let when = text::date_words(date, style);
                if hits.is_empty() {
                    let soonest = lots
                        .iter()
                        .filter_map(|lot| lot.expires_at.map(|at| (at, grant(lot))))
                        .min_by_key(|(at, _)| *at)
                        .map(|(at, what)| (what, style.date_relative(at, now)));
                    out.push(text::expires_in_window_no(&when, soonest));
                } else {
                    let grants: Vec<(String, String)> = hits
                        .iter()
                        .map(|lot| {
                            let at = lot.expires_at.expect("filtered on expiry");
                            (grant(lot), style.date_relative(at, now))
                        })
                        .collect();
                    out.push(text::expires_in_window_yes(&when, &grants));
                }
            }
            None => {
                for lot in lots.iter().take(SOURCES_SHOWN) {
                    out.push(format!(
                        "{} {}.",
                        grant(lot),
                        text::expiry_phrase(lot, now, style)
                    ));
                }
            }
        }
        Ok(out.join("\n"))
    }
}

/// The amounts a question names (in the configured currency) and the grants that have one
/// of them as their amount or what is left of it ("who gave me the $12.50?").
fn named_grants<'a>(
    lots: &'a [Lot],
    entities: &Entities,
    currency: &crate::money::Currency,
) -> (Vec<Credits>, Vec<&'a Lot>) {
    let wanted: Vec<Credits> = entities
        .amounts
        .iter()
        .filter_map(|amount| currency.from_decimal(*amount).ok())
        .collect();
    let named = lots
        .iter()
        .filter(|lot| {
            wanted
                .iter()
                .any(|&w| lot.amount == w || lot.remaining == w)
        })
        .collect();
    (wanted, named)
}

/// The instants a date mention covers: expiring at or after `start` (if any) and before
/// `end` counts as "in time" for it. "before Christmas" ends when Christmas starts; "by
/// Friday" includes Friday; "next month" is that whole month.
fn window(date: &DateMention) -> (Option<DateTime<Utc>>, DateTime<Utc>) {
    let midnight = |day: chrono::NaiveDate| day.and_time(NaiveTime::MIN).and_utc();
    match date.relation {
        DateRelation::Before => (None, midnight(date.from)),
        DateRelation::By => (None, midnight(date.to) + Duration::days(1)),
        DateRelation::On => (
            Some(midnight(date.from)),
            midnight(date.to) + Duration::days(1),
        ),
    }
}
