//! Building a webrtc-rs PeerConnection the way the SFU (and the test peer) needs it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rtc::ice::mdns::MulticastDnsMode;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, Registry, SettingEngineBuilder,
};

use super::keyframe::{KeyframeRequests, SLOT};
use super::SfuError;

/// ICE checks every 50 ms, up to 40 times per pair (2 s): connects in about one interval
/// instead of the default 200 ms, and still tolerates slow paths.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(50);
const ICE_MAX_BINDING_REQUESTS: u16 = 40;
/// A participant whose packets stop (ICE consent) is disconnected after 5 s and failed, hence
/// removed from its room, 10 s later (webrtc's default is 25 s).
const ICE_DISCONNECTED_AFTER: Duration = Duration::from_secs(5);
const ICE_FAILED_AFTER: Duration = Duration::from_secs(10);
const ICE_KEEPALIVE: Duration = Duration::from_secs(2);

pub(crate) fn internal(e: impl std::fmt::Display) -> SfuError {
    SfuError::Internal(e.to_string())
}

/// Builds a PeerConnection bound to `addrs` on the current tokio runtime: default codecs,
/// default interceptors (NACK, RTCP reports, TWCC receiver) plus [`KeyframeRequests`], no ICE
/// servers, mDNS off.
pub(crate) async fn build(
    addrs: Vec<SocketAddr>,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> Result<Arc<dyn PeerConnection>, SfuError> {
    let mut media = MediaEngine::default();
    media.register_default_codecs().map_err(internal)?;
    let registry = register_default_interceptors(Registry::new(), &mut media)
        .map_err(internal)?
        .with(SLOT.into(), KeyframeRequests::default());
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_BINDING_REQUESTS))
        .with_ice_timeouts(
            Some(ICE_DISCONNECTED_AFTER),
            Some(ICE_FAILED_AFTER),
            Some(ICE_KEEPALIVE),
        );
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings.build())
        .with_handler(handler)
        .with_udp_addrs(addrs)
        .build()
        .await
        .map_err(internal)?;
    Ok(Arc::new(pc))
}

/// 1:1 NAT: announce `public_ip` instead of the bound address in every host candidate of a
/// local description. webrtc 0.21.1 stores `SettingEngine::with_nat_1to1_ips` but never applies
/// it, so the SFU rewrites its SDP itself; the ICE agent keeps the bound socket as the base,
/// exactly as with a NAT in front.
pub(crate) fn announce(sdp: String, public_ip: Option<std::net::IpAddr>) -> String {
    let Some(ip) = public_ip else {
        return sdp;
    };
    let ip = ip.to_string();
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        match body.strip_prefix("a=candidate:") {
            Some(candidate) if candidate.split_whitespace().nth(7) == Some("host") => {
                // foundation component transport priority ADDRESS port typ host ...
                let fields: Vec<&str> = candidate.split(' ').collect();
                let rewritten: Vec<&str> = fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| if i == 4 { ip.as_str() } else { f })
                    .collect();
                out.push_str("a=candidate:");
                out.push_str(&rewritten.join(" "));
                out.push_str(ending);
            }
            _ => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn announce_rewrites_host_candidates_only() {
        let sdp = "v=0\r\na=candidate:1 1 udp 2130706431 10.0.0.5 40000 typ host\r\n\
                   a=candidate:2 1 udp 1694498815 198.51.100.1 40001 typ srflx raddr 10.0.0.5 rport 40000\r\n";
        let out = super::announce(sdp.to_string(), Some([203, 0, 113, 7].into()));
        assert!(out.contains("a=candidate:1 1 udp 2130706431 203.0.113.7 40000 typ host\r\n"));
        assert!(out.contains("198.51.100.1 40001 typ srflx raddr 10.0.0.5"));
        assert_eq!(super::announce(sdp.to_string(), None), sdp);
    }
}
