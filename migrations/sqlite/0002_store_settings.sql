-- The currency the database keeps its amounts in. Amounts are integer minor units, so they
-- mean something only with the number of decimals they were written with: reading them with
-- another would rescale every balance. One row, written by the first open that knows the
-- config (`db::keep_currency`, on creation); a database from before this migration adopts the
-- config's currency on its first open after it. creditbot never changes the row.
CREATE TABLE store_settings (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    currency TEXT NOT NULL,
    decimals INTEGER NOT NULL CHECK (decimals >= 0)
);
