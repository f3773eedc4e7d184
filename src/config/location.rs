//! Where the ledger lives: a SQLite file or a PostgreSQL URL, parsed from `[database] url`,
//! `path`, `CREDITBOT_DATABASE_URL` or `--db` into one typed value.
//!
//! A PostgreSQL URL may carry a password, so [`PostgresUrl`] keeps the text private and shows
//! itself (`Display` and `Debug`) with the password replaced by `***`; refusals name what is
//! wrong without repeating the URL. Opening a connection is the store's business, not this
//! module's: nothing here touches a file or the network.

use std::fmt;
use std::path::{Path, PathBuf};

/// PostgreSQL's port when a URL names none.
pub const POSTGRES_DEFAULT_PORT: u16 = 5432;

/// The database the ledger is kept in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// A SQLite file (created when a command that sets one up finds none).
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
}

/// Why a database location was refused. No variant carries the URL or any part of it that
/// could be its password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error(
        "it is empty; write a file path, sqlite:PATH or postgres://user:password@host:port/database"
    )]
    Empty,
    #[error(
        "unknown database URL scheme \"{0}\"; write a file path, sqlite:PATH or postgres://user:password@host:port/database"
    )]
    UnknownScheme(String),
    #[error("no file after \"sqlite:\"; write sqlite:PATH")]
    EmptySqlitePath,
    #[error("the PostgreSQL URL names no host; write postgres://user:password@host:port/database")]
    MissingHost,
    #[error("the PostgreSQL URL's port isn't a number from 1 to 65535")]
    BadPort,
    #[error("the PostgreSQL URL's host has an unclosed \"[\" (an IPv6 address is written [::1])")]
    BadHost,
}

impl DatabaseLocation {
    /// Parses `url`-style text: `postgres://…` or `postgresql://…`, `sqlite:PATH` (also
    /// `sqlite://PATH`), another `scheme://` (refused), or else a plain file path.
    pub fn parse(text: &str) -> Result<DatabaseLocation, LocationError> {
        if text.trim().is_empty() {
            return Err(LocationError::Empty);
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            // `sqlite://x.db` is how several tools write `sqlite:x.db`; `sqlite:///abs` an
            // absolute path.
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(LocationError::EmptySqlitePath);
            }
            return Ok(DatabaseLocation::Sqlite(PathBuf::from(path)));
        }
        match scheme(text) {
            Some(postgres @ ("postgres" | "postgresql")) => {
                PostgresUrl::parse(text, postgres).map(Self::Postgres)
            }
            Some(other) => Err(LocationError::UnknownScheme(other.to_string())),
            None => Ok(DatabaseLocation::Sqlite(PathBuf::from(text))),
        }
    }

    /// `--db`'s value: a URL as [`parse`](Self::parse) reads it, or a path, which may be any
    /// bytes the system allows (it is not text, it can't be a URL).
    pub fn from_argument(value: PathBuf) -> Result<DatabaseLocation, LocationError> {
        match value.to_str() {
            Some(text) => DatabaseLocation::parse(text),
            None => Ok(DatabaseLocation::Sqlite(value)),
        }
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DatabaseLocation::Sqlite(path) => Some(path),
            DatabaseLocation::Postgres(_) => None,
        }
    }
}

/// Shows a path as it is and a URL without its password: safe in a log line.
impl fmt::Display for DatabaseLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseLocation::Sqlite(path) => write!(f, "{}", path.display()),
            DatabaseLocation::Postgres(url) => write!(f, "{url}"),
        }
    }
}

/// The scheme of `scheme://…` text (RFC 3986's letters, digits, `+`, `-`, `.`), if it is one.
fn scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// A checked `postgres://` URL. The full text (password included) is only handed out by
/// [`expose`](Self::expose), for the store to connect with.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    full: String,
    scheme: String,
    user: Option<String>,
    has_password: bool,
    host: String,
    port: u16,
    /// What follows the host and port: `/database` and `?parameters`, as written.
    rest: String,
}

impl PostgresUrl {
    /// Parses `postgres[ql]://[user[:password]@]host[:port][/database][?parameters]`, whose
    /// `scheme` [`DatabaseLocation::parse`] has read.
    fn parse(text: &str, scheme: &str) -> Result<PostgresUrl, LocationError> {
        let after = &text[scheme.len() + "://".len()..];
        // The last `@` ends the user info, so a password holding an unescaped `@` still
        // splits where its writer meant.
        let (userinfo, hostpart) = match after.rfind('@') {
            Some(at) => (Some(&after[..at]), &after[at + 1..]),
            None => (None, after),
        };
        let authority_end = hostpart.find(['/', '?']).unwrap_or(hostpart.len());
        let (authority, rest) = hostpart.split_at(authority_end);
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err(LocationError::MissingHost);
        }
        let (user, has_password) = match userinfo {
            None => (None, false),
            Some(info) => match info.split_once(':') {
                Some((user, _password)) => (Some(user.to_string()), true),
                None => (Some(info.to_string()), false),
            },
        };
        Ok(PostgresUrl {
            full: text.to_string(),
            scheme: scheme.to_string(),
            user: user.filter(|u| !u.is_empty()),
            has_password,
            host: host.to_string(),
            port: port.unwrap_or(POSTGRES_DEFAULT_PORT),
            rest: rest.to_string(),
        })
    }

    /// `host:port`, for messages such as "can't reach PostgreSQL at host:port".
    pub fn host_port(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The URL as written, password included: for connecting, never for a message.
    pub fn expose(&self) -> &str {
        &self.full
    }
}

/// Splits `host[:port]` (`[v6]:port` for IPv6) without ever showing the text in an error:
/// a URL missing its `@` puts the password where the port would be.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), LocationError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6.find(']').ok_or(LocationError::BadHost)?;
        let after = &v6[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(LocationError::BadPort),
        };
        (&authority[..close + 2], port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(text) => match text.parse::<u16>() {
            // All digits: `+5432` parses as a u16 but isn't a port anyone writes.
            Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Some(port),
            _ => return Err(LocationError::BadPort),
        },
    };
    Ok((host, port))
}

/// `postgres://user:***@host:5432/database?parameters`, with any `…password=` parameter's
/// value hidden too.
impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
        }
        if self.has_password {
            f.write_str(":***")?;
        }
        if self.user.is_some() || self.has_password {
            f.write_str("@")?;
        }
        write!(f, "{}", self.host_port())?;
        let (path, query) = match self.rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (self.rest.as_str(), None),
        };
        f.write_str(path)?;
        if let Some(query) = query {
            f.write_str("?")?;
            for (n, pair) in query.split('&').enumerate() {
                if n > 0 {
                    f.write_str("&")?;
                }
                match pair.split_once('=') {
                    Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                        write!(f, "{key}=***")?
                    }
                    _ => f.write_str(pair)?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "pa55-W0rd";

    fn postgres(text: &str) -> PostgresUrl {
        match DatabaseLocation::parse(text) {
            Ok(DatabaseLocation::Postgres(url)) => url,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn paths_and_sqlite_urls_are_files() {
        for (text, path) in [
            ("creditbot.db", "creditbot.db"),
            (
                "/var/lib/creditbot/ledger.db",
                "/var/lib/creditbot/ledger.db",
            ),
            ("sqlite:shop.db", "shop.db"),
            ("sqlite://shop.db", "shop.db"),
            ("sqlite:///var/lib/shop.db", "/var/lib/shop.db"),
            ("./odd:name.db", "./odd:name.db"),
        ] {
            assert_eq!(
                DatabaseLocation::parse(text),
                Ok(DatabaseLocation::Sqlite(PathBuf::from(path))),
                "{text}"
            );
        }
    }

    #[test]
    fn postgres_urls_show_without_their_password() {
        let table = [
            (
                format!("postgres://shop:{PASSWORD}@db.internal:6432/ledger"),
                "postgres://shop:***@db.internal:6432/ledger",
                "db.internal:6432",
            ),
            (
                format!("postgresql://shop:{PASSWORD}@db/ledger?sslmode=require"),
                "postgresql://shop:***@db:5432/ledger?sslmode=require",
                "db:5432",
            ),
            (
                "postgres://localhost".to_string(),
                "postgres://localhost:5432",
                "localhost:5432",
            ),
            (
                "postgres://shop@[::1]:5433/ledger".to_string(),
                "postgres://shop@[::1]:5433/ledger",
                "[::1]:5433",
            ),
            (
                format!("postgres://shop:p@ss{PASSWORD}@db/ledger"),
                "postgres://shop:***@db:5432/ledger",
                "db:5432",
            ),
            (
                format!("postgres://db/ledger?user=shop&password={PASSWORD}"),
                "postgres://db:5432/ledger?user=shop&password=***",
                "db:5432",
            ),
        ];
        for (text, shown, host_port) in table {
            let url = postgres(&text);
            assert_eq!(url.to_string(), shown);
            assert_eq!(format!("{url:?}"), format!("PostgresUrl({shown})"));
            assert_eq!(url.host_port(), host_port);
            assert_eq!(url.expose(), text);
            let location = DatabaseLocation::Postgres(url);
            assert!(!location.to_string().contains(PASSWORD), "{location}");
            assert!(!format!("{location:?}").contains(PASSWORD));
        }
    }

    #[test]
    fn bad_urls_are_refused_naming_the_problem_but_never_the_password() {
        let table = [
            (
                format!("mysql://shop:{PASSWORD}@db/ledger"),
                "unknown database URL scheme \"mysql\"; write a file path, sqlite:PATH or postgres://user:password@host:port/database",
            ),
            (
                format!("postgres://shop:{PASSWORD}@/ledger"),
                "the PostgreSQL URL names no host; write postgres://user:password@host:port/database",
            ),
            (
                format!("postgres://shop:{PASSWORD}@db:54321x/ledger"),
                "the PostgreSQL URL's port isn't a number from 1 to 65535",
            ),
            (
                format!("postgres://shop:{PASSWORD}@db:70000/ledger"),
                "the PostgreSQL URL's port isn't a number from 1 to 65535",
            ),
            (
                "postgres://db:0/ledger".to_string(),
                "the PostgreSQL URL's port isn't a number from 1 to 65535",
            ),
            // The `@` forgotten: the password sits where the port goes, and isn't repeated.
            (
                format!("postgres://shop:{PASSWORD}/ledger"),
                "the PostgreSQL URL's port isn't a number from 1 to 65535",
            ),
            (
                "postgres://[::1/ledger".to_string(),
                "the PostgreSQL URL's host has an unclosed \"[\" (an IPv6 address is written [::1])",
            ),
            (
                "sqlite:".to_string(),
                "no file after \"sqlite:\"; write sqlite:PATH",
            ),
            (
                " ".to_string(),
                "it is empty; write a file path, sqlite:PATH or postgres://user:password@host:port/database",
            ),
        ];
        for (text, message) in table {
            let error = DatabaseLocation::parse(&text).unwrap_err().to_string();
            assert_eq!(error, message, "{text}");
            assert!(!error.contains(PASSWORD));
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_argument_that_is_not_text_is_a_path() {
        use std::os::unix::ffi::OsStringExt;
        let odd = PathBuf::from(std::ffi::OsString::from_vec(b"led\xffger.db".to_vec()));
        assert_eq!(
            DatabaseLocation::from_argument(odd.clone()),
            Ok(DatabaseLocation::Sqlite(odd))
        );
    }
}
