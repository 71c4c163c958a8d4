//! Call metrics, in the process-wide default registry (the SFU's own are in `sfu::metrics`).

use std::sync::OnceLock;

use confab_engine::model::CallOutcome;
use prometheus::{IntCounterVec, IntGauge, Opts};

pub struct CallMetrics {
    pub live: IntGauge,
    pub outcomes: IntCounterVec,
}

fn build() -> Result<CallMetrics, prometheus::Error> {
    let m = CallMetrics {
        live: IntGauge::new(
            "confab_calls_live",
            "Calls ringing or in progress on this node",
        )?,
        outcomes: IntCounterVec::new(
            Opts::new("confab_call_outcomes_total", "Finished calls, by outcome"),
            &["outcome"],
        )?,
    };
    let r = prometheus::default_registry();
    r.register(Box::new(m.live.clone()))?;
    r.register(Box::new(m.outcomes.clone()))?;
    for o in CallOutcome::ALL {
        m.outcomes.with_label_values(&[o.as_str()]);
    }
    Ok(m)
}

/// Registration fails only on a duplicate name, a bug: abort loudly.
pub fn get() -> &'static CallMetrics {
    static METRICS: OnceLock<CallMetrics> = OnceLock::new();
    #[allow(clippy::expect_used)]
    METRICS.get_or_init(|| build().expect("call metric names are unique"))
}
