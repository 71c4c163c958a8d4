//! HTTP details that hold for every route: `HEAD` answers as `GET` does (without the body),
//! a `405` names the allowed methods in `Allow`, and a request that does not parse as HTTP is
//! the client's mistake: counted (`confab_http_bad_requests_total`), not logged at ERROR.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::HttpRequest;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::metrics::Metrics;

/// Middleware: a `HEAD` request is routed as `GET`. actix-http's codec remembers that the
/// request line said `HEAD` and sends the headers (`Content-Length` included) without a body,
/// so every `GET` route, the docs and `/metrics` included, answers `HEAD` alike.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// The `Allow` value for the route `req` matched: the methods the OpenAPI document lists for
/// its path (`HEAD` with `GET`). Routes outside the document (`/ws`, `/metrics`,
/// `/api/openapi.json`, `/api/docs`) are `GET`-only.
pub fn allowed_methods(req: &HttpRequest) -> String {
    let item = req.match_pattern().and_then(|pattern| {
        req.app_data::<actix_web::web::Data<utoipa::openapi::OpenApi>>()
            .and_then(|doc| doc.paths.paths.get(&pattern).cloned())
    });
    let mut methods: Vec<&str> = match &item {
        None => vec!["GET"],
        Some(item) => [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ]
        .into_iter()
        .filter_map(|(m, on)| on.then_some(m))
        .collect(),
    };
    if methods.contains(&"GET") {
        methods.insert(1, "HEAD");
    }
    methods.join(", ")
}

/// actix-http's dispatcher logs a connection whose bytes are not HTTP (a bad request line,
/// an invalid header, a slow request) as `ERROR stream error: ...`, after answering 400 or
/// 408 itself. That is the client's mistake: this layer counts it in
/// `confab_http_bad_requests_total` and drops the event, leaving every other dispatcher
/// message as it was.
pub struct ClientStreamErrors;

const DISPATCHER: &str = "actix_http::h1::dispatcher";
const STREAM_ERROR: &str = "stream error: ";

struct Message(Option<String>);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S: Subscriber> Layer<S> for ClientStreamErrors {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if meta.target() != DISPATCHER || *meta.level() != Level::ERROR {
            return true;
        }
        let mut message = Message(None);
        event.record(&mut message);
        let client_error = message
            .0
            .as_deref()
            .is_some_and(|m| m.starts_with(STREAM_ERROR));
        if client_error {
            Metrics::global().http_bad_requests.inc();
        }
        !client_error
    }
}

/// Logging for the binary: `filter` (the `log` setting) to stderr, minus client stream errors.
pub fn init_logging(filter: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .finish()
        .with(ClientStreamErrors)
        .init();
}
