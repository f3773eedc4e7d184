//! `[discord] shard_ids` and `shard_count`: which of the bot's gateway shards this process
//! runs, checked into [`Shards`]. Plain data: the gateway module turns it into serenity's call.

use std::fmt;

/// The gateway shards one process runs: ids `first..=last` of `count` in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shards {
    first: u32,
    last: u32,
    count: u32,
}

impl Shards {
    /// The lowest id this process runs.
    pub fn first(&self) -> u32 {
        self.first
    }
    /// The highest id this process runs (inclusive).
    pub fn last(&self) -> u32 {
        self.last
    }
    /// How many shards the bot has across all its processes.
    pub fn count(&self) -> u32 {
        self.count
    }
}

/// "shards 1-2 of 4", "shard 2 of 4".
impl fmt::Display for Shards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "shard {} of {}", self.first, self.count)
        } else {
            write!(f, "shards {}-{} of {}", self.first, self.last, self.count)
        }
    }
}

/// A refusal: the key at fault and what is wrong with it.
pub type ShardsError = (&'static str, String);

/// Checks the two keys as written (`shard_ids` a string such as "0-3" or "2", or an integer,
/// which is what an environment variable such as `CREDITBOT_DISCORD_SHARD_IDS=2` becomes).
/// Both or neither: `None` for neither (serenity's autosharding).
pub fn check(
    shard_ids: Option<&toml::Value>,
    shard_count: Option<i64>,
) -> Result<Option<Shards>, ShardsError> {
    let (ids, count) = match (shard_ids, shard_count) {
        (None, None) => return Ok(None),
        (Some(ids), Some(count)) => (ids, count),
        (Some(_), None) => {
            return Err((
                "discord.shard_ids",
                "needs shard_count too (set both, or neither for automatic sharding)".into(),
            ));
        }
        (None, Some(_)) => {
            return Err((
                "discord.shard_count",
                "needs shard_ids too (set both, or neither for automatic sharding)".into(),
            ));
        }
    };
    let count = u32::try_from(count)
        .ok()
        .filter(|c| *c >= 1)
        .ok_or_else(|| ("discord.shard_count", format!("at least 1, not {count}")))?;
    let (first, last) = ids_of(ids).map_err(|message| ("discord.shard_ids", message))?;
    if first > last {
        return Err((
            "discord.shard_ids",
            format!("the range {first}-{last} is empty; write the lower id first ({last}-{first})"),
        ));
    }
    if last >= count {
        return Err((
            "discord.shard_ids",
            format!(
                "shard {last} doesn't exist: with shard_count = {count} the ids go from 0 to {}",
                count - 1
            ),
        ));
    }
    Ok(Some(Shards { first, last, count }))
}

/// "0-3" → (0, 3), "2" or 2 → (2, 2); the order of a range is checked by the caller.
fn ids_of(value: &toml::Value) -> Result<(u32, u32), String> {
    const SYNTAX: &str = "write one shard id (\"2\") or a range (\"0-3\")";
    let id = |text: &str| {
        let text = text.trim();
        // Digits only: `u32::from_str` would take "+1".
        text.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse::<u32>().ok())
            .flatten()
    };
    match value {
        toml::Value::Integer(n) => u32::try_from(*n)
            .map(|n| (n, n))
            .map_err(|_| format!("{n} isn't a shard id; {SYNTAX}")),
        toml::Value::String(text) => {
            let parsed = match text.split_once('-') {
                Some((first, last)) => id(first).zip(id(last)),
                None => id(text).map(|n| (n, n)),
            };
            parsed.ok_or_else(|| format!("\"{text}\" isn't a shard id or range; {SYNTAX}"))
        }
        other => Err(format!("a {}, not a string; {SYNTAX}", other.type_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> toml::Value {
        toml::Value::String(text.into())
    }

    #[test]
    fn ranges_single_ids_and_neither() {
        let shards = |first, last, count| Some(Shards { first, last, count });
        assert_eq!(check(None, None), Ok(None));
        assert_eq!(check(Some(&ids("0-3")), Some(8)), Ok(shards(0, 3, 8)));
        assert_eq!(check(Some(&ids(" 4 - 7 ")), Some(8)), Ok(shards(4, 7, 8)));
        assert_eq!(check(Some(&ids("2")), Some(4)), Ok(shards(2, 2, 4)));
        assert_eq!(
            check(Some(&toml::Value::Integer(2)), Some(4)),
            Ok(shards(2, 2, 4))
        );
        assert_eq!(check(Some(&ids("0")), Some(1)), Ok(shards(0, 0, 1)));
        assert_eq!(shards(1, 2, 4).unwrap().to_string(), "shards 1-2 of 4");
        assert_eq!(shards(2, 2, 4).unwrap().to_string(), "shard 2 of 4");
    }

    #[test]
    fn bad_values_are_refused_naming_key_and_problem() {
        let table: [(Option<toml::Value>, Option<i64>, ShardsError); 9] = [
            (
                Some(ids("0-3")),
                None,
                (
                    "discord.shard_ids",
                    "needs shard_count too (set both, or neither for automatic sharding)".into(),
                ),
            ),
            (
                None,
                Some(8),
                (
                    "discord.shard_count",
                    "needs shard_ids too (set both, or neither for automatic sharding)".into(),
                ),
            ),
            (
                Some(ids("0")),
                Some(0),
                ("discord.shard_count", "at least 1, not 0".into()),
            ),
            (
                Some(ids("0")),
                Some(-2),
                ("discord.shard_count", "at least 1, not -2".into()),
            ),
            (
                Some(ids("3-1")),
                Some(8),
                (
                    "discord.shard_ids",
                    "the range 3-1 is empty; write the lower id first (1-3)".into(),
                ),
            ),
            (
                Some(ids("4-8")),
                Some(8),
                (
                    "discord.shard_ids",
                    "shard 8 doesn't exist: with shard_count = 8 the ids go from 0 to 7".into(),
                ),
            ),
            (
                Some(ids("a-b")),
                Some(8),
                (
                    "discord.shard_ids",
                    "\"a-b\" isn't a shard id or range; write one shard id (\"2\") or a range (\"0-3\")"
                        .into(),
                ),
            ),
            (
                Some(toml::Value::Integer(-1)),
                Some(8),
                (
                    "discord.shard_ids",
                    "-1 isn't a shard id; write one shard id (\"2\") or a range (\"0-3\")".into(),
                ),
            ),
            (
                Some(toml::Value::Boolean(true)),
                Some(8),
                (
                    "discord.shard_ids",
                    "a boolean, not a string; write one shard id (\"2\") or a range (\"0-3\")"
                        .into(),
                ),
            ),
        ];
        for (shard_ids, count, refusal) in table {
            assert_eq!(
                check(shard_ids.as_ref(), count),
                Err(refusal),
                "{shard_ids:?} {count:?}"
            );
        }
    }
}
