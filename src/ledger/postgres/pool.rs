//! The PostgreSQL store's connections: at most `pool_size` open at once, reused, and replaced
//! when found broken, so the store comes back by itself after the database does.

use super::PgOptions;
use crate::error::{Error, Result};
use postgres::config::Host;
use postgres::{Client, Config, NoTls, Statement};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One connection and the statements prepared on it.
pub(super) struct Conn {
    pub client: Client,
    pub statements: HashMap<String, Statement>,
}

pub(super) struct Pool {
    config: Config,
    /// `host:port`, the only part of the URL any message shows.
    address: String,
    size: usize,
    wait: Duration,
    slots: Mutex<Slots>,
    returned: Condvar,
}

struct Slots {
    idle: Vec<Conn>,
    /// Connections handed out and not back yet (or being opened).
    out: usize,
}

impl Drop for Pool {
    /// Closing a `postgres::Client` blocks on a small runtime of its own, which an async
    /// runtime refuses on a thread that drives its tasks, and that is where `serve` lets go
    /// of its ledger at shutdown. So the idle connections are closed on a thread of their
    /// own, waited for.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

/// A connection taken from the pool; back to it when dropped, unless it is broken.
pub(super) struct Pooled<'p> {
    pool: &'p Pool,
    conn: Option<Conn>,
}

impl Pool {
    /// A pool for `url`, with one connection opened now: an unreachable database or a wrong
    /// URL is said at start, not at the first request.
    pub fn new(url: &str, options: &PgOptions) -> Result<Pool> {
        let mut config = Config::from_str(url).map_err(|e| {
            // The parser's messages name the part at fault, never its value.
            Error::internal("reading the PostgreSQL URL", e.to_string())
        })?;
        config.connect_timeout(options.connect_timeout);
        let pool = Pool {
            address: address(&config),
            config,
            size: options.pool_size.max(1),
            wait: options.connect_timeout,
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                out: 0,
            }),
            returned: Condvar::new(),
        };
        let first = pool.connect()?;
        pool.lock().idle.push(first);
        Ok(pool)
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn size(&self) -> usize {
        self.size
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn connect(&self) -> Result<Conn> {
        let client = self.config.connect(NoTls).map_err(|e| {
            Error::internal(
                format!("can't reach PostgreSQL at {}", self.address),
                e.to_string(),
            )
        })?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    /// A connection: an idle one that isn't known broken, else a new one while fewer than
    /// `size` are out, else the next one given back (waiting at most the connect timeout).
    pub fn get(&self) -> Result<Pooled<'_>> {
        let give_up_at = Instant::now() + self.wait;
        let mut slots = self.lock();
        loop {
            while let Some(conn) = slots.idle.pop() {
                if !conn.client.is_closed() {
                    slots.out += 1;
                    return Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                    });
                }
            }
            if slots.out < self.size {
                slots.out += 1;
                drop(slots);
                return match self.connect() {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        self.give_back(None);
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= give_up_at {
                return Err(Error::internal(
                    format!("waiting for a connection to PostgreSQL at {}", self.address),
                    format!("all {} connections stayed busy", self.size),
                ));
            }
            slots = self
                .returned
                .wait_timeout(slots, give_up_at - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Takes a connection back; a broken one is dropped, and its slot opens for a new one.
    fn give_back(&self, conn: Option<Conn>) {
        let mut slots = self.lock();
        slots.out -= 1;
        if let Some(conn) = conn.filter(|conn| !conn.client.is_closed()) {
            slots.idle.push(conn);
        }
        drop(slots);
        self.returned.notify_one();
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        self.pool.give_back(self.conn.take());
    }
}

impl Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
            .as_ref()
            .expect("a pooled connection until dropped")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a pooled connection until dropped")
    }
}

/// `host:port` of the first host in `config` (a socket folder shows as its path).
fn address(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_named_by_host_and_port_without_the_password() {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let options = PgOptions {
            pool_size: 2,
            connect_timeout: Duration::from_secs(2),
        };
        let error = Pool::new("postgres://shop:s3cret-pw@127.0.0.1:1/ledger", &options)
            .err()
            .expect("nothing listens on port 1");
        let shown = format!("{error} {error:?}");
        assert!(
            shown.contains("can't reach PostgreSQL at 127.0.0.1:1"),
            "{shown}"
        );
        assert!(!shown.contains("s3cret-pw"), "{shown}");
    }

    #[test]
    fn a_malformed_url_is_refused_without_echoing_it() {
        let url = "postgres://shop:s3cret-pw@127.0.0.1:notaport/x";
        let error = Pool::new(url, &PgOptions::default())
            .err()
            .expect("a port must be a number");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
    }
}
