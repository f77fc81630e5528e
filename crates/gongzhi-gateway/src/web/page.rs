//! What every page knows about its request: the reader's language, who is signed in, and
//! the token its forms carry against cross-site request forgery.
//!
//! CSRF: a random nonce lives in an HttpOnly cookie; a form carries
//! `sha256(key, nonce, session token)`. A forged cross-site form has neither the nonce nor
//! the victim's session token, so it cannot carry a matching value. For a signed-in form
//! the session token also makes a nonce planted by a sibling site useless. The forms a
//! visitor uses before signing in (`/login`, `/report`, `/track/rate`) are bound to the
//! nonce alone: a site that can set cookies for this one could forge those, which is why
//! the deployment should not share its domain with sites it does not trust.
//! The cookie is `SameSite=Lax`, not `Strict`: a reader arriving from a link elsewhere
//! must keep the nonce, or every form open in another tab would expire.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use gongzhi_accounts::User;
use gongzhi_domain::Role;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::layout;
use crate::i18n::{Lang, T};
use crate::session::{self, Caller, cookie};
use crate::state::SharedState;

const LANG_COOKIE: &str = "gongzhi_lang";
const CSRF_COOKIE: &str = "gongzhi_csrf";

/// The request as a page sees it.
pub struct Page {
    pub lang: Lang,
    pub caller: Caller,
    /// Path and query of this request, for "back to" links.
    pub path: String,
    pub csrf: String,
    /// The request is a GET (or HEAD): a page a sign-in may return to.
    readable: bool,
    /// Cookies get `Secure` (behind HTTPS).
    secure: bool,
    /// A nonce to set, when the request came without one.
    new_nonce: Option<String>,
}

/// Compares in time that does not depend on where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn csrf_token(state: &SharedState, nonce: &str, session: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"gongzhi csrf\0");
    hasher.update(state.gateway.secret_key.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(b"\0");
    hasher.update(session.unwrap_or_default().as_bytes());
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl FromRequestParts<SharedState> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller::Anonymous);
        let lang = match cookie(&parts.headers, LANG_COOKIE) {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        };
        let (nonce, new_nonce) = match cookie(&parts.headers, CSRF_COOKIE) {
            Some(nonce) if (16..=64).contains(&nonce.len()) => (nonce.to_owned(), None),
            _ => {
                let nonce = Uuid::new_v4().simple().to_string();
                (nonce.clone(), Some(nonce))
            }
        };
        let session = session::token(&parts.headers);
        let csrf = csrf_token(state, &nonce, session.as_deref());
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string);
        Ok(Self {
            lang,
            caller,
            path,
            csrf,
            readable: parts.method == axum::http::Method::GET
                || parts.method == axum::http::Method::HEAD,
            secure: state.gateway.config.secure_cookie,
            new_nonce,
        })
    }
}

impl Page {
    pub fn t(&self, text: T) -> &'static str {
        text.get(self.lang)
    }

    pub fn user(&self) -> Option<&User> {
        self.caller.user()
    }

    /// Whether a posted form carries this reader's token.
    pub fn csrf_ok(&self, posted: Option<&str>) -> bool {
        posted.is_some_and(|token| same(token.as_bytes(), self.csrf.as_bytes()))
    }

    /// The signed-in user if their role is one of `roles`; otherwise the response to send
    /// instead: the login page for a visitor, 403 for a wrong role.
    pub fn staff(&self, roles: &[Role]) -> Result<&User, Refused> {
        match self.user() {
            None => {
                // A form posted after the session ended cannot be replayed by a GET.
                let login = if self.readable {
                    format!("/login?next={}", super::forms::encode(&self.path))
                } else {
                    "/login".to_owned()
                };
                Err(Refused(Box::new(Redirect::to(&login).into_response())))
            }
            Some(user) if roles.contains(&user.role) => Ok(user),
            Some(_) => Err(Refused(Box::new(self.render_status(
                axum::http::StatusCode::FORBIDDEN,
                T::Forbidden,
                self.t(T::ForbiddenPage),
            )))),
        }
    }

    /// A finished page, with the CSRF nonce cookie when it is new.
    pub fn respond(&self, html: maud::Markup) -> Response {
        self.respond_with(axum::http::StatusCode::OK, html)
    }

    pub fn respond_with(&self, status: axum::http::StatusCode, html: maud::Markup) -> Response {
        let mut response = (status, axum::response::Html(html.into_string())).into_response();
        // Pages carry secrets (a receipt), people's details and one-time form keys: never
        // kept by a cache or brought back by the Back button.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let secure = if self.secure { "; Secure" } else { "" };
        if let Some(nonce) = &self.new_nonce
            && let Ok(value) = HeaderValue::from_str(&format!(
                "{CSRF_COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Lax{secure}"
            ))
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }

    /// A page that only says why the request could not be served.
    pub fn render_status(
        &self,
        status: axum::http::StatusCode,
        title: T,
        message: &str,
    ) -> Response {
        let body = maud::html! {
            h1 { (self.t(title)) }
            p.error role="alert" { (message) }
            p { a href="/" { (self.t(T::BackHome)) } }
        };
        self.respond_with(status, layout::page(self, self.t(title), body))
    }
}

/// What to send instead of a staff page: the login page or 403.
pub struct Refused(Box<Response>);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// Sets the language cookie and goes back where the reader was.
pub fn switch_language(lang: Lang, next: &str) -> Response {
    let next = super::forms::local_path(next);
    let code = match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    };
    let mut response = Redirect::to(next).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={code}; Path=/; Max-Age=31536000; SameSite=Lax"
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
