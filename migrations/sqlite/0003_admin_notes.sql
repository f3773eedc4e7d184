-- Admin-only notes, link codes bound to the account's link state, and confirmations.

-- A note an admin wrote on a change (a grant, a revoke, an expiry change), keyed by the
-- change's idempotency key (`journal.op_key`). Kept apart from the journal's `reason`, which
-- the member reads: the member's history never reads this table, so a note can't reach them.
CREATE TABLE admin_notes (
    op_key TEXT PRIMARY KEY,
    note   TEXT NOT NULL CHECK (length(note) > 0),
    actor  TEXT NOT NULL,
    at     INTEGER NOT NULL
) WITHOUT ROWID;

-- A link code is void once its account gets linked by any other way (an admin's link, or
-- another code): redeeming it later, after that member unlinked, would show them the
-- earlier member's history.
ALTER TABLE link_codes ADD COLUMN voided_at INTEGER;
CREATE INDEX link_codes_open_by_account ON link_codes(account_id) WHERE used_at IS NULL AND voided_at IS NULL;

-- Changes that wait for the asker to confirm them (a button on Discord, yes/no in the
-- console). `request` is what to carry out, as JSON; `decided_at` is set once, so a
-- confirmation is accepted (or declined) at most once, and never after `expires_at`.
CREATE TABLE confirmations (
    id         TEXT PRIMARY KEY,
    asker      TEXT NOT NULL,
    request    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    decided_at INTEGER,
    decision   TEXT CHECK (decision IN ('yes', 'no'))
) WITHOUT ROWID;
CREATE INDEX confirmations_open_by_asker ON confirmations(asker) WHERE decided_at IS NULL;
