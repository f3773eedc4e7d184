//! Confirmations: changes that are easy to regret (a member's `/unlink`, a large or repeated
//! grant, a large revoke) first ask "are you sure?" with two buttons (`yes`/`no` in the
//! console). What to carry out is stored by the ledger under a confirmation id, which the
//! buttons carry; it can be accepted once, by whoever asked, within `TTL_SECONDS`.
//!
//! Like the rest of the assistant it knows nothing of Discord: buttons are `Choice`s.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::{Choice, Input};

/// How long a confirmation can be accepted.
pub const TTL_SECONDS: i64 = 60;
/// A grant repeating the same member, amount and reason within this many minutes asks first.
pub const REPEAT_MINUTES: i64 = 10;

const PREFIX: &str = "confirm:";

pub use crate::config::ConfirmSettings;

pub fn ttl() -> Duration {
    Duration::seconds(TTL_SECONDS)
}

pub fn repeat_window() -> Duration {
    Duration::minutes(REPEAT_MINUTES)
}

/// The command a confirmation carries out, as it was typed, and the question it asked (a
/// retried request reads the same question again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub path: String,
    pub options: Vec<(String, String)>,
    pub question: String,
    /// The accepting and declining buttons' labels.
    pub yes: String,
    pub no: String,
}

/// The two buttons: accept, then decline.
pub fn choices(id: &str, yes: &str, no: &str) -> Vec<Choice> {
    vec![
        Choice {
            id: format!("{PREFIX}{id}:yes"),
            label: yes.to_string(),
        },
        Choice {
            id: format!("{PREFIX}{id}:no"),
            label: no.to_string(),
        },
    ]
}

/// A pressed confirmation button: (confirmation id, accepted).
pub fn parse_choice(choice: &str) -> Option<(&str, bool)> {
    let rest = choice.strip_prefix(PREFIX)?;
    let (id, answer) = rest.rsplit_once(':')?;
    match answer {
        "yes" => Some((id, true)),
        "no" => Some((id, false)),
        _ => None,
    }
}

/// The console's way to press a confirmation button: `yes`/`y` or `no`/`n` typed right
/// after the question.
pub fn typed_answer(pending: &[Choice], line: &str) -> Option<Input> {
    let wanted = match line.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" => ":yes",
        "no" | "n" => ":no",
        _ => return None,
    };
    pending
        .iter()
        .find(|c| c.id.starts_with(PREFIX) && c.id.ends_with(wanted))
        .map(|c| Input::Choice(c.id.clone()))
}

/// True when these choices are a confirmation's buttons.
pub fn is_confirmation(choices: &[Choice]) -> bool {
    choices.iter().any(|c| c.id.starts_with(PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_carry_the_id_and_the_answer() {
        let [yes, no] = <[Choice; 2]>::try_from(choices("ab12", "Grant", "Cancel")).unwrap();
        assert_eq!(parse_choice(&yes.id), Some(("ab12", true)));
        assert_eq!(parse_choice(&no.id), Some(("ab12", false)));
        assert_eq!(parse_choice("faq:expiry"), None);
        assert_eq!(parse_choice("confirm:ab12:maybe"), None);
        let pending = vec![yes.clone(), no.clone()];
        assert_eq!(typed_answer(&pending, " YES "), Some(Input::Choice(yes.id)));
        assert_eq!(typed_answer(&pending, "n"), Some(Input::Choice(no.id)));
        assert_eq!(typed_answer(&pending, "1"), None);
        assert_eq!(typed_answer(&[], "yes"), None);
    }
}
