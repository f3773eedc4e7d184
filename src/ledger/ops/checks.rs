//! Checks on the text a request carries (ids, reasons, notes) before anything is written: no
//! look-alike ids, no control characters, nothing too long.

use crate::error::{Field, Result, UserError};

/// The longest id, SKU, title, reason or method name the ledger stores.
const MAX_TEXT: usize = 200;

pub(super) fn check_text(field: Field, value: &str) -> Result<(), UserError> {
    if value.trim().is_empty() {
        return Err(UserError::EmptyField { field });
    }
    check_optional_text(field, value)
}

/// An id (account, member, order, return, SKU): text that other records and people match
/// exactly, so one with a space around it or an invisible character would be a second,
/// look-alike id.
pub(super) fn check_id(field: Field, value: &str) -> Result<(), UserError> {
    check_text(field, value)?;
    if value.trim() != value {
        return Err(UserError::SurroundingSpace { field });
    }
    if value.chars().any(is_invisible_format) {
        return Err(UserError::InvisibleCharacters { field });
    }
    // "Å" as one character or as "A" + ring would be two ids that look the same.
    if !unicode_normalization::is_nfc(value) {
        return Err(UserError::DecomposedLetters { field });
    }
    Ok(())
}

/// Unicode's format characters (general category Cf): invisible, and able to make two ids
/// look the same (zero-width spaces and joiners, direction marks and overrides, the BOM, …).
/// Allowed in free text, where emoji sequences use joiners; refused in ids.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
}

/// An admin's note: free text like a reason, and not empty (no note is no call).
pub fn check_note(note: &str) -> Result<(), UserError> {
    check_text(Field::Note, note)
}

pub(super) fn check_optional_text(field: Field, value: &str) -> Result<(), UserError> {
    if value.chars().any(char::is_control) {
        return Err(UserError::ControlCharacters { field });
    }
    let length = value.chars().count();
    if length > MAX_TEXT {
        return Err(UserError::FieldTooLong {
            field,
            length,
            max: MAX_TEXT,
        });
    }
    Ok(())
}

pub(super) fn or_default<'a>(text: &'a str, default: &'a str) -> &'a str {
    let trimmed = text.trim();
    if trimmed.is_empty() { default } else { trimmed }
}
