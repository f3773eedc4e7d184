//! Several questions in one message: where a message may be cut into parts.
//!
//! Owns only the cutting of text; whether a cut is kept is decided by `Faq::understand`,
//! which keeps it only when each part is confidently about a different intent. Pure string
//! functions; must not import the ledger, the database or anything that talks to a network.
//!
//! Members chain questions with sentence ends ("how much do I have? when does it expire")
//! and with conjunctions ("can I transfer credits and do they expire"). A cut at every
//! "and" would also split "credits and a card" or "ebooks and music", which is why the
//! classifier has the last word: a part must be an answerable question on its own.

/// At most this many questions of one message are answered.
pub const MAX_PARTS: usize = 3;

/// Words that may join two questions. Cutting before one keeps it out of both parts.
const JOINERS: &[&str] = &["and", "also", "plus", "&", "but", "then"];

/// A part needs at least this many words to be a question of its own ("and why").
const MIN_PART_WORDS: usize = 2;

/// The candidate parts of `message`, in order: sentences (cut after `?`, `!`, `;`, a
/// line break, or a `.` before a space), each cut again before a joining word. Parts of
/// fewer than two words are merged into their neighbour. A message with no cut gives one
/// part, the message itself (trimmed).
pub fn candidate_parts(message: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for sentence in sentences(message) {
        let mut current: Vec<&str> = Vec::new();
        for word in sentence.split_whitespace() {
            let bare = word.trim_matches(|c: char| c == ',').to_lowercase();
            if JOINERS.contains(&bare.as_str()) && current.len() >= MIN_PART_WORDS {
                parts.push(current.join(" "));
                current.clear();
                continue;
            }
            current.push(word);
        }
        if !current.is_empty() {
            parts.push(current.join(" "));
        }
    }
    merge_short(parts)
}

/// Sentences of a message: cut after `?`, `!`, `;`, a line break, or a `.` followed by
/// whitespace (so "12.50" and "e.g." inside a word stay whole).
fn sentences(message: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = message.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_is_space = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        let ends = matches!(c, '?' | '!' | ';' | '\n') || (c == '.' && next_is_space);
        if ends {
            let end = i + c.len_utf8();
            let sentence = message[start..end].trim();
            if !sentence.is_empty() {
                out.push(sentence);
            }
            start = end;
        }
    }
    let rest = message[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Parts of fewer than `MIN_PART_WORDS` words (or with no letter) join the part before
/// them, or the next one when they come first.
fn merge_short(parts: Vec<String>) -> Vec<String> {
    let is_short = |part: &str| {
        part.split_whitespace().count() < MIN_PART_WORDS || !part.chars().any(char::is_alphabetic)
    };
    let mut out: Vec<String> = Vec::new();
    let mut carry: Option<String> = None;
    for part in parts {
        let part = match carry.take() {
            Some(before) => format!("{before} {part}"),
            None => part,
        };
        if is_short(&part) {
            match out.last_mut() {
                Some(last) => {
                    last.push(' ');
                    last.push_str(&part);
                }
                None => carry = Some(part),
            }
        } else {
            out.push(part);
        }
    }
    if let Some(part) = carry {
        out.push(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_sentence_ends_and_joining_words() {
        let cases: &[(&str, &[&str])] = &[
            (
                "can i transfer credits and do they expire",
                &["can i transfer credits", "do they expire"],
            ),
            (
                "how much do i have and when does it expire?",
                &["how much do i have", "when does it expire?"],
            ),
            (
                "how much do I have? when does it expire",
                &["how much do I have?", "when does it expire"],
            ),
            (
                "what's my balance; also can I give some to my brother",
                &["what's my balance;", "also can I give some to my brother"],
            ),
            (
                "line one here\nline two here",
                &["line one here", "line two here"],
            ),
            // Amounts and abbreviations are not sentence ends.
            (
                "will my $12.50 expire before christmas",
                &["will my $12.50 expire before christmas"],
            ),
            // A short piece joins its neighbour rather than standing alone.
            ("and why", &["and why"]),
            ("hi! how much do i have", &["hi! how much do i have"]),
            ("how much do i have? thx", &["how much do i have? thx"]),
            ("", &[]),
        ];
        for (message, expected) in cases {
            assert_eq!(candidate_parts(message), *expected, "{message:?}");
        }
    }

    #[test]
    fn a_joining_word_at_the_start_is_kept() {
        assert_eq!(
            candidate_parts("and do my credits expire"),
            ["and do my credits expire"]
        );
    }
}
