//! Prometheus metrics: one registry for the process, rendered at `/metrics`. Names are the
//! contract with `ops/` dashboards and alerts: change them only together.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, Responder};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    pub registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub auth_failures: IntCounterVec,
    pub rate_limited: IntCounterVec,
    pub rate_limit_fallbacks: prometheus::IntCounter,
    pub media_uploads: IntCounterVec,
    pub media_upload_bytes: prometheus::IntCounter,
    pub media_rejected: IntCounterVec,
    pub http_bad_requests: prometheus::IntCounter,
}

fn build() -> Result<Metrics, prometheus::Error> {
    // The default registry: the engine registers its metrics there too, so one scrape has all.
    let registry = prometheus::default_registry().clone();
    let http_requests = IntCounterVec::new(
        Opts::new(
            "confab_http_requests_total",
            "HTTP requests by route pattern, method and status",
        ),
        &["route", "method", "status"],
    )?;
    let http_duration = HistogramVec::new(
        HistogramOpts::new(
            "confab_http_request_duration_seconds",
            "HTTP request latency by route pattern",
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ]),
        &["route"],
    )?;
    let auth_failures = IntCounterVec::new(
        Opts::new(
            "confab_auth_failures_total",
            "Failed authentications by reason (error code)",
        ),
        &["reason"],
    )?;
    let rate_limited = IntCounterVec::new(
        Opts::new(
            "confab_rate_limited_total",
            "Requests refused by a rate limit, by limit",
        ),
        &["limit"],
    )?;
    let build_info = IntGaugeVec::new(
        Opts::new(
            "confab_build_info",
            "Always 1; labels say which build is running",
        ),
        &["version"],
    )?;
    build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1);
    registry.register(Box::new(http_requests.clone()))?;
    registry.register(Box::new(http_duration.clone()))?;
    registry.register(Box::new(auth_failures.clone()))?;
    registry.register(Box::new(rate_limited.clone()))?;
    let rate_limit_fallbacks = prometheus::IntCounter::new(
        "confab_rate_limit_fallbacks_total",
        "Rate-limit checks that used this node's own buckets because Redis did not answer",
    )?;
    registry.register(Box::new(rate_limit_fallbacks.clone()))?;
    let media_uploads = IntCounterVec::new(
        Opts::new(
            "confab_media_uploads_total",
            "Media uploads stored, by kind",
        ),
        &["kind"],
    )?;
    let media_upload_bytes = prometheus::IntCounter::new(
        "confab_media_upload_bytes_total",
        "Bytes of media uploads stored",
    )?;
    let media_rejected = IntCounterVec::new(
        Opts::new(
            "confab_media_rejected_total",
            "Media uploads refused, by reason (error code)",
        ),
        &["reason"],
    )?;
    registry.register(Box::new(build_info))?;
    registry.register(Box::new(media_uploads.clone()))?;
    registry.register(Box::new(media_upload_bytes.clone()))?;
    registry.register(Box::new(media_rejected.clone()))?;
    let http_bad_requests = prometheus::IntCounter::new(
        "confab_http_bad_requests_total",
        "Connections whose bytes did not parse as HTTP (answered 400 or 408 by the HTTP layer)",
    )?;
    registry.register(Box::new(http_bad_requests.clone()))?;
    // process_* metrics: the default registry registers its process collector by itself.
    Ok(Metrics {
        registry,
        http_requests,
        http_duration,
        auth_failures,
        rate_limited,
        rate_limit_fallbacks,
        media_uploads,
        media_upload_bytes,
        media_rejected,
        http_bad_requests,
    })
}

impl Metrics {
    /// The process-wide metrics. Registration can only fail on a duplicate name, a bug that the
    /// unit test below catches, so failing here aborts loudly at start-up.
    pub fn global() -> &'static Metrics {
        static METRICS: OnceLock<Metrics> = OnceLock::new();
        #[allow(clippy::expect_used)]
        METRICS.get_or_init(|| build().expect("metric names are unique"))
    }

    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Middleware: counts and times every request by its route *pattern* (bounded cardinality).
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let m = Metrics::global();
    m.http_requests
        .with_label_values(&[route.as_str(), method.as_str(), res.status().as_str()])
        .inc();
    m.http_duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    Ok(res)
}

/// `GET /metrics`
pub async fn endpoint() -> impl Responder {
    match Metrics::global().render() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(text),
        Err(e) => {
            tracing::error!(error = %e, "metrics encoding failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn registry_builds_and_renders() {
        let text = super::Metrics::global().render().unwrap();
        assert!(text.contains("confab_build_info"), "{text}");
    }
}
