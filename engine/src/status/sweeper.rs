//! The status sweeper: purges expired statuses from stores without a TTL of their own (the
//! embedded store). Listings never wait for it: every read filters by expiry already.

use std::sync::Arc;

use crate::clock::now_millis;
use crate::engine::Engine;

/// Most statuses purged in one store write; a larger backlog takes several in a row.
pub const SWEEP_BATCH: usize = 500;

impl Engine {
    /// Starts the periodic purge (every `status_sweep_interval`) on the current Tokio runtime.
    /// It stops when the engine is dropped.
    pub fn start_status_sweeper(self: &Arc<Self>) {
        let engine = Arc::downgrade(self);
        let every = self.config.status_sweep_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                engine.sweep_statuses().await;
            }
        });
    }

    /// One sweep: purges batches until a batch comes back short. Returns how many it purged.
    pub async fn sweep_statuses(&self) -> usize {
        let mut total = 0;
        loop {
            match self
                .store
                .purge_expired_statuses(now_millis(), SWEEP_BATCH)
                .await
            {
                Ok(n) => {
                    total += n;
                    crate::metrics::get().statuses_expired.inc_by(n as u64);
                    if n < SWEEP_BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "status sweep failed; retrying next time");
                    break;
                }
            }
        }
        if total > 0 {
            tracing::debug!(purged = total, "expired statuses purged");
        }
        total
    }
}
