//! The one place errors become HTTP responses: `{"error": {"code", "message"}}` with the
//! status of DESIGN §6. Causes of 5xx are logged here and never sent to the client.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gongzhi_accounts::AccountError;
use gongzhi_domain::{DomainError, Problem};
use gongzhi_service::{CommandError, Refusal, RefusalKind};
use gongzhi_views::ProjectionError;
use serde::Serialize;
use utoipa::ToSchema;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request itself is malformed or a field is invalid.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 400: one field is invalid; forms show `problem` next to `field`.
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: Problem },
    /// 401: no session, or credentials that do not match.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: out of role or scope.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: version conflict or a state the action does not apply in.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422: a business rule refused.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// 429, with seconds until the client may try again.
    #[error("too many requests / 请求过于频繁")]
    TooManyRequests { retry_after: u64 },
    /// 503: a dependency is not ready.
    #[error("{0}")]
    Unavailable(String),
    /// 500: logged with its cause; the client sees a generic message.
    #[error("internal error")]
    Internal(String),
}

/// The error body of every failed request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_field`, `version_conflict`, `wrong_state`, ...
    pub code: String,
    /// For people: what was wrong and, where it helps, what to do.
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "bad_request",
            message: message.into(),
        }
    }

    pub fn invalid_field(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            problem: Problem::from(reason.to_string()),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid_field"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let message = match &self {
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                "internal error / 内部错误; the cause is in the server log".to_owned()
            }
            Self::Unavailable(cause) => {
                tracing::warn!(%cause, "service unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Self::TooManyRequests { retry_after } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        CommandError::Domain(error).into()
    }
}

impl ApiError {
    /// The status a command error answers with, for counting outcomes without consuming it.
    pub(crate) fn from_ref(error: &CommandError) -> Option<StatusCode> {
        let refusal = gongzhi_service::Refusal::from(error);
        Some(ApiError::from(refusal).parts().0)
    }
}

/// A command error answers as the refusal a service in another process would send for
/// it, so both deployments answer alike; only a local internal failure keeps its whole
/// cause, for the log.
impl From<CommandError> for ApiError {
    fn from(error: CommandError) -> Self {
        let refusal = Refusal::from(&error);
        if refusal.kind == RefusalKind::Internal && !matches!(error, CommandError::Remote(_)) {
            return Self::Internal(error_chain(&error));
        }
        refusal.into()
    }
}

/// A refusal from a service in another process answers as the service's own error would.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let message = refusal.message;
        match refusal.kind {
            RefusalKind::Invalid => match (refusal.field, refusal.problem) {
                (Some(field), Some(problem)) => Self::Invalid { field, problem },
                _ => Self::bad_request(message),
            },
            RefusalKind::WrongState => Self::Conflict {
                code: "wrong_state",
                message,
            },
            RefusalKind::AlreadyFiled => Self::Conflict {
                code: "already_filed",
                message,
            },
            RefusalKind::VersionConflict => Self::Conflict {
                code: "version_conflict",
                message,
            },
            RefusalKind::NotFiled | RefusalKind::NotFound => Self::NotFound(message),
            RefusalKind::NotPermitted | RefusalKind::SecretMismatch => Self::Forbidden(message),
            RefusalKind::Rule => Self::Unprocessable {
                code: "rule",
                message,
            },
            RefusalKind::IdempotencyKeyReused => Self::Unprocessable {
                code: "idempotency_key_reused",
                message,
            },
            RefusalKind::Unavailable => Self::Unavailable(message),
            RefusalKind::Internal => Self::Internal(message),
        }
    }
}

impl From<ProjectionError> for ApiError {
    fn from(error: ProjectionError) -> Self {
        Self::Internal(error_chain(&error))
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Store(_) | AccountError::Hash(_) => Self::Internal(error_chain(&error)),
            AccountError::Busy => Self::Unavailable(error.to_string()),
            other => Self::bad_request(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::BadRequest {
                code: "unsupported_media_type",
                message: "send the body as JSON with Content-Type: application/json".to_owned(),
            },
            JsonRejection::JsonSyntaxError(error) => Self::BadRequest {
                code: "malformed_json",
                message: format!("the body is not valid JSON: {}", error.body_text()),
            },
            JsonRejection::JsonDataError(error) => Self::BadRequest {
                code: "invalid_field",
                message: error.body_text(),
            },
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge(
                "the body is larger than the 64 KiB a request may carry".to_owned(),
            ),
            other => Self::bad_request(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest {
            code: "invalid_query",
            message: rejection.body_text(),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest {
            code: "invalid_path",
            message: rejection.body_text(),
        }
    }
}

/// An error and its causes on one line, each once.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
