//! The engine's Prometheus metrics, registered in the process-wide default registry that
//! `/metrics` renders. Names are the contract with `ops/` dashboards and alerts.

use std::sync::OnceLock;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
};

pub struct EngineMetrics {
    pub live_sessions: IntGauge,
    pub live_chat_actors: IntGauge,
    /// Frames in from clients / pushes out to sockets, by type.
    pub events_in: IntCounterVec,
    pub events_out: IntCounterVec,
    /// From a send reaching its chat actor to its ack ("sent"): includes the durable write.
    pub send_to_ack: Histogram,
    /// From the store confirming an event to it being queued on every member's sockets.
    pub fanout: Histogram,
    /// Store write latency by operation.
    pub store_write: HistogramVec,
    pub slow_consumers: IntCounter,
    pub outbound_dropped: IntCounter,
    /// Notifications by provider and outcome (`delivered`, `failed`; provider `notifier`:
    /// `muted`, `blocked`, `online`, `dropped` for triggers that made none).
    pub notifications: IntCounterVec,
    pub statuses_posted: IntCounter,
    /// Expired statuses purged by the sweeper (stores with a TTL purge on their own).
    pub statuses_expired: IntCounter,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

fn build() -> Result<EngineMetrics, prometheus::Error> {
    let r = prometheus::default_registry();
    let h = |name: &str, help: &str| {
        Histogram::with_opts(HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()))
    };
    let m = EngineMetrics {
        live_sessions: IntGauge::new(
            "confab_live_sessions",
            "Open WebSocket sessions on this node",
        )?,
        live_chat_actors: IntGauge::new(
            "confab_live_chat_actors",
            "Chat actors running on this node",
        )?,
        events_in: IntCounterVec::new(
            Opts::new("confab_events_in_total", "Client frames received, by type"),
            &["type"],
        )?,
        events_out: IntCounterVec::new(
            Opts::new(
                "confab_events_out_total",
                "Pushes queued to sockets, by type",
            ),
            &["type"],
        )?,
        send_to_ack: h(
            "confab_send_to_ack_seconds",
            "Send received by its chat actor to ack (durable)",
        )?,
        fanout: h(
            "confab_fanout_seconds",
            "Event stored to queued on every member socket",
        )?,
        store_write: HistogramVec::new(
            HistogramOpts::new(
                "confab_store_write_seconds",
                "Store write latency by operation",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["op"],
        )?,
        slow_consumers: IntCounter::new(
            "confab_slow_consumer_disconnects_total",
            "Sessions closed because their outbound queue was full",
        )?,
        outbound_dropped: IntCounter::new(
            "confab_outbound_dropped_total",
            "Pushes not queued because the session's queue was full",
        )?,
        notifications: IntCounterVec::new(
            Opts::new(
                "confab_notifications_total",
                "Notifications by provider and outcome",
            ),
            &["provider", "outcome"],
        )?,
        statuses_posted: IntCounter::new("confab_statuses_posted_total", "Statuses posted")?,
        statuses_expired: IntCounter::new(
            "confab_statuses_expired_total",
            "Expired statuses purged by the sweeper",
        )?,
    };
    r.register(Box::new(m.live_sessions.clone()))?;
    r.register(Box::new(m.live_chat_actors.clone()))?;
    r.register(Box::new(m.events_in.clone()))?;
    r.register(Box::new(m.events_out.clone()))?;
    r.register(Box::new(m.send_to_ack.clone()))?;
    r.register(Box::new(m.fanout.clone()))?;
    r.register(Box::new(m.store_write.clone()))?;
    r.register(Box::new(m.slow_consumers.clone()))?;
    r.register(Box::new(m.outbound_dropped.clone()))?;
    r.register(Box::new(m.notifications.clone()))?;
    r.register(Box::new(m.statuses_posted.clone()))?;
    r.register(Box::new(m.statuses_expired.clone()))?;
    Ok(m)
}

/// The engine's metrics. Registration fails only on a duplicate name, a bug the unit test
/// catches, so failing here aborts loudly.
pub fn get() -> &'static EngineMetrics {
    static METRICS: OnceLock<EngineMetrics> = OnceLock::new();
    #[allow(clippy::expect_used)]
    METRICS.get_or_init(|| build().expect("engine metric names are unique"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn registers() {
        super::get().live_sessions.set(0);
        let names: Vec<String> = prometheus::gather()
            .iter()
            .map(|f| f.name().to_owned())
            .collect();
        assert!(
            names.iter().any(|n| n == "confab_live_sessions"),
            "{names:?}"
        );
    }
}
