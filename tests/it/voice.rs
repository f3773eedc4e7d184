//! One voice: the sentences members and admins read live in `src/assistant/text.rs`, and an
//! internal failure reads as one apology whose reference is the one in the log. The first is
//! a property of the source, so a test reads it (as `layers` does for imports).

use std::path::{Path, PathBuf};

/// The assistant's modules that handle requests: everything under `src/assistant` but the
/// words themselves (`text.rs`) and the command table (`command.rs`, where each command's
/// help is one row beside its path and options, by the rule "one definition per key").
fn handler_sources() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("assistant.rs")];
    let mut modules: Vec<PathBuf> = std::fs::read_dir(src.join("assistant"))
        .expect("read src/assistant")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name != "text.rs" && name != "command.rs"
        })
        .collect();
    modules.sort();
    files.extend(modules);
    files
}

/// A token of Rust source, as far as this test needs one.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    /// A string literal's contents as written (escapes not undone) and its line.
    Str(String, usize),
    Punct(char),
}

/// Splits Rust source into identifiers, string literals and punctuation, dropping comments,
/// numbers and char literals (lifetimes become a `'` and their name).
fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = line;
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    text.push(chars[i]);
                    i += 1;
                }
                if chars[i] == '\n' {
                    line += 1;
                }
                text.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(Token::Str(text, start));
        } else if c == '\'' {
            // A char literal ('"', '\n', '…'), or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                out.push(Token::Punct('\''));
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            // A raw string (r"…", r#"…"#, br"…"), else an identifier (r#type included).
            let prefix = if c == 'b' && at(i + 1) == 'r' { 2 } else { 1 };
            let mut hashes = 0;
            while at(i + prefix + hashes) == '#' {
                hashes += 1;
            }
            if (c == 'r' || prefix == 2) && at(i + prefix + hashes) == '"' {
                let start = line;
                let closing: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let body_start = i + prefix + hashes + 1;
                let rest: String = chars[body_start..].iter().collect();
                let end = rest.find(&closing).expect("a closed raw string");
                let text: String = rest[..end].to_string();
                line += text.matches('\n').count();
                i = body_start + text.chars().count() + closing.chars().count();
                out.push(Token::Str(text, start));
            } else {
                let mut name = String::new();
                while at(i).is_alphanumeric() || at(i) == '_' {
                    name.push(at(i));
                    i += 1;
                }
                out.push(Token::Ident(name));
            }
        } else if c.is_ascii_digit() {
            while at(i).is_alphanumeric() || at(i) == '_' || at(i) == '.' && at(i + 1) != '.' {
                i += 1;
            }
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// Calls and macros whose strings nobody reads in a reply: logs, panics and the context of
/// an internal error (which is logged, never shown).
const NOT_READ: &[&str] = &[
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "info_span",
    "debug_span",
    "error_span",
    "span",
    "event",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "expect",
    "internal",
];

/// The index just past the group that opens at `open` (`(`, `[` or `{`).
fn group_end(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Punct('(' | '[' | '{') => depth += 1,
            Token::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The string literals of `source` that a reply could show: not in comments, attributes,
/// `#[cfg(test)]` items, logs, panics or internal errors' contexts.
fn shown_literals(source: &str) -> Vec<(String, usize)> {
    let tokens = tokens(source);
    let mut out = Vec::new();
    // Each open group, and whether its strings are ones nobody reads.
    let mut open: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('#') => {
                let bracket = if tokens.get(i + 1) == Some(&Token::Punct('!')) {
                    i + 2
                } else {
                    i + 1
                };
                if tokens.get(bracket) == Some(&Token::Punct('[')) {
                    let end = group_end(&tokens, bracket);
                    let attribute = &tokens[bracket..end];
                    let is_test = attribute.contains(&Token::Ident("cfg".into()))
                        && attribute.contains(&Token::Ident("test".into()))
                        && !attribute.contains(&Token::Ident("not".into()));
                    i = end;
                    if is_test {
                        // Skip the item: to its `;`, or through its block.
                        while i < tokens.len() {
                            match tokens[i] {
                                Token::Punct(';') => {
                                    i += 1;
                                    break;
                                }
                                Token::Punct('{') => {
                                    i = group_end(&tokens, i);
                                    break;
                                }
                                _ => i += 1,
                            }
                        }
                    }
                    continue;
                }
                i += 1;
            }
            Token::Punct('(' | '[' | '{') => {
                let callee = match (i.checked_sub(2).map(|j| &tokens[j]), &tokens[i - 1]) {
                    (Some(Token::Ident(name)), Token::Punct('!')) => Some(name),
                    (_, Token::Ident(name)) => Some(name),
                    _ => None,
                };
                let unread = callee.is_some_and(|name| NOT_READ.contains(&name.as_str()));
                let inherited = open.last().copied().unwrap_or(false);
                open.push(inherited || unread);
                i += 1;
            }
            Token::Punct(')' | ']' | '}') => {
                open.pop();
                i += 1;
            }
            Token::Str(text, line) => {
                if !open.last().copied().unwrap_or(false) {
                    out.push((text.clone(), *line));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether a string literal reads as a sentence or a phrase of one: three or more words
/// (a word has a letter; `{placeholders}` and `\n` don't count), or two or more that start
/// with a capital letter or end with `.`, `!` or `?`. `"{} ({reason}) to {}"` is no
/// sentence; `"Their balance is now {}."` and `"credits can't pay physical items"` are.
fn is_sentence(literal: &str) -> bool {
    let mut plain = String::new();
    let mut depth = 0;
    for c in literal.replace("\\n", " ").replace("{{", "").chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let words = plain
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    let trimmed = plain.trim();
    let capital = trimmed.chars().next().is_some_and(char::is_uppercase);
    let ends = trimmed.ends_with(['.', '!', '?']);
    words >= 3 || (words >= 2 && (capital || ends))
}

fn inline_sentences() -> Vec<String> {
    let mut found = Vec::new();
    for path in handler_sources() {
        let source = std::fs::read_to_string(&path).expect("read a handler module");
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for (literal, line) in shown_literals(&source) {
            if is_sentence(&literal) {
                found.push(format!("{name}:{line}: \"{literal}\""));
            }
        }
    }
    found
}

/// Handlers pick a sentence from `text.rs` and fill in figures; they write none themselves.
#[test]
fn handlers_write_no_sentence_inline() {
    let found = inline_sentences();
    assert!(
        found.is_empty(),
        "{} sentences written inline; move them to src/assistant/text.rs:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_sentence_rule_tells_sentences_from_formats() {
    for sentence in [
        "Their balance is now {}.",
        "credits can't pay physical items",
        "Granted {} ({reason}) to {} · {expires} · grant #{}\\nTheir balance is now {}.",
        "Admin commands",
        "That's everything.",
        "/admin history member:{member}",
    ] {
        assert!(is_sentence(sentence), "{sentence}");
    }
    for format in [
        "  {}{id}{quantity}  {}  {}",
        "{} ({reason}) to {}",
        "faq:",
        "[{}:]",
        "/{}{usage} — {}",
        "other payment",
        "{}\\n{}",
    ] {
        assert!(!is_sentence(format), "{format}");
    }
}

#[test]
fn the_scanner_skips_comments_attributes_logs_and_tests() {
    let source = r##"
        // "A comment is no sentence."
        /* "Nor a block comment." */
        #[error("An attribute is skipped.")]
        fn f() {
            tracing::error!(reference = %r, "a log line is not a reply");
            let c = '"';
            let x: &'static str = r#"A raw "quoted" sentence."#;
            Error::internal("asking for a confirmation", "only a command can be confirmed");
            format!("Shown to a member: {}.", x)
        }
        #[cfg(test)]
        mod tests {
            fn t() { let _ = "A test's sentence."; }
        }
    "##;
    let shown: Vec<String> = shown_literals(source)
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    assert_eq!(
        shown,
        [
            "A raw \"quoted\" sentence.".to_string(),
            "Shown to a member: {}.".to_string()
        ]
    );
}

/// A log that tests can read: what a `tracing` subscriber writes, kept in memory.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Every internal failure reads as the one apology, whichever door it came through: a member's
/// command, an admin's, a question in a DM, a button, and the async door the Discord and HTTP
/// transports use. Each names its request's reference, and that reference is the one logged.
#[test]
fn every_internal_failure_reads_as_one_apology_with_the_logged_reference() {
    use creditbot::assistant::{Admins, Assistant, Input, Place, Reply, Request, Who, text};
    use creditbot::faq::Faq;
    use creditbot::ledger::Expiry;
    use std::sync::Arc;

    use crate::common::*;

    let ledger = ledger();
    open(&ledger, "ACC-1");
    link(&ledger, "l1", "alice", "ACC-1");
    ledger
        .grant(&admin("g1"), &grant_request("ACC-1", 10_00, Expiry::Never))
        .unwrap();
    let faq = Faq::builtin().unwrap();
    let topic = faq
        .catalog()
        .intents
        .iter()
        .find(|i| i.id != creditbot::faq::NONE_ID)
        .expect("a topic")
        .id
        .clone();
    let assistant = Arc::new(Assistant::new(
        Arc::new(
            creditbot::ledger::Ledger::open(
                &ledger.dir.path().join("ledger.db"),
                &creditbot::config::DatabaseConfig::default(),
                creditbot::ledger::LedgerSettings::default(),
            )
            .unwrap(),
        ),
        Arc::new(faq),
        Admins {
            user_ids: vec!["admin1".into()],
            role_ids: Vec::new(),
        },
    ));
    // The ledger fails beneath the assistant: who holds which account can't be read.
    rusqlite::Connection::open(ledger.dir.path().join("ledger.db"))
        .unwrap()
        .execute_batch("ALTER TABLE links RENAME TO links_gone")
        .unwrap();

    let request = |n: usize, user: &str, place: Place, input: Input| Request {
        id: format!("door-{n}"),
        who: Who {
            user_id: user.into(),
            display_name: user.into(),
            role_ids: Vec::new(),
        },
        place,
        now: now(),
        input,
    };
    let command = |line: &str| creditbot::console::parse_line(line).unwrap().unwrap();
    let doors = [
        request(1, "alice", Place::Console, command("/balance")),
        request(2, "alice", Place::DirectMessage, command("/order id:7781")),
        request(
            3,
            "admin1",
            Place::DirectMessage,
            command("/admin grant member:alice amount:5"),
        ),
        request(
            4,
            "alice",
            Place::DirectMessage,
            Input::Text("when do my credits expire?".into()),
        ),
        request(
            5,
            "alice",
            Place::DirectMessage,
            Input::Choice(format!("faq:{topic}")),
        ),
    ];

    let reference_shape = regex::Regex::new(r"E-[0-9A-F]{8}").unwrap();
    let check = |request: &Request, reply: &Reply, log: Option<&str>| {
        let reference = request.reference();
        assert!(
            reference_shape.is_match(&reference.to_string()),
            "{reference}"
        );
        assert!(reply.private && reply.card.is_none() && reply.choices.is_empty());
        assert_eq!(
            reply.text,
            text::internal_error(&reference),
            "door {}",
            request.id
        );
        if let Some(log) = log {
            assert!(
                log.contains(&format!("reference={reference}")),
                "door {}: {reference} is not in the log:\n{log}",
                request.id
            );
        }
        // The same apology at every door: only the reference differs.
        reply.text.replace(&reference.to_string(), "E-…")
    };

    let mut apologies = std::collections::BTreeSet::new();
    for door in &doors {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let reply = tracing::subscriber::with_default(subscriber, || assistant.handle(door));
        apologies.insert(check(door, &reply, Some(&log.text())));
    }
    // The async door (Discord's gateway and the HTTP interactions endpoint): the blocking
    // pool's thread logs elsewhere, so only the reply is read here.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let last = request(6, "alice", Place::DirectMessage, command("/balance"));
    let reply = runtime.block_on(creditbot::offload::answer(
        Arc::clone(&assistant),
        last.clone(),
    ));
    apologies.insert(check(&last, &reply, None));
    assert_eq!(apologies.len(), 1, "{apologies:#?}");
}
