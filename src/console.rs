//! The local console transport: lines in, replies out as plain text. A line starting with `/`
//! is a command with options written as on Discord (`name:value`, quote values with spaces),
//! anything else a question. On a terminal it has a prompt, line editing and history.

use chrono::{DateTime, Utc};
use std::io::{BufRead, IsTerminal, Write};

use crate::assistant::command::parse_typed;
use crate::assistant::{Assistant, Choice, Input, Place, Request, Who, confirm};
use crate::error::UserError;
use crate::lines::{Line, Lines};

/// Who the console user is and what time it is for them.
#[derive(Clone, Debug)]
pub struct Session {
    pub member: String,
    pub admin: bool,
    /// A fixed time for every line (`--now`), or the clock.
    pub now: Option<DateTime<Utc>>,
    /// Makes request ids unique across console sessions, so keys never collide.
    pub id: String,
}

impl Session {
    pub fn new(member: impl Into<String>, admin: bool, now: Option<DateTime<Utc>>) -> Self {
        let mut bytes = [0u8; 6];
        // A clash only matters for idempotency keys; fall back to the time if there's no randomness.
        if getrandom::fill(&mut bytes).is_err() {
            bytes
                .copy_from_slice(&Utc::now().timestamp_nanos_opt().unwrap_or(0).to_le_bytes()[..6]);
        }
        Session {
            member: member.into(),
            admin,
            now,
            id: hex::encode(bytes),
        }
    }

    pub fn prompt(&self) -> String {
        format!("{}> ", self.member)
    }

    pub fn banner(&self) -> String {
        format!(
            "creditbot console — you are {} ({}). /help lists commands, Ctrl-D quits.",
            self.member,
            if self.admin { "admin" } else { "member" }
        )
    }

    fn request(&self, number: usize, input: Input) -> Request {
        Request {
            id: format!("console-{}-{number}", self.id),
            who: Who {
                user_id: self.member.clone(),
                display_name: self.member.clone(),
                role_ids: Vec::new(),
            },
            place: Place::Console,
            now: self.now.unwrap_or_else(Utc::now),
            input,
        }
    }
}

/// Reads a console line: `None` for a blank line. A line starting with `/` is a command
/// (see `command::parse_typed`), anything else a question.
pub fn parse_line(line: &str) -> Result<Option<Input>, UserError> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    Ok(Some(match parse_typed(line) {
        Some((path, options)) => Input::Command { path, options },
        None => Input::Text(line.to_string()),
    }))
}

/// Answers one line; `None` for a blank line.
///
/// `pending` holds the choices ("Did you mean …?" buttons) of the previous reply: right
/// after one, typing its number picks it, as pressing the button would on Discord (and
/// `yes`/`no` answers a confirmation). Any
/// other line is read as usual, and every answer replaces `pending` with its own choices.
pub fn answer_line(
    assistant: &Assistant,
    session: &Session,
    number: usize,
    line: &str,
    pending: &mut Vec<Choice>,
) -> Option<String> {
    let picked = line
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|n| pending.get(n))
        .map(|choice| Input::Choice(choice.id.clone()))
        .or_else(|| confirm::typed_answer(pending, line));
    let reply = match picked
        .map(|input| Ok(Some(input)))
        .unwrap_or_else(|| parse_line(line))
    {
        Ok(None) => return None,
        Ok(Some(input)) => assistant.handle(&session.request(number, input)),
        Err(refusal) => crate::assistant::Reply::private(refusal.to_string()),
    };
    let mut text = reply.to_plain_text();
    match reply.choices.len() {
        0 => {}
        _ if confirm::is_confirmation(&reply.choices) => text.push_str("Type yes or no.\n"),
        2 => text.push_str("Type 1 or 2 to choose.\n"),
        n => text.push_str(&format!("Type a number from 1 to {n} to choose.\n")),
    }
    *pending = reply.choices;
    Some(text)
}

/// Runs the console until end of input. On a terminal: banner, prompt, editing, history.
/// Piped: each line is echoed after the prompt, so the output reads as a transcript.
pub fn run(assistant: &Assistant, session: &Session) -> std::io::Result<()> {
    if std::io::stdin().is_terminal() {
        run_terminal(assistant, session)
    } else {
        run_piped(
            assistant,
            session,
            std::io::stdin().lock(),
            std::io::stdout().lock(),
        )
    }
}

/// The expiry reminder the session's member would get now, as the console shows it when it
/// starts (nothing is recorded: the console is not a delivery). `None` when nothing is due,
/// reminders are off, or the database can't say.
pub fn due_reminder(assistant: &Assistant, session: &Session) -> Option<String> {
    let settings = assistant.reminder_settings();
    if !settings.enabled {
        return None;
    }
    let now = session.now.unwrap_or_else(Utc::now);
    let ledger = assistant.ledger();
    let due = crate::reminders::due_for_member(
        ledger,
        settings,
        &crate::ledger::MemberId::new(session.member.as_str()),
        now,
    )
    .ok()??;
    Some(format!(
        "Reminder: {}\n",
        crate::reminders::text::message(
            &due.grants,
            ledger.currency(),
            crate::assistant::Style::Plain,
            now
        )
    ))
}

/// Runs the console over piped input, writing a transcript to `out`. A line that isn't
/// UTF-8 is answered with what is wrong with it, and the session goes on.
pub fn run_piped(
    assistant: &Assistant,
    session: &Session,
    input: impl BufRead,
    mut out: impl Write,
) -> std::io::Result<()> {
    if let Some(reminder) = due_reminder(assistant, session) {
        write!(out, "{reminder}")?;
    }
    let mut pending = Vec::new();
    for next in Lines::new(input) {
        let (number, line) = next?;
        let line = match line {
            Line::Text(line) => line,
            Line::Undecodable { .. } => {
                let problem = line.problem().unwrap_or_default();
                writeln!(out, "{}(line {number})", session.prompt())?;
                writeln!(out, "{problem}")?;
                out.flush()?;
                continue;
            }
        };
        if is_quit(&line) {
            break;
        }
        if let Some(answer) = answer_line(assistant, session, number, &line, &mut pending) {
            writeln!(out, "{}{}", session.prompt(), line.trim())?;
            write!(out, "{answer}")?;
            out.flush()?;
        }
    }
    Ok(())
}

fn run_terminal(assistant: &Assistant, session: &Session) -> std::io::Result<()> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new().map_err(std::io::Error::other)?;
    println!("{}", session.banner());
    if let Some(reminder) = due_reminder(assistant, session) {
        print!("{reminder}");
    }
    let mut number = 0;
    let mut pending = Vec::new();
    loop {
        match editor.readline(&session.prompt()) {
            Ok(line) => {
                if is_quit(&line) {
                    break;
                }
                number += 1;
                let _ = editor.add_history_entry(line.as_str());
                if let Some(answer) = answer_line(assistant, session, number, &line, &mut pending) {
                    print!("{answer}");
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            // A line that isn't UTF-8 (pasted binary, a wrong terminal encoding): say so, go on.
            Err(ReadlineError::Io(error)) if error.kind() == std::io::ErrorKind::InvalidData => {
                number += 1;
                println!("That line isn't UTF-8 text, so I skipped it.");
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(std::io::Error::other(e)),
        }
    }
    Ok(())
}

fn is_quit(line: &str) -> bool {
    matches!(line.trim(), "/quit" | "/exit")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(path: &str, options: &[(&str, &str)]) -> Option<Input> {
        Some(Input::Command {
            path: path.into(),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    #[test]
    fn reads_commands_options_and_questions() {
        assert_eq!(parse_line("  "), Ok(None));
        assert_eq!(
            parse_line("do my credits expire?"),
            Ok(Some(Input::Text("do my credits expire?".into())))
        );
        assert_eq!(parse_line("/balance"), Ok(command("balance", &[])));
        assert_eq!(
            parse_line(
                r#"/admin grant member:alice amount:12.50 expires:90 reason:"goodwill bonus""#
            ),
            Ok(command(
                "admin grant",
                &[
                    ("member", "alice"),
                    ("amount", "12.50"),
                    ("expires", "90"),
                    ("reason", "goodwill bonus")
                ]
            ))
        );
        assert_eq!(
            parse_line(r#"/ask question:"what's \"expiry\"?""#),
            Ok(command("ask", &[("question", "what's \"expiry\"?")]))
        );
        assert_eq!(
            parse_line("/order 7781"),
            Ok(command("order", &[("id", "7781")]))
        );
        assert_eq!(
            parse_line("/ask can I give credits to my brother"),
            Ok(command(
                "ask",
                &[("question", "can I give credits to my brother")]
            ))
        );
        assert_eq!(parse_line("/admin"), Ok(command("admin", &[])));
        assert_eq!(parse_line("/admin foo"), Ok(command("admin foo", &[])));
        // A command's one optional option may be typed bare too.
        assert_eq!(
            parse_line("/expiry sixty"),
            Ok(command("expiry", &[("days", "sixty")]))
        );
        assert_eq!(
            parse_line("/expiry 30"),
            Ok(command("expiry", &[("days", "30")]))
        );
        assert_eq!(
            parse_line("/history 2"),
            Ok(command("history", &[("page", "2")]))
        );
        assert_eq!(
            parse_line("/order #7781"),
            Ok(command("order", &[("id", "#7781")]))
        );
        // Two bare words for one optional option stay nameless, for the parser to refuse.
        assert_eq!(
            parse_line("/expiry 30 days"),
            Ok(command("expiry", &[("", "30"), ("", "days")]))
        );
    }
}
