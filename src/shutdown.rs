//! Stop signals for the long-running transports (`run`, `serve`): the first SIGINT or SIGTERM
//! asks for a clean stop, which is over within [`STOP_WITHIN`] whatever state the transport is
//! in; a second signal ends the process at once. Transport glue: tokio only, no core types.
//!
//! Why stopping at once is safe: every ledger change is one SQLite transaction, so a write cut
//! short is rolled back when the database is next opened, and nothing half-done is kept.

use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// The promise: after the first signal the process has exited within this.
pub const STOP_WITHIN: Duration = Duration::from_secs(10);
/// How long a transport lets the work in hand (interactions, requests) finish after a stop is
/// asked for; what is still running then is abandoned.
pub const DRAIN: Duration = Duration::from_secs(5);
/// What `main` gives the runtime's remaining tasks (a blocking SQLite call among them) once the
/// transport has returned.
pub const RUNTIME_GRACE: Duration = Duration::from_secs(2);
/// The last resort: if the process is somehow still running this long after the first signal
/// (a call that ignores cancellation), it exits anyway, before `STOP_WITHIN` is up.
const HARD_STOP: Duration = Duration::from_millis(9_500);

/// A stop asked for by a signal. Cheap to clone.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves once a stop is asked for.
    pub async fn requested(&self) {
        let mut receiver = self.0.clone();
        // An error means the listener is gone, which happens only as the runtime shuts down.
        let _ = receiver.wait_for(|asked| *asked).await;
    }

    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

/// Listens for SIGINT and SIGTERM from now on. Call it inside a tokio runtime, before the
/// transport starts connecting, so a signal during startup is a clean stop too.
pub fn listen() -> std::io::Result<Stop> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (asked, stop) = watch::channel(false);
    tokio::spawn(async move {
        let (name, _) = next_signal(&mut terminate, &mut interrupt).await;
        tracing::info!(
            signal = name,
            "shutting down: finishing the work in hand (a second signal stops at once)"
        );
        let _ = asked.send(true);
        std::thread::spawn(|| {
            std::thread::sleep(HARD_STOP);
            tracing::warn!(
                seconds = HARD_STOP.as_secs_f64(),
                "still not stopped after the first signal; stopping at once"
            );
            std::process::exit(1);
        });
        let (name, number) = next_signal(&mut terminate, &mut interrupt).await;
        tracing::warn!(signal = name, "second signal: stopping at once");
        // The shell's convention for "ended by this signal".
        std::process::exit(128 + number);
    });
    Ok(Stop(stop))
}

async fn next_signal(terminate: &mut Signal, interrupt: &mut Signal) -> (&'static str, i32) {
    tokio::select! {
        _ = terminate.recv() => ("SIGTERM", 15),
        _ = interrupt.recv() => ("SIGINT", 2),
    }
}
