//! Work lists: the council member's community queue (kept live by server-sent events) and
//! the handling unit's inbox. Both are the API's case list, so scope and masking are its.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use gongzhi_accounts::User;
use gongzhi_domain::{CaseId, Role};
use maud::{Markup, html};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::forms::{Errors, Form};
use super::layout::{self, Fields};
use super::page::Page;
use super::{categories, code_name, status_badge, when};
use crate::ApiError;
use crate::i18n::{self, T};
use crate::out::SummaryOut;
use crate::routes::cases::{ListQuery, list};
use crate::scope;
use crate::state::SharedState;

const QUEUE_ROLES: &[Role] = &[Role::Council, Role::Operator, Role::Admin];
/// What a council member works on: new, awaiting dispatch (including returned ones).
const QUEUE_STATUSES: &str = "filed,triaged";

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    status: Option<String>,
    category: Option<String>,
    q: Option<String>,
    overdue: Option<String>,
}

impl Filters {
    fn query(&self, default_statuses: &str) -> ListQuery {
        ListQuery {
            status: Some(
                self.status
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| default_statuses.to_owned()),
            ),
            category: self.category.clone().filter(|c| !c.is_empty()),
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            overdue: (self.overdue.as_deref() == Some("on")).then_some(true),
            sort: Some("queue".to_owned()),
            per_page: Some(100),
            ..ListQuery::default()
        }
    }

    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("status", self.status.as_deref().unwrap_or_default()),
            ("category", self.category.as_deref().unwrap_or_default()),
            ("q", self.q.as_deref().unwrap_or_default()),
            ("overdue", self.overdue.as_deref().unwrap_or_default()),
        ])
        .unwrap_or_default()
    }
}

/// The deadline that matters now: the response deadline until the unit has made contact,
/// then the resolution deadline.
fn next_deadline(case: &SummaryOut) -> Option<DateTime<Utc>> {
    match case.status.as_str() {
        "dispatched" | "in_progress" if case.contacted_at.is_none() => case.response_due,
        "dispatched" | "in_progress" => case.resolution_due,
        _ => None,
    }
}

fn rows(state: &SharedState, page: &Page, cases: &[SummaryOut]) -> Markup {
    html! {
        @if cases.is_empty() { tr { td colspan="6" { (page.t(T::NothingHere)) } } }
        @for case in cases {
            tr.overdue[case.overdue] data-code=(case.tracking_code) {
                td { a.case-link href={ "/cases/" (case.case_id) } { (case.tracking_code) } }
                td { (case.title) }
                td { (code_name(state, page.lang, &case.community)) }
                td { (case.category.as_deref().map(|c| code_name(state, page.lang, c)).unwrap_or_default()) }
                td {
                    (status_badge(page, &case.status))
                    @if case.returns > 0 { " " span.status.st-returned { (page.t(T::Returned)) } }
                }
                td {
                    @if let Some(due) = next_deadline(case) { (when(state, due)) }
                    @if case.overdue { " " strong.overdue-label { (page.t(T::Overdue)) } }
                }
            }
        }
    }
}

fn table(
    state: &SharedState,
    page: &Page,
    id: &str,
    cases: &[SummaryOut],
    live: Option<&str>,
) -> Markup {
    html! {
        div.scroll { table id=(id) data-live=[live] {
            thead { tr {
                th { (page.t(T::TrackingCode)) } th { (page.t(T::Title)) } th { (page.t(T::Community)) }
                th { (page.t(T::Category)) } th { (page.t(T::Status)) } th { (page.t(T::Deadline)) }
            } }
            tbody { (rows(state, page, cases)) }
        } }
    }
}

async fn cases(
    state: &SharedState,
    page: &Page,
    query: ListQuery,
) -> Result<Vec<SummaryOut>, ApiError> {
    let Json(out) = list(State(state.clone()), page.caller.clone(), Ok(Query(query))).await?;
    Ok(out.items)
}

/// The list, or why it could not be read.
fn table_or_error(
    state: &SharedState,
    page: &Page,
    id: &str,
    found: &Result<Vec<SummaryOut>, ApiError>,
    live: Option<&str>,
) -> Markup {
    match found {
        Ok(cases) => table(state, page, id, cases, live),
        Err(error) => html! { p.error role="alert" { (i18n::refusal(page.lang, error)) } },
    }
}

pub async fn queue(
    State(state): State<SharedState>,
    page: Page,
    Query(filters): Query<Filters>,
) -> Response {
    if let Err(response) = page.staff(QUEUE_ROLES) {
        return response.into_response();
    }
    let found = cases(&state, &page, filters.query(QUEUE_STATUSES)).await;
    let statuses: Vec<(String, String)> = [
        (QUEUE_STATUSES, T::QueueTitle),
        ("filed", T::StFiled),
        ("triaged", T::StTriaged),
        ("dispatched,in_progress", T::StInProgress),
        ("resolved", T::StResolved),
    ]
    .iter()
    .map(|(value, text)| ((*value).to_owned(), page.t(*text).to_owned()))
    .collect();
    let typed = Form::of(&[
        ("status", filters.status.as_deref()),
        ("category", filters.category.as_deref()),
        ("q", filters.q.as_deref()),
    ]);
    let no_errors = Errors::default();
    let f = Fields::new(&typed, &no_errors);
    let rows_url = format!("/queue/rows?{}", filters.query_string());
    let body = html! {
        h1 { (page.t(T::QueueTitle)) }
        p { (page.t(T::QueueText)) " " span.live #live hidden { "● " (page.t(T::Live)) } }
        form #filters.filters method="get" action="/queue" {
            (f.select("status", page.t(T::Status), &statuses, QUEUE_STATUSES, None))
            (f.select("category", page.t(T::Category), &categories(&state, page.lang), "", Some(page.t(T::AnyCategory))))
            (f.input("search", "q", page.t(T::Search), false))
            label.check { input type="checkbox" name="overdue" checked[filters.overdue.as_deref() == Some("on")]; " " (page.t(T::OnlyOverdue)) }
            button type="submit" { (page.t(T::Filter)) }
        }
        div data-stream="/queue/stream" data-rows=(rows_url) {
            (table_or_error(&state, &page, "queue", &found, Some("queue")))
        }
    };
    page.respond(layout::page(&page, page.t(T::QueueTitle), body))
}

/// The queue's rows alone, for the live refresh.
pub async fn queue_rows(
    State(state): State<SharedState>,
    page: Page,
    Query(filters): Query<Filters>,
) -> Response {
    if let Err(response) = page.staff(QUEUE_ROLES) {
        return response.into_response();
    }
    match cases(&state, &page, filters.query(QUEUE_STATUSES)).await {
        Ok(found) => page.respond(rows(&state, &page, &found)),
        Err(error) => error.into_response(),
    }
}

/// Changed cases a stream looks up one by one; a larger batch is announced unread.
const LOOK_UP: usize = 50;
/// A stream ends after this long; the browser reconnects at once, and the session is
/// checked again then.
const STREAM_FOR: Duration = Duration::from_secs(10 * 60);

/// Whether any of the changed cases is one `user` may see.
async fn concerns(state: &SharedState, user: &User, changed: &[(CaseId, u64)]) -> bool {
    if changed.len() > LOOK_UP {
        return true;
    }
    for (case_id, _) in changed {
        if let Ok(Some(summary)) = state.gateway.views.summary(*case_id).await
            && scope::can_see(&state.gateway.directory, user, &summary)
        {
            return true;
        }
    }
    false
}

/// Server-sent events: `changed` whenever a case in the reader's area changes. The page
/// then fetches its rows again, so what it shows is always a plain list read. The stream
/// reads the views directly, for whether a change concerns the reader at all, with the
/// API's own scope rule (`scope::can_see`); what it sends carries no case data.
pub async fn queue_stream(State(state): State<SharedState>, page: Page) -> Response {
    let user = match page.staff(QUEUE_ROLES) {
        Ok(user) => user.clone(),
        Err(refused) => return refused.into_response(),
    };
    let applied = state.gateway.applied.subscribe();
    let closing = state.closing.subscribe();
    let until = tokio::time::Instant::now() + STREAM_FOR;
    let events = futures_util::stream::unfold(
        (applied, closing, state, user),
        move |(mut applied, mut closing, state, user)| async move {
            loop {
                let changed = tokio::select! {
                    _ = closing.wait_for(|closing| *closing) => return None,
                    () = tokio::time::sleep_until(until) => return None,
                    changed = applied.recv() => changed,
                };
                let relevant = match changed {
                    Ok(changed) => concerns(&state, &user, &changed).await,
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return None,
                };
                if relevant {
                    let event = Event::default().event("changed").data("queue");
                    return Some((Ok::<_, Infallible>(event), (applied, closing, state, user)));
                }
            }
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

const INBOX_STATUSES: &str = "dispatched,in_progress";

pub async fn inbox(
    State(state): State<SharedState>,
    page: Page,
    Query(filters): Query<Filters>,
) -> Response {
    if let Err(response) = page.staff(&[Role::Handler]) {
        return response.into_response();
    }
    let found = cases(&state, &page, filters.query(INBOX_STATUSES)).await;
    let body = html! {
        h1 { (page.t(T::InboxTitle)) }
        (table_or_error(&state, &page, "inbox", &found, None))
    };
    page.respond(layout::page(&page, page.t(T::InboxTitle), body))
}
