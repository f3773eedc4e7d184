-- creditbot's ledger. Money is INTEGER minor units; times are INTEGER unix seconds (UTC).
-- `journal` is append-only (enforced by triggers); `lots.remaining` is a cache of the sum of
-- the journal's deltas for that lot, kept in the same transaction as the entries.

CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    closed       INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1))
);

-- One member <-> at most one account, and one account <-> at most one member.
CREATE TABLE links (
    member_id  TEXT PRIMARY KEY,
    account_id TEXT NOT NULL UNIQUE REFERENCES accounts(id),
    linked_at  INTEGER NOT NULL,
    linked_by  TEXT NOT NULL
);

-- Single-use link codes, stored as SHA-256 of the normalised code.
CREATE TABLE link_codes (
    code_hash  TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    TEXT
);

CREATE TABLE lots (
    id         INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    amount     INTEGER NOT NULL CHECK (amount > 0),
    remaining  INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    source     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    expires_at INTEGER,               -- NULL: never expires
    refund_of_order INTEGER REFERENCES orders(id),
    revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))  -- an admin took it back
);
-- Balance reads: the live lots of one account.
CREATE INDEX lots_by_account ON lots(account_id, expires_at);
-- The sweep: lots with something left, by expiry.
CREATE INDEX lots_to_sweep ON lots(expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    external_id     TEXT NOT NULL UNIQUE,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    placed_at       INTEGER NOT NULL,
    credit_choice   TEXT NOT NULL,      -- 'all', 'none' or 'up_to:<minor units>'
    other_method    TEXT,
    credits_applied INTEGER NOT NULL,
    other_amount    INTEGER NOT NULL
);
CREATE INDEX orders_by_account ON orders(account_id, placed_at);

CREATE TABLE order_items (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders(id),
    line       INTEGER NOT NULL,
    sku        TEXT NOT NULL,
    title      TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('digital', 'physical')),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    credits    INTEGER NOT NULL CHECK (credits >= 0),   -- credits applied to the whole line
    UNIQUE (order_id, line),
    UNIQUE (order_id, sku)
);

-- One row per (order item, lot, amount) the spend took.
CREATE TABLE allocations (
    id            INTEGER PRIMARY KEY,
    order_item_id INTEGER NOT NULL REFERENCES order_items(id),
    lot_id        INTEGER NOT NULL REFERENCES lots(id),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    UNIQUE (order_item_id, lot_id)
);
CREATE INDEX allocations_by_lot ON allocations(lot_id);

CREATE TABLE returns (
    id               INTEGER PRIMARY KEY,
    return_id        TEXT NOT NULL UNIQUE,
    order_id         INTEGER NOT NULL REFERENCES orders(id),
    returned_at      INTEGER NOT NULL,
    credits_refunded INTEGER NOT NULL,
    other_refunded   INTEGER NOT NULL
);

CREATE TABLE return_items (
    return_row    INTEGER NOT NULL REFERENCES returns(id),
    order_item_id INTEGER NOT NULL REFERENCES order_items(id),
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    credits       INTEGER NOT NULL CHECK (credits >= 0),
    other         INTEGER NOT NULL CHECK (other >= 0),
    PRIMARY KEY (return_row, order_item_id)
);
CREATE INDEX return_items_by_item ON return_items(order_item_id);

-- One row per request carried out: its idempotency key, a fingerprint of what was asked,
-- and the first result, returned again when the same key comes back.
-- WITHOUT ROWID: the key is the table's only index, one B-tree fewer to write per change.
CREATE TABLE operations (
    idem_key    TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          INTEGER NOT NULL
) WITHOUT ROWID;

-- Every change, append-only. `amount` is the signed change to the lot's remaining.
CREATE TABLE journal (
    id            INTEGER PRIMARY KEY,
    entry_key     TEXT NOT NULL UNIQUE,     -- the operation's key + '#' + entry number
    op_key        TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('open', 'grant', 'spend', 'refund', 'reissue',
                      'revoke', 'expire', 'expiry_change', 'link', 'unlink', 'link_code', 'close')),
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    member_id     TEXT,
    lot_id        INTEGER REFERENCES lots(id),
    order_id      INTEGER REFERENCES orders(id),
    allocation_id INTEGER REFERENCES allocations(id),
    amount        INTEGER NOT NULL DEFAULT 0,
    detail        TEXT,
    actor         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX journal_by_account ON journal(account_id, at, id);
CREATE INDEX journal_by_allocation ON journal(allocation_id) WHERE allocation_id IS NOT NULL;

CREATE TRIGGER journal_is_append_only_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_is_append_only_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;

-- Questions the FAQ could not answer, for admins to see what the catalog lacks.
CREATE TABLE unanswered (
    id        INTEGER PRIMARY KEY,
    member_id TEXT NOT NULL,
    question  TEXT NOT NULL,
    asked_at  INTEGER NOT NULL
);
