//! Text input read a line at a time, where a line that isn't UTF-8 is one bad line (reported
//! by its number) rather than the end of the input. Shared by the importer and the console;
//! no I/O of its own beyond the reader it is given.

use std::io::BufRead;

/// One line of input, without its line ending (`\n` or `\r\n`).
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(String),
    /// Not UTF-8: `valid_up_to` bytes of it were, then came a byte that can't start or
    /// continue a character.
    Undecodable {
        valid_up_to: usize,
    },
}

impl Line {
    /// What to tell the reader about an undecodable line; `None` for text.
    pub fn problem(&self) -> Option<String> {
        match self {
            Line::Text(_) => None,
            Line::Undecodable { valid_up_to } => Some(format!(
                "The line isn't UTF-8 text (byte {} can't be read), so it was skipped.",
                valid_up_to + 1
            )),
        }
    }
}

/// The lines of `input`, numbered from 1, each decoded on its own.
pub struct Lines<R> {
    input: R,
    number: usize,
    consumed: u64,
    buffer: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R) -> Self {
        Lines {
            input,
            number: 0,
            consumed: 0,
            buffer: Vec::new(),
        }
    }

    /// Lines read so far.
    pub fn lines_read(&self) -> usize {
        self.number
    }

    /// Bytes read so far, line endings included (for a progress bar over a file's size).
    pub fn bytes_read(&self) -> u64 {
        self.consumed
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    /// The line's number and the line; an error ends the input.
    type Item = std::io::Result<(usize, Line)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.buffer.clear();
        let read = match self.input.read_until(b'\n', &mut self.buffer) {
            Ok(0) => return None,
            Ok(read) => read,
            Err(error) => return Some(Err(error)),
        };
        self.consumed += read as u64;
        self.number += 1;
        let mut bytes = self.buffer.as_slice();
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        let line = match std::str::from_utf8(bytes) {
            Ok(text) => Line::Text(text.to_string()),
            Err(error) => Line::Undecodable {
                valid_up_to: error.valid_up_to(),
            },
        };
        Some(Ok((self.number, line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_spoils_its_own_line_only() {
        let input: &[u8] = b"one\r\nt\xffwo\nthree";
        let lines: Vec<(usize, Line)> = Lines::new(input).map(Result::unwrap).collect();
        assert_eq!(
            lines,
            vec![
                (1, Line::Text("one".into())),
                (2, Line::Undecodable { valid_up_to: 1 }),
                (3, Line::Text("three".into())),
            ]
        );
        assert_eq!(
            lines[1].1.problem().unwrap(),
            "The line isn't UTF-8 text (byte 2 can't be read), so it was skipped."
        );
        let mut counted = Lines::new(input);
        counted.by_ref().for_each(drop);
        assert_eq!(counted.bytes_read(), input.len() as u64);
    }
}
