//! `JsonBody<T>`: the JSON request body extractor. Stricter than `web::Json`: the body must be
//! a JSON *object* (serde would otherwise read `["a","b"]` into a struct's fields in order),
//! and every failure is a typed [`ApiError`].

use std::future::Future;
use std::pin::Pin;

use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// JSON Schema's `integer` admits `1588.0` and `1.588e3`: a number with no fractional part
/// that fits 64 bits becomes that integer, so every integer field takes it (and a float field
/// an integer anyway). `1588.5`, or a whole number beyond 64 bits, stays a float and an integer
/// field refuses it.
fn whole_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(whole) = n.as_f64().and_then(as_integer) {
                *value = whole;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

fn as_integer(f: f64) -> Option<serde_json::Value> {
    // 2^64 and -2^63 as f64 are exact; every whole f64 inside converts without loss.
    const U64_END: f64 = 18_446_744_073_709_551_616.0;
    const I64_MIN: f64 = -9_223_372_036_854_775_808.0;
    if f.fract() != 0.0 || !f.is_finite() {
        None
    } else if (0.0..U64_END).contains(&f) {
        Some((f as u64).into())
    } else if (I64_MIN..0.0).contains(&f) {
        Some((f as i64).into())
    } else {
        None
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        let max = req
            .app_data::<web::Data<crate::state::AppState>>()
            .map(|s| s.config.http.max_body_bytes)
            .unwrap_or(64 * 1024);
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes = body.await.map_err(|e| match e.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(max),
                _ => ApiError::MalformedJson(format!("cannot read the body: {e}")),
            })?;
            if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(ApiError::MalformedJson(
                    "the body must be a JSON object".into(),
                ));
            }
            let invalid =
                |e: serde_json::Error| ApiError::MalformedJson(format!("invalid JSON body: {e}"));
            let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(invalid)?;
            whole_numbers(&mut value);
            serde_json::from_value(value).map(JsonBody).map_err(invalid)
        })
    }
}
