//! The web pages (issue 5): plain server-rendered HTML over the same handlers as the API.
//!
//! A page never decides anything itself. A form becomes the JSON body of the API route it
//! stands for and goes through that route's handler, so validation, role and area scope,
//! masking, idempotency and version checks are the API's, once. The page's work is to
//! show the outcome: the next page, or the form again with each refusal next to its field
//! in the reader's language.

mod case;
mod charts;
mod dashboard;
mod export;
mod forms;
mod layout;
mod lists;
mod operator;
mod page;
mod resident;
mod similar;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use gongzhi_accounts::User;
use gongzhi_domain::Code;
use maud::{Markup, html};
use serde::Deserialize;

use self::forms::{Errors, Form};
use self::layout::{Fields, form_error, hidden, home_of, role_name};
use self::page::Page;
use crate::i18n::{self, Lang, T};
use crate::routes::sessions::{sign_in, sign_out};
use crate::scope;
use crate::state::SharedState;

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

/// The pages, to be merged into the gateway's router.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/", get(start))
        .route("/assets/{file}", get(asset))
        .route("/lang/{lang}", get(language))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/report", get(resident::report_page).post(resident::report))
        .route("/track", get(resident::track_page))
        .route("/track/rate", post(resident::rate))
        .route("/operator", get(operator::page))
        .route("/operator/file", post(operator::file))
        .route("/queue", get(lists::queue))
        .route("/queue/rows", get(lists::queue_rows))
        .route("/queue/stream", get(lists::queue_stream))
        .route("/inbox", get(lists::inbox))
        .route("/cases/{case_id}", get(case::page))
        .route("/cases/{case_id}/{action}", post(case::act))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard.csv", get(dashboard::csv))
        .route("/dashboard.xlsx", get(dashboard::xlsx))
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn language(Path(lang): Path<String>, Query(query): Query<Next>) -> Response {
    let lang = if lang == "en" { Lang::En } else { Lang::Zh };
    page::switch_language(lang, query.next.as_deref().unwrap_or("/"))
}

/// The start page: where each kind of visitor goes, and the demo accounts in `gongzhi dev`.
async fn start(State(state): State<SharedState>, page: Page) -> Response {
    let roles = [
        (T::RoleOperator, "/operator"),
        (T::RoleCouncil, "/queue"),
        (T::RoleHandler, "/inbox"),
        (T::RoleLeader, "/dashboard"),
    ];
    let demo = &state.gateway.config.demo_accounts;
    let body = html! {
        h1 { (page.t(T::Brand)) " " small { (page.t(T::Tagline)) } }
        h2 { (page.t(T::WhereToGo)) }
        div.cards {
            section.card {
                h3 { (page.t(T::ForResidents)) }
                p { (page.t(T::ForResidentsText)) }
                p.buttons {
                    a.button href="/report" { (page.t(T::NavReport)) }
                    a.button.secondary href="/track" { (page.t(T::NavTrack)) }
                }
            }
            section.card {
                h3 { (page.t(T::ForStaff)) }
                p { (page.t(T::ForStaffText)) }
                ul {
                    @for (role, href) in roles {
                        li { (page.t(role)) ": " a href=(href) { code { (href) } } }
                    }
                }
                p.buttons { a.button href="/login" { (page.t(T::NavLogin)) } }
            }
        }
        @if !demo.is_empty() {
            h2 { (page.t(T::DemoAccounts)) }
            p { (page.t(T::DemoPassword)) ": " code { (state.gateway.config.demo_password) } }
            table #demo-accounts {
                thead { tr { th { (page.t(T::Username)) } th { (page.t(T::RoleCol)) } th { (page.t(T::OpensAt)) } } }
                tbody {
                    @for (username, role) in demo {
                        tr {
                            td { code { (username) } }
                            td { (page.t(role_name(*role))) }
                            td { a href={ "/login?user=" (username) } { (home_of(*role)) } }
                        }
                    }
                }
            }
        }
        h2 { (page.t(T::ForDevelopers)) }
        ul {
            li { a href="/api/v1/openapi.json" { (page.t(T::ApiDocs)) } " " code { "/api/v1/openapi.json" } }
            li { a href="/metrics" { "/metrics" } " · " a href="/healthz" { "/healthz" } " · " a href="/readyz" { "/readyz" } }
        }
    };
    page.respond(layout::page(&page, page.t(T::Tagline), body))
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    user: Option<String>,
}

fn login_form(page: &Page, username: &str, next: &str, errors: &Errors) -> Markup {
    let typed = Form::default();
    let f = Fields::new(&typed, errors);
    let body = html! {
        h1 { (page.t(T::LoginTitle)) }
        (form_error(page, errors))
        form #login method="post" action="/login" {
            (hidden(page, None))
            input type="hidden" name="next" value=(next);
            (f.wrap("username", page.t(T::Username), None, html! {
                input #username type="text" name="username" value=(username) required autocomplete="username";
            }))
            (f.wrap("password", page.t(T::Password), None, html! {
                input #password type="password" name="password" required autocomplete="current-password";
            }))
            button type="submit" { (page.t(T::LoginButton)) }
        }
    };
    layout::page(page, page.t(T::LoginTitle), body)
}

async fn login_page(page: Page, Query(query): Query<LoginQuery>) -> Response {
    let next = query.next.unwrap_or_default();
    let user = query.user.unwrap_or_default();
    page.respond(login_form(&page, &user, &next, &Errors::default()))
}

async fn login(State(state): State<SharedState>, page: Page, body: Bytes) -> Response {
    let form = Form::parse(&body);
    if !page.csrf_ok(form.get("csrf")) {
        return csrf_refused(&page);
    }
    let username = form.value("username").trim();
    match sign_in(&state, username, form.value("password")).await {
        Ok((user, _, cookie)) => {
            let next = match form.value("next") {
                "" => home_of(user.role),
                next => forms::local_path(next),
            };
            let mut response = Redirect::to(next).into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(crate::ApiError::Unauthorized(_)) => page.respond_with(
            StatusCode::UNAUTHORIZED,
            login_form(
                &page,
                username,
                form.value("next"),
                &Errors::message(page.lang, T::LoginFailed),
            ),
        ),
        Err(error) => error.into_response(),
    }
}

async fn logout(
    State(state): State<SharedState>,
    page: Page,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if !page.csrf_ok(form.get("csrf")) {
        return csrf_refused(&page);
    }
    match sign_out(&state, &headers).await {
        Ok(cookie) => {
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(error) => error.into_response(),
    }
}

fn csrf_refused(page: &Page) -> Response {
    page.render_status(StatusCode::FORBIDDEN, T::Forbidden, page.t(T::CsrfFailed))
}

/// A status in the reader's words.
pub(crate) fn status_text(status: &str) -> T {
    match status {
        "filed" => T::StFiled,
        "triaged" => T::StTriaged,
        "dispatched" => T::StDispatched,
        "in_progress" => T::StInProgress,
        "resolved" => T::StResolved,
        "closed" => T::StClosed,
        "withdrawn" => T::StWithdrawn,
        "rejected" => T::StRejected,
        "merged" => T::StMerged,
        _ => T::Status,
    }
}

fn status_badge(page: &Page, status: &str) -> Markup {
    html! { span.status class={ "st-" (status) } { (page.t(status_text(status))) } }
}

/// A time in the deployment's zone, to the minute.
fn when(state: &SharedState, at: DateTime<Utc>) -> String {
    at.with_timezone(&state.offset)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// `(code, name)` of the communities `user` may file in and see, in the reader's language.
fn communities(state: &SharedState, lang: Lang, user: Option<&User>) -> Vec<(String, String)> {
    let directory = &state.gateway.directory;
    let allowed = user
        .filter(|u| u.role != gongzhi_domain::Role::Handler)
        .map(|u| scope::communities(directory, u));
    directory
        .communities()
        .filter(|c| {
            allowed
                .as_ref()
                .is_none_or(|allowed| allowed.contains(&c.code.to_string()))
        })
        .map(|c| (c.code.to_string(), i18n::name(lang, &c.name).to_owned()))
        .collect()
}

fn categories(state: &SharedState, lang: Lang) -> Vec<(String, String)> {
    state
        .gateway
        .directory
        .categories
        .iter()
        .map(|c| (c.code.to_string(), i18n::name(lang, &c.name).to_owned()))
        .collect()
}

fn units(state: &SharedState, lang: Lang) -> Vec<(String, String)> {
    state
        .gateway
        .directory
        .units
        .iter()
        .map(|u| (u.code.to_string(), i18n::name(lang, &u.name).to_owned()))
        .collect()
}

/// The reader's name of a directory code (community, unit or category).
fn code_name(state: &SharedState, lang: Lang, code: &str) -> String {
    let directory = &state.gateway.directory;
    let Ok(parsed) = Code::parse("code", code) else {
        return code.to_owned();
    };
    let name = directory
        .area(&parsed)
        .map(|a| a.name.as_str())
        .or_else(|| directory.unit(&parsed).map(|u| u.name.as_str()))
        .or_else(|| directory.category(&parsed).map(|c| c.name.as_str()));
    name.map_or_else(|| code.to_owned(), |n| i18n::name(lang, n).to_owned())
}
