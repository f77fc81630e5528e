//! Who is calling: the session token from `Authorization: Bearer` or the session cookie,
//! resolved once per request by middleware (with a short cache), plus the per-address
//! limit for callers without a session.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gongzhi_accounts::User;
use gongzhi_domain::Actor;

use crate::error::ApiError;
use crate::state::SharedState;

pub const COOKIE: &str = "gongzhi_session";

/// How long a resolved session is trusted without asking the database again.
const CACHE_FOR: Duration = Duration::from_secs(30);

/// The authenticated caller, if any.
#[derive(Debug, Clone)]
pub enum Caller {
    Staff(User),
    Anonymous,
}

impl Caller {
    pub fn user(&self) -> Option<&User> {
        match self {
            Self::Staff(user) => Some(user),
            Self::Anonymous => None,
        }
    }

    /// The signed-in user, or 401.
    pub fn require(&self) -> Result<&User, ApiError> {
        self.user().ok_or_else(|| {
            ApiError::Unauthorized("sign in first (POST /api/v1/sessions) / 请先登录".to_owned())
        })
    }

    /// The author of a command made by this caller.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Staff(user) => Actor::staff(&user.username, user.role, user.unit.clone()),
            Self::Anonymous => Actor::Resident,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller::Anonymous))
    }
}

/// Recently resolved sessions by token.
#[derive(Default)]
pub struct SessionCache(Mutex<HashMap<String, (User, Instant)>>);

impl SessionCache {
    fn get(&self, token: &str, now: Instant) -> Option<User> {
        let cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(token)
            .filter(|(_, at)| now.duration_since(*at) < CACHE_FOR)
            .map(|(user, _)| user.clone())
    }

    fn put(&self, token: &str, user: User, now: Instant) {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.retain(|_, (_, at)| now.duration_since(*at) < CACHE_FOR);
        }
        cache.insert(token.to_owned(), (user, now));
    }

    pub fn forget(&self, token: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }
}

/// The session token a request carries, from the bearer header or the cookie.
pub fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_owned());
    }
    cookie(headers, COOKIE).map(ToOwned::to_owned)
}

/// The value of the cookie called `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Resolves the caller and applies the per-address limit to callers without a session.
pub async fn authenticate(
    State(state): State<SharedState>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = Instant::now();
    let mut caller = Caller::Anonymous;
    if let Some(token) = token(request.headers()) {
        let user = match state.sessions.get(&token, now) {
            Some(user) => Some(user),
            None => match state
                .gateway
                .accounts
                .session(&token, state.gateway.clock.now())
                .await
            {
                Ok(user) => user,
                Err(error) => return ApiError::from(error).into_response(),
            },
        };
        if let Some(user) = user {
            state.sessions.put(&token, user.clone(), now);
            caller = Caller::Staff(user);
        }
    }
    // A page's stylesheet and script are not requests a person makes: they do not count
    // against a visitor's limit (a page view is one request, not three).
    let asset = request.uri().path().starts_with("/assets/");
    if matches!(caller, Caller::Anonymous) && !asset {
        let address = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        if let Err(retry_after) = state.limiter.check(address, now) {
            return ApiError::TooManyRequests { retry_after }.into_response();
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}
