//! Building a webrtc-rs PeerConnection the way the SFU (and the test peer) needs it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rtc::ice::mdns::MulticastDnsMode;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceCandidateType, Registry,
    SettingEngineBuilder,
};

use super::keyframe::{KeyframeRequests, SLOT};
use super::SfuError;

/// ICE checks every 50 ms, up to 40 times per pair (2 s): connects in about one interval
/// instead of the default 200 ms, and still tolerates slow paths.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(50);
const ICE_MAX_BINDING_REQUESTS: u16 = 40;

pub(crate) fn internal(e: impl std::fmt::Display) -> SfuError {
    SfuError::Internal(e.to_string())
}

/// Builds a PeerConnection bound to `addrs` on the current tokio runtime: default codecs,
/// default interceptors (NACK, RTCP reports, TWCC receiver) plus [`KeyframeRequests`], no ICE
/// servers, mDNS off; `public_ip` rewrites host candidates (1:1 NAT).
pub(crate) async fn build(
    addrs: Vec<SocketAddr>,
    public_ip: Option<std::net::IpAddr>,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> Result<Arc<dyn PeerConnection>, SfuError> {
    let mut media = MediaEngine::default();
    media.register_default_codecs().map_err(internal)?;
    let registry = register_default_interceptors(Registry::new(), &mut media)
        .map_err(internal)?
        .with(SLOT.into(), KeyframeRequests::default());
    let mut settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_BINDING_REQUESTS));
    if let Some(ip) = public_ip {
        settings = settings.with_nat_1to1_ips(vec![ip.to_string()], RTCIceCandidateType::Host);
    }
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
