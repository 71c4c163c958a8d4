//! The SFU's Prometheus metrics, in the process-wide default registry that `/metrics` renders.
//! Names are the contract with the ops dashboard.

use std::sync::OnceLock;

use prometheus::{IntCounter, IntGauge};

pub struct SfuMetrics {
    pub participants: IntGauge,
    pub tracks: IntGauge,
    pub rtp_packets_forwarded: IntCounter,
    pub rtp_bytes_forwarded: IntCounter,
    pub plis_relayed: IntCounter,
    pub peer_connection_failures: IntCounter,
}

fn build() -> Result<SfuMetrics, prometheus::Error> {
    let m = SfuMetrics {
        participants: IntGauge::new(
            "confab_sfu_participants",
            "Participants with a PeerConnection on this node's SFU",
        )?,
        tracks: IntGauge::new("confab_sfu_tracks", "Tracks published into this node's SFU")?,
        rtp_packets_forwarded: IntCounter::new(
            "confab_sfu_rtp_packets_forwarded_total",
            "RTP packets written to subscriber legs",
        )?,
        rtp_bytes_forwarded: IntCounter::new(
            "confab_sfu_rtp_bytes_forwarded_total",
            "RTP bytes (header and payload, before SRTP) written to subscriber legs",
        )?,
        plis_relayed: IntCounter::new(
            "confab_sfu_plis_relayed_total",
            "Keyframe requests (PLI/FIR) relayed from subscribers to publishers",
        )?,
        peer_connection_failures: IntCounter::new(
            "confab_sfu_peer_connection_failures_total",
            "PeerConnections that failed (ICE/DTLS) and were removed",
        )?,
    };
    let r = prometheus::default_registry();
    r.register(Box::new(m.participants.clone()))?;
    r.register(Box::new(m.tracks.clone()))?;
    r.register(Box::new(m.rtp_packets_forwarded.clone()))?;
    r.register(Box::new(m.rtp_bytes_forwarded.clone()))?;
    r.register(Box::new(m.plis_relayed.clone()))?;
    r.register(Box::new(m.peer_connection_failures.clone()))?;
    Ok(m)
}

/// The SFU's metrics, registered on first use. Registration fails only on a duplicate name (a
/// bug the unit test catches), so failing here aborts loudly.
pub fn get() -> &'static SfuMetrics {
    static METRICS: OnceLock<SfuMetrics> = OnceLock::new();
    #[allow(clippy::expect_used)]
    METRICS.get_or_init(|| build().expect("SFU metric names are unique"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn registers_once_and_renders() {
        // Twice: the second call must reuse the first registration, not register again.
        super::get().participants.set(0);
        super::get().plis_relayed.inc_by(0);
        let names: Vec<String> = prometheus::gather()
            .iter()
            .map(|f| f.name().to_owned())
            .collect();
        for name in [
            "confab_sfu_participants",
            "confab_sfu_tracks",
            "confab_sfu_rtp_packets_forwarded_total",
            "confab_sfu_rtp_bytes_forwarded_total",
            "confab_sfu_plis_relayed_total",
            "confab_sfu_peer_connection_failures_total",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
        }
    }
}
