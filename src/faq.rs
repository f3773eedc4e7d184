//! Question understanding (placeholder until the FAQ module lands).
use std::io::{BufRead, Write};
use std::path::Path;

/// `creditbot faq classify`: one `<intent>\t<score>` line per input line.
pub fn run_classify(_input: impl BufRead, _out: impl Write) -> std::io::Result<()> {
    Ok(())
}

/// `creditbot faq eval FILE`: accuracy, macro-F1, none-answered rate, wrong answers.
pub fn run_eval(_path: &Path, _out: impl Write) -> std::io::Result<()> {
    Ok(())
}
