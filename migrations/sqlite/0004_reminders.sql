-- Expiry reminders, and the effective time of journal entries.

-- When a journal entry took effect, when that isn't when it was written (`at`): a sweep's
-- expiry entry takes effect at the grant's expiry, whenever the sweep ran. NULL: at `at`.
ALTER TABLE journal ADD COLUMN effective_at INTEGER;

-- Sweeps before this migration wrote their entries under the key `sweep:{lot}:{expires_at}`
-- (then `:2`, `:3`…): the expiry they took effect at is in the key. The new column is filled
-- once, here; no entry's written content changes, and the journal stays append-only after.
DROP TRIGGER journal_is_append_only_update;
UPDATE journal
   SET effective_at = CAST(substr(op_key, length('sweep:' || lot_id || ':') + 1) AS INTEGER)
 WHERE kind = 'expire' AND lot_id IS NOT NULL AND op_key LIKE 'sweep:%';
CREATE TRIGGER journal_is_append_only_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;

-- History reads an account's entries by effective time.
CREATE INDEX journal_by_account_effective ON journal(account_id, coalesce(effective_at, at), id);

-- Closed accounts, few: a reminder run leaves their grants out with one look here instead of
-- a probe of `accounts` per grant.
CREATE INDEX accounts_closed ON accounts(id) WHERE closed = 1;

-- A member's reminder setting. No row: reminders on, at the configured days.
CREATE TABLE reminder_settings (
    member_id      TEXT PRIMARY KEY,
    enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    -- The first reminder this many days before an expiry (then the configured ones closer to
    -- it); NULL: the configured days.
    days_before    INTEGER CHECK (days_before BETWEEN 1 AND 60),
    -- Discord refused to DM them (50007, "cannot send messages to this user"): skipped until
    -- they run `/reminders on` again.
    undeliverable_at     INTEGER,
    undeliverable_reason TEXT,
    updated_at     INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per grant and threshold ever reminded (or being reminded): the primary key is what
-- makes "at most once per threshold, ever" hold across restarts and processes. A row is
-- claimed as 'sending' before the message goes out and never claimed again; it becomes
-- 'sent', or 'failed' with the reason.
CREATE TABLE reminders (
    lot_id         INTEGER NOT NULL REFERENCES lots(id),
    threshold_days INTEGER NOT NULL CHECK (threshold_days > 0),
    member_id      TEXT NOT NULL,
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    amount         INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    run_id         INTEGER,
    claimed_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    error          TEXT,
    PRIMARY KEY (lot_id, threshold_days)
) WITHOUT ROWID;
CREATE INDEX reminders_by_member ON reminders(member_id, claimed_at);

-- Each reminder run that sent (or tried to), for `/admin reminders`.
CREATE TABLE reminder_runs (
    id          INTEGER PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    sent        INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    -- JSON: {"skipped": {reason: count}, "failed": [{"member": …, "reason": …}]}
    detail      TEXT NOT NULL DEFAULT '{}'
);
