//! The background expiry sweep of the long-running transports (`run` with Discord, `serve`):
//! every so often, explicit expiry entries for the lots that expired, so history and money
//! conservation stay complete. Reads never depend on it (expired lots simply don't count).
//! Uses tokio's timer and `spawn_blocking`; no network.

use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

use crate::ledger::Ledger;

/// How often the long-running transports sweep.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);

/// Sweeps now and then every `every`, until the task is dropped or aborted.
pub async fn sweep_periodically(ledger: Arc<Ledger>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let ledger = Arc::clone(&ledger);
        match tokio::task::spawn_blocking(move || ledger.sweep_expired("sweeper", Utc::now())).await
        {
            Ok(Ok(report)) if report.lots > 0 => {
                tracing::info!(
                    lots = report.lots,
                    minor_units = report.amount.minor(),
                    "swept expired credits"
                )
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "the expiry sweep failed; it runs again later")
            }
            Err(error) => tracing::warn!(%error, "the expiry sweep task failed"),
        }
    }
}
