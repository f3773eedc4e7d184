//! The ledger's store interface (being built: see `ledger::ops` for the operations).

pub use super::ops::check_note;
pub use super::ops::reminders;
