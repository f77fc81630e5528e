//! Login and logout.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gongzhi_accounts::User;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::bodies::parse;
use crate::error::{ApiError, ErrorBody};
use crate::out::{SessionOut, UserOut};
use crate::session::{COOKIE, Caller, token};
use crate::state::SharedState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

fn cookie(state: &SharedState, value: &str, max_age: i64) -> Result<HeaderValue, ApiError> {
    let secure = if state.gateway.config.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Checks the credentials and starts a session: the user, the token and its cookie.
pub(crate) async fn sign_in(
    state: &SharedState,
    username: &str,
    password: &str,
) -> Result<(User, String, HeaderValue), ApiError> {
    let accounts = &state.gateway.accounts;
    let Some(user) = accounts.verify(username, password).await? else {
        return Err(ApiError::Unauthorized(
            "wrong username or password / 用户名或密码错误".to_owned(),
        ));
    };
    let ttl = state.gateway.config.session_ttl;
    let token = accounts.start_session(&user, ttl).await?;
    tracing::info!(username = %user.username, role = user.role.as_str(), "signed in");
    let cookie = cookie(state, &token.0, ttl.num_seconds())?;
    Ok((user, token.0, cookie))
}

/// Ends the request's session, if any; the cookie that clears it.
pub(crate) async fn sign_out(
    state: &SharedState,
    headers: &HeaderMap,
) -> Result<HeaderValue, ApiError> {
    if let Some(token) = token(headers) {
        state.gateway.accounts.end_session(&token).await?;
        state.sessions.forget(&token);
    }
    cookie(state, "", 0)
}

/// Signs in: a bearer token in the body and the same token as an HttpOnly session cookie.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = LoginBody,
    responses((status = 200, body = SessionOut), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn login(
    State(state): State<SharedState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: LoginBody = parse(&body)?;
    let (user, token, cookie) = sign_in(&state, &body.username, &body.password).await?;
    let body = SessionOut {
        token,
        user: UserOut::from(&user),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Signs out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "sessions", responses((status = 204)))]
pub async fn logout(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cookie = sign_out(&state, &headers).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Who the session belongs to.
#[utoipa::path(get, path = "/api/v1/sessions/current", tag = "sessions",
    responses((status = 200, body = UserOut), (status = 401, body = ErrorBody)))]
pub async fn current(caller: Caller) -> Result<Json<UserOut>, ApiError> {
    Ok(Json(UserOut::from(caller.require()?)))
}
