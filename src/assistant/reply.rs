//! What the assistant answers: text and/or a card, privacy, and choices (buttons), kept
//! within Discord's limits by construction so that every transport can send it as is.

use serde::Serialize;

/// Discord's limits on one message.
pub mod limits {
    pub const TEXT: usize = 2_000;
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4_096;
    pub const FIELDS: usize = 25;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1_024;
    pub const FOOTER: usize = 2_048;
    /// All of a card's text together.
    pub const CARD_TOTAL: usize = 6_000;
    pub const CHOICES: usize = 5;
    pub const CHOICE_LABEL: usize = 80;
    pub const CHOICE_ID: usize = 100;
}

/// Card colours: the accent of normal answers, and of refusals.
pub const COLOUR_INFO: u32 = 0x2B8A3E;
pub const COLOUR_WARN: u32 = 0xE67700;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

/// A rich answer: an embed on Discord, a block of text in the console.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Card {
    pub title: String,
    pub description: String,
    pub fields: Vec<Field>,
    pub footer: String,
    pub colour: u32,
}

/// A button: `id` comes back as `Input::Choice` when pressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub text: String,
    pub card: Option<Card>,
    /// Only the asker may see it (ephemeral on Discord).
    pub private: bool,
    pub choices: Vec<Choice>,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            ..Reply::default()
        }
        .fitted()
    }

    pub fn private(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            private: true,
            ..Reply::default()
        }
        .fitted()
    }

    pub fn card(card: Card, private: bool) -> Self {
        Reply {
            card: Some(card),
            private,
            ..Reply::default()
        }
        .fitted()
    }

    pub fn with_choices(mut self, choices: Vec<Choice>) -> Self {
        self.choices = choices;
        self.fitted()
    }

    /// Cuts every part to Discord's limits, so no transport can send an oversized message.
    /// Lists should be paged before they get here; this is the last line of defence.
    pub fn fitted(mut self) -> Self {
        self.text = clip(&self.text, limits::TEXT);
        self.choices.truncate(limits::CHOICES);
        for choice in &mut self.choices {
            choice.label = clip(&choice.label, limits::CHOICE_LABEL);
            choice.id = clip(&choice.id, limits::CHOICE_ID);
        }
        if let Some(card) = self.card.as_mut() {
            card.title = clip(&card.title, limits::TITLE);
            card.description = clip(&card.description, limits::DESCRIPTION);
            card.footer = clip(&card.footer, limits::FOOTER);
            card.fields.truncate(limits::FIELDS);
            for field in &mut card.fields {
                field.name = clip(&field.name, limits::FIELD_NAME);
                field.value = clip(&field.value, limits::FIELD_VALUE);
            }
            // Over the total: drop fields from the end, then shorten the description.
            while card.total_chars() > limits::CARD_TOTAL && !card.fields.is_empty() {
                card.fields.pop();
            }
            if card.total_chars() > limits::CARD_TOTAL {
                let room =
                    limits::CARD_TOTAL - (card.total_chars() - card.description.chars().count());
                card.description = clip(&card.description, room);
            }
        }
        self
    }

    /// True when every part is within Discord's limits.
    pub fn within_limits(&self) -> bool {
        let chars = |s: &str| s.chars().count();
        chars(&self.text) <= limits::TEXT
            && self.choices.len() <= limits::CHOICES
            && self.card.as_ref().is_none_or(|card| {
                chars(&card.title) <= limits::TITLE
                    && chars(&card.description) <= limits::DESCRIPTION
                    && chars(&card.footer) <= limits::FOOTER
                    && card.fields.len() <= limits::FIELDS
                    && card.fields.iter().all(|f| {
                        chars(&f.name) <= limits::FIELD_NAME
                            && chars(&f.value) <= limits::FIELD_VALUE
                    })
                    && card.total_chars() <= limits::CARD_TOTAL
            })
    }

    /// The reply as plain text (the console, logs of tests, a DM fallback).
    pub fn to_plain_text(&self) -> String {
        let mut out = String::new();
        if let Some(card) = &self.card {
            out.push_str(&card.title);
            out.push('\n');
            if !card.description.is_empty() {
                out.push_str(&card.description);
                out.push('\n');
            }
            for field in &card.fields {
                if field.name.is_empty() || field.name == "\u{200b}" {
                    out.push_str(&format!("{}\n", field.value));
                } else if field.value.contains('\n') {
                    out.push_str(&format!("{}\n{}\n", field.name, field.value));
                } else {
                    out.push_str(&format!("{}  {}\n", field.name, field.value));
                }
            }
            if !card.footer.is_empty() {
                out.push_str(&card.footer);
                out.push('\n');
            }
        }
        if !self.text.is_empty() {
            out.push_str(&self.text);
            out.push('\n');
        }
        for (n, choice) in self.choices.iter().enumerate() {
            out.push_str(&format!("  [{}] {}\n", n + 1, choice.label));
        }
        out
    }
}

impl Card {
    fn total_chars(&self) -> usize {
        let chars = |s: &str| s.chars().count();
        chars(&self.title)
            + chars(&self.description)
            + chars(&self.footer)
            + self
                .fields
                .iter()
                .map(|f| chars(&f.name) + chars(&f.value))
                .sum::<usize>()
    }
}

/// At most `max` characters, ending in "…" when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_reply_is_cut_to_the_limits() {
        let card = Card {
            title: "t".repeat(300),
            description: "d".repeat(5_000),
            fields: (0..40)
                .map(|n| Field {
                    name: format!("f{n}"),
                    value: "v".repeat(2_000),
                    inline: false,
                })
                .collect(),
            footer: "f".repeat(3_000),
            colour: COLOUR_INFO,
        };
        let reply = Reply {
            text: "x".repeat(2_500),
            card: Some(card),
            private: true,
            choices: Vec::new(),
        };
        assert!(!reply.within_limits());
        let fitted = reply.fitted();
        assert!(fitted.within_limits());
        assert!(fitted.text.ends_with('…'));
    }

    #[test]
    fn plain_text_shows_card_then_text_then_choices() {
        let reply = Reply {
            text: "hello".into(),
            card: Some(Card {
                title: "T".into(),
                fields: vec![Field {
                    name: "Available".into(),
                    value: "$1.00".into(),
                    inline: true,
                }],
                ..Card::default()
            }),
            private: false,
            choices: vec![Choice {
                id: "a".into(),
                label: "A?".into(),
            }],
        };
        assert_eq!(
            reply.to_plain_text(),
            "T\nAvailable  $1.00\nhello\n  [1] A?\n"
        );
    }
}
