//! Every request error is an [`ApiError`]: a typed reason that renders as an HTTP status and the
//! body `{"error": {"code", "message"}}`. Nothing a client sends ends any other way.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use confab_engine::EngineError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    Validation(String),
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("the access token has expired; refresh it")]
    TokenExpired,
    #[error("unknown user or wrong password")]
    InvalidCredentials,
    #[error("unknown, expired or revoked refresh token")]
    InvalidRefreshToken,
    #[error("this refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("{0}")]
    Forbidden(&'static str),
    /// A 403 with its own code (`blocked`).
    #[error("{message}")]
    ForbiddenCode {
        code: &'static str,
        message: &'static str,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A unique value in use; the code is e.g. `username_taken`.
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Unprocessable(&'static str),
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the store is unavailable; try again")]
    Unavailable,
    #[error("internal error")]
    Internal,
    /// A refusal with its own status and code (media: `media_kind_mismatch`, ...).
    #[error("{message}")]
    Typed {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

/// The JSON body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable reason, e.g. `validation_failed`.
    #[schema(example = "validation_failed")]
    pub code: &'static str,
    /// Human-readable explanation naming the offending field where there is one.
    #[schema(example = "username: must be 3 to 32 characters of a-z, 0-9, '_' or '.'")]
    pub message: String,
}

impl ApiError {
    /// The codes with no variant of their own (carried by `ForbiddenCode`, `Conflict`,
    /// `Typed`); with [`ApiError::code`]'s they are REST.md's error table, held to it by a test.
    pub const CARRIED_CODES: &'static [&'static str] = &[
        "blocked",
        "username_taken",
        "phone_taken",
        "contact_exists",
        "conflict",
        "range_not_satisfiable",
        "media_kind_mismatch",
        "empty_upload",
        "image_too_large",
        "invalid_image",
    ];

    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            MalformedJson(_) => "malformed_json",
            Validation(_) => "validation_failed",
            InvalidCursor => "invalid_cursor",
            InvalidQuery(_) => "invalid_query",
            InvalidPath(_) => "invalid_path",
            Unauthorized(_) => "unauthorized",
            TokenExpired => "token_expired",
            InvalidCredentials => "invalid_credentials",
            InvalidRefreshToken => "invalid_refresh_token",
            RefreshTokenReused => "refresh_token_reused",
            Forbidden(_) => "forbidden",
            ForbiddenCode { code, .. } => code,
            NotFound(_) => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Conflict { code, .. } => code,
            PayloadTooLarge(_) => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            Unprocessable(_) => "unprocessable",
            RateLimited { .. } => "rate_limited",
            Unavailable => "unavailable",
            Internal => "internal",
            Typed { code, .. } => code,
        }
    }

    /// Whether this failure counts towards `confab_auth_failures_total`.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            ApiError::Unauthorized(_)
                | ApiError::TokenExpired
                | ApiError::InvalidCredentials
                | ApiError::InvalidRefreshToken
                | ApiError::RefreshTokenReused
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        use ApiError::*;
        match self {
            MalformedJson(_) | Validation(_) | InvalidCursor | InvalidQuery(_) | InvalidPath(_) => {
                StatusCode::BAD_REQUEST
            }
            Unauthorized(_) | TokenExpired | InvalidCredentials | InvalidRefreshToken
            | RefreshTokenReused => StatusCode::UNAUTHORIZED,
            Forbidden(_) | ForbiddenCode { .. } => StatusCode::FORBIDDEN,
            NotFound(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict { .. } => StatusCode::CONFLICT,
            PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Typed { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unauthorized(_) | ApiError::TokenExpired => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        if self.is_auth_failure() {
            crate::metrics::Metrics::global()
                .auth_failures
                .with_label_values(&[self.code()])
                .inc();
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        })
    }
}

/// The 409 for a unique value already in use.
fn conflict(what: &'static str) -> ApiError {
    let (code, message) = match what {
        "username" => ("username_taken", "this username is taken"),
        "phone" => ("phone_taken", "this phone number is registered already"),
        "contact" => ("contact_exists", "this user is already a contact"),
        _ => ("conflict", "already exists"),
    };
    ApiError::Conflict { code, message }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound(what) => ApiError::NotFound(what),
            EngineError::Blocked(message) => ApiError::ForbiddenCode {
                code: "blocked",
                message,
            },
            EngineError::Validation(message) => ApiError::Validation(message),
            EngineError::InvalidCursor => ApiError::InvalidCursor,
            EngineError::Forbidden(message) => ApiError::Forbidden(message),
            EngineError::Unprocessable(message) => ApiError::Unprocessable(message),
            EngineError::Conflict(what) => conflict(what),
            EngineError::RateLimited => ApiError::RateLimited {
                retry_after_secs: 1,
            },
            EngineError::Unavailable => ApiError::Unavailable,
            EngineError::Internal => ApiError::Internal,
        }
    }
}

impl From<confab_engine::media::MediaError> for ApiError {
    fn from(e: confab_engine::media::MediaError) -> Self {
        use confab_engine::media::MediaError as M;
        let status = match &e {
            M::Engine(inner) => return ApiError::from(inner.clone()),
            M::NotFound => return ApiError::NotFound("media"),
            M::TooLarge { limit, .. } => {
                return ApiError::PayloadTooLarge(usize::try_from(*limit).unwrap_or(usize::MAX))
            }
            M::Forbidden => StatusCode::FORBIDDEN,
            M::Empty | M::Validation(_) => StatusCode::BAD_REQUEST,
            M::KindMismatch { .. }
            | M::WrongKind { .. }
            | M::ImageTooLarge { .. }
            | M::InvalidImage(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::Typed {
            status,
            code: e.code(),
            message: e.to_string(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    //! One source for codes: every code the server can answer is in the docs' error tables.
    use super::*;
    use confab_engine::media::MediaError;
    use confab_signalling::call::CallError;

    const PROTOCOL: &str = include_str!("../../docs/PROTOCOL.md");
    const REST: &str = include_str!("../../docs/REST.md");

    /// The backticked words in the `cell`-th cell of every table row.
    fn table_codes(doc: &str, cell: usize) -> Vec<String> {
        doc.lines()
            .filter(|l| l.starts_with("| "))
            .filter_map(|l| l.split('|').nth(cell + 1).map(str::to_owned))
            .flat_map(|c| {
                c.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_ws_code_is_in_the_protocol_error_tables() {
        let documented = table_codes(PROTOCOL, 0);
        let codes = crate::wire::ws::FRAME_CODES
            .iter()
            .chain(confab_engine::EngineError::CODES)
            .filter(|c| !confab_engine::EngineError::REST_ONLY_CODES.contains(c))
            .chain(CallError::CODES);
        for code in codes {
            assert!(
                documented.iter().any(|d| d == code),
                "`{code}` is answered over WS but not in docs/PROTOCOL.md's error tables"
            );
        }
        assert!(
            !documented.iter().any(|d| d == "not_a_member"),
            "not_a_member is no longer answered"
        );
    }

    fn one_of_each() -> Vec<ApiError> {
        let all = vec![
            ApiError::MalformedJson(String::new()),
            ApiError::Validation(String::new()),
            ApiError::InvalidCursor,
            ApiError::InvalidQuery(String::new()),
            ApiError::InvalidPath(String::new()),
            ApiError::Unauthorized(""),
            ApiError::TokenExpired,
            ApiError::InvalidCredentials,
            ApiError::InvalidRefreshToken,
            ApiError::RefreshTokenReused,
            ApiError::Forbidden(""),
            ApiError::NotFound("x"),
            ApiError::MethodNotAllowed,
            ApiError::PayloadTooLarge(1),
            ApiError::UnsupportedMediaType,
            ApiError::Unprocessable(""),
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            ApiError::Unavailable,
            ApiError::Internal,
        ];
        for e in &all {
            // Stops compiling when a variant is added: list it above (or its codes in
            // CARRIED_CODES when it carries them).
            match e {
                ApiError::MalformedJson(_)
                | ApiError::Validation(_)
                | ApiError::InvalidCursor
                | ApiError::InvalidQuery(_)
                | ApiError::InvalidPath(_)
                | ApiError::Unauthorized(_)
                | ApiError::TokenExpired
                | ApiError::InvalidCredentials
                | ApiError::InvalidRefreshToken
                | ApiError::RefreshTokenReused
                | ApiError::Forbidden(_)
                | ApiError::ForbiddenCode { .. }
                | ApiError::NotFound(_)
                | ApiError::MethodNotAllowed
                | ApiError::Conflict { .. }
                | ApiError::PayloadTooLarge(_)
                | ApiError::UnsupportedMediaType
                | ApiError::Unprocessable(_)
                | ApiError::RateLimited { .. }
                | ApiError::Unavailable
                | ApiError::Internal
                | ApiError::Typed { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_rest_code_is_in_the_rest_error_table() {
        let documented = table_codes(REST, 1);
        let mut codes: Vec<&str> = one_of_each().iter().map(ApiError::code).collect();
        codes.extend(ApiError::CARRIED_CODES);
        // What the conversions produce is listed too.
        for e in [
            EngineError::Conflict("username"),
            EngineError::Conflict("phone"),
            EngineError::Conflict("contact"),
            EngineError::Conflict("other"),
        ] {
            let code = ApiError::from(e).code();
            assert!(ApiError::CARRIED_CODES.contains(&code), "{code}");
        }
        for e in [
            MediaError::Forbidden,
            MediaError::Empty,
            MediaError::InvalidImage(String::new()),
            MediaError::ImageTooLarge {
                width: 1,
                height: 1,
                max_pixels: 1,
            },
            MediaError::KindMismatch {
                declared: "image",
                found: String::new(),
            },
        ] {
            let code = ApiError::from(e).code();
            assert!(codes.contains(&code), "{code}");
        }
        for code in confab_engine::EngineError::CODES {
            assert!(
                codes.contains(code),
                "engine code {code} has no REST rendering"
            );
        }
        for code in codes {
            assert!(
                documented.iter().any(|d| d == code),
                "`{code}` is answered over REST but not in docs/REST.md's error table"
            );
        }
    }
}
