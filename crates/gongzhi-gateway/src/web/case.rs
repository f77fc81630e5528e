//! A case page: the facts, the full timeline across the three contexts, likely duplicates,
//! and the forms for what the reader's role can do in the case's status. The domain still
//! decides; a form offered here can be refused, and the refusal is shown beside it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use gongzhi_domain::{CaseId, Role};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::forms::{self, Errors, Form};
use super::layout::{self, Fields, hidden};
use super::page::Page;
use super::resident::rating_fields;
use super::{categories, code_name, csrf_refused, similar, status_badge, units, when};
use crate::ApiError;
use crate::i18n::{self, T};
use crate::out::{EventOut, SummaryOut};
use crate::routes::cases::{ListQuery, act_on, events, get as get_case, list};
use crate::state::SharedState;

const TRIAGERS: &[Role] = &[Role::Council, Role::Admin];
/// How far back a likely duplicate is looked for.
const DUPLICATE_DAYS: i64 = 30;
const MAX_DUPLICATES: usize = 5;

/// A form that was refused: shown again with what was typed and why.
struct Failed {
    action: String,
    form: Form,
    errors: Errors,
}

#[derive(Deserialize)]
pub struct Shown {
    done: Option<String>,
}

/// An action by its API name, as its button says it.
fn action_text(action: &str) -> Option<T> {
    Some(match action {
        "triage" => T::ActTriage,
        "dispatch" => T::ActDispatch,
        "reject" => T::ActReject,
        "escalate" => T::ActEscalate,
        "merge" => T::ActMerge,
        "extend-deadline" => T::ActExtend,
        "accept" => T::ActAccept,
        "return" => T::ActReturn,
        "contact" => T::ActContact,
        "progress" => T::ActProgress,
        "resolve" => T::ActResolve,
        "feedback" => T::ActFeedback,
        "reopen" => T::ActReopen,
        "close" => T::ActClose,
        "withdraw" => T::ActWithdraw,
        _ => return None,
    })
}

fn event_text(event_type: &str) -> Option<T> {
    Some(match event_type {
        "ConcernFiled" => T::ReceiptTitle,
        "ConcernAmended" => T::EvAmended,
        "ConcernWithdrawn" => T::EvWithdrawn,
        "CaseTriaged" => T::EvTriaged,
        "CaseDispatched" => T::EvDispatched,
        "DispatchAccepted" => T::EvAccepted,
        "DispatchReturned" => T::EvReturned,
        "CaseEscalated" => T::EvEscalated,
        "CaseMergedAsDuplicate" => T::EvMerged,
        "ConcernRejected" => T::EvRejected,
        "DeadlineExtended" => T::EvExtended,
        "ResidentContacted" => T::EvContacted,
        "ProgressRecorded" => T::EvProgress,
        "CaseResolved" => T::EvResolved,
        "FeedbackGiven" => T::EvRated,
        "CaseReopened" => T::EvReopened,
        "CaseClosed" => T::EvClosed,
        "ResponseOverdue" => T::EvResponseOverdue,
        "ResolutionOverdue" => T::EvResolutionOverdue,
        _ => return None,
    })
}

/// The words of an event worth reading in a timeline: notes, reasons, the unit.
fn event_detail(state: &SharedState, page: &Page, data: &Value) -> String {
    let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut parts = Vec::new();
    for key in ["unit", "category", "to"] {
        if let Some(code) = text(key) {
            parts.push(code_name(state, page.lang, &code));
        }
    }
    if let Some(satisfaction) = text("satisfaction") {
        parts.push(page.t(satisfaction_text(&satisfaction)).to_owned());
    }
    for key in ["reason", "note", "summary", "comment"] {
        if let Some(words) = text(key).filter(|w| !w.is_empty()) {
            parts.push(words);
        }
    }
    parts.join(" · ")
}

fn satisfaction_text(value: &str) -> T {
    match value {
        "satisfied" => T::Satisfied,
        "basically_satisfied" => T::BasicallySatisfied,
        _ => T::Unsatisfied,
    }
}

fn timeline(state: &SharedState, page: &Page, history: &[EventOut]) -> Markup {
    html! {
        ol #timeline.timeline {
            @for event in history {
                li data-type=(event.event_type) {
                    time { (when(state, event.at)) }
                    " "
                    strong { (event_text(&event.event_type).map_or(event.event_type.as_str(), |t| page.t(t))) }
                    " "
                    span.actor { "(" (event.actor) ")" }
                    @let detail = event_detail(state, page, &event.data);
                    @if !detail.is_empty() { " — " span.detail { (detail) } }
                }
            }
        }
    }
}

fn deadline(state: &SharedState, page: &Page, due: Option<DateTime<Utc>>, missed: bool) -> Markup {
    html! {
        @match due {
            Some(due) => span.overdue-label[missed] { (when(state, due)) @if missed { " · " (page.t(T::Overdue)) } },
            None => "—",
        }
    }
}

fn facts(state: &SharedState, page: &Page, case: &SummaryOut, history: &[EventOut]) -> Markup {
    // As filed, or as last amended.
    let text = |key: &str| {
        history
            .iter()
            .filter(|e| matches!(e.event_type.as_str(), "ConcernFiled" | "ConcernAmended"))
            .filter_map(|e| e.data.get(key).and_then(Value::as_str))
            .next_back()
            .unwrap_or_default()
            .to_owned()
    };
    let now = state.gateway.clock.now();
    let working = matches!(case.status.as_str(), "dispatched" | "in_progress");
    let response_missed =
        working && case.contacted_at.is_none() && case.response_due.is_some_and(|due| due < now);
    let resolution_missed = working && case.resolution_due.is_some_and(|due| due < now);
    html! {
        dl.facts {
            dt { (page.t(T::Status)) }
            dd #case-status data-status=(case.status) {
                (status_badge(page, &case.status))
                @if case.returns > 0 { " " span.status.st-returned { (page.t(T::Returned)) " ×" (case.returns) } }
            }
            dt { (page.t(T::TrackingCode)) } dd { (case.tracking_code) }
            dt { (page.t(T::Community)) } dd { (code_name(state, page.lang, &case.community)) }
            dt { (page.t(T::Category)) } dd { (case.category.as_deref().map(|c| code_name(state, page.lang, c)).unwrap_or_else(|| "—".to_owned())) }
            dt { (page.t(T::Priority)) } dd { (case.priority.as_deref().map(|p| page.t(priority_text(p))).unwrap_or("—")) }
            dt { (page.t(T::Channel)) } dd { (i18n::channel(page.lang, &case.channel)) }
            dt { (page.t(T::Unit)) } dd { (case.unit.as_deref().map(|u| code_name(state, page.lang, u)).unwrap_or_else(|| "—".to_owned())) }
            dt { (page.t(T::ResponseDue)) } dd { (deadline(state, page, case.response_due, response_missed)) }
            dt { (page.t(T::ResolutionDue)) } dd { (deadline(state, page, case.resolution_due, resolution_missed)) }
            dt { (page.t(T::Reporter)) }
            dd {
                @match &case.reporter {
                    Some(r) => { (r.name.clone().unwrap_or_default()) " " (r.phone.clone().unwrap_or_default()) }
                    None if case.confidential => { (page.t(T::ReporterHidden)) }
                    None => "—",
                }
            }
            dt { (page.t(T::FiledAt)) } dd { (when(state, case.filed_at)) }
            dt { (page.t(T::Address)) } dd { (text("address")) }
            dt { (page.t(T::Description)) } dd.description { (text("description")) }
        }
    }
}

fn priority_text(priority: &str) -> T {
    match priority {
        "urgent" => T::Urgent,
        "low" => T::Low,
        _ => T::Normal,
    }
}

/// Where a case can be escalated: the areas above a community, then the units.
fn escalation_targets(state: &SharedState, page: &Page) -> Vec<(String, String)> {
    let directory = &state.gateway.directory;
    let areas = directory
        .areas
        .iter()
        .filter(|a| a.level < gongzhi_domain::AreaLevel::Community)
        .map(|a| {
            (
                a.code.to_string(),
                i18n::name(page.lang, &a.name).to_owned(),
            )
        });
    areas.chain(units(state, page.lang)).collect()
}

/// One action's form; `fields` are its inputs, shown again with what was typed if refused.
fn action_form(
    page: &Page,
    case: &SummaryOut,
    action: &str,
    title: T,
    failed: Option<&Failed>,
    fields: impl FnOnce(&Fields<'_>) -> Markup,
) -> Markup {
    let empty = (Form::default(), Errors::default());
    let (form, errors) = match failed {
        Some(failed) if failed.action == action => (&failed.form, &failed.errors),
        _ => (&empty.0, &empty.1),
    };
    let f = Fields::prefixed(form, errors, action);
    html! {
        form.action method="post" action={ "/cases/" (case.case_id) "/" (action) } data-action=(action) {
            h3 { (page.t(title)) }
            // A refusal for the whole form is in the banner at the top of the page.
            @if !errors.fields.is_empty() { p.error role="alert" { (page.t(T::FixBelow)) } }
            (hidden(page, Some(&forms::new_key())))
            input type="hidden" name="version" value=(case.version);
            (fields(&f))
            button type="submit" { (page.t(title)) }
        }
    }
}

fn named(page: &Page, options: &[(&str, T)]) -> Vec<(String, String)> {
    options
        .iter()
        .map(|(value, text)| ((*value).to_owned(), page.t(*text).to_owned()))
        .collect()
}

fn actions(state: &SharedState, page: &Page, case: &SummaryOut, failed: Option<&Failed>) -> Markup {
    let Some(role) = page.user().map(|u| u.role) else {
        return html! {};
    };
    let status = case.status.as_str();
    let triager = TRIAGERS.contains(&role);
    let priorities = named(
        page,
        &[
            ("normal", T::Normal),
            ("urgent", T::Urgent),
            ("low", T::Low),
        ],
    );
    let vias = named(
        page,
        &[
            ("phone", T::ViaPhone),
            ("visit", T::ViaVisit),
            ("message", T::ViaMessage),
        ],
    );
    let outcomes = named(
        page,
        &[
            ("resolved", T::OutcomeResolved),
            ("explained", T::OutcomeExplained),
            ("unresolvable", T::OutcomeUnresolvable),
        ],
    );
    let reason = |f: &Fields<'_>| f.textarea("reason", page.t(T::Reason), true);
    html! {
        @if triager && matches!(status, "filed" | "triaged") {
            (action_form(page, case, "triage", T::ActTriage, failed, |f| html! {
                (f.select("category", page.t(T::Category), &categories(state, page.lang), case.category.as_deref().unwrap_or_default(),
                    case.category.is_none().then(|| page.t(T::Choose))))
                (f.select("priority", page.t(T::Priority), &priorities, case.priority.as_deref().unwrap_or("normal"), None))
            }))
        }
        @if triager && status == "triaged" {
            (action_form(page, case, "dispatch", T::ActDispatch, failed, |f| html! {
                (f.select("unit", page.t(T::Unit), &units(state, page.lang), "", Some(page.t(T::Choose))))
                (f.text("note", page.t(T::NoteOptional), false))
            }))
        }
        @if triager && matches!(status, "filed" | "triaged") {
            (action_form(page, case, "reject", T::ActReject, failed, reason))
        }
        @if triager && matches!(status, "filed" | "triaged" | "dispatched" | "in_progress") {
            (action_form(page, case, "escalate", T::ActEscalate, failed, |f| html! {
                (f.select("to", page.t(T::EscalateTo), &escalation_targets(state, page), "", Some(page.t(T::Choose))))
                (reason(f))
            }))
        }
        @if triager && matches!(status, "dispatched" | "in_progress") {
            (action_form(page, case, "extend-deadline", T::ActExtend, failed, |f| html! {
                (f.input("date", "resolution_due", page.t(T::NewDeadline), true))
                (reason(f))
            }))
        }
        @if role == Role::Handler && status == "dispatched" {
            (action_form(page, case, "accept", T::ActAccept, failed, |_| html! {}))
        }
        @if role == Role::Handler && status == "in_progress" {
            (action_form(page, case, "contact", T::ActContact, failed, |f| html! {
                (f.select("via", page.t(T::Via), &vias, "phone", None))
                (f.text("note", page.t(T::NoteOptional), false))
            }))
            (action_form(page, case, "progress", T::ActProgress, failed, |f| f.textarea("note", page.t(T::Note), true)))
            (action_form(page, case, "resolve", T::ActResolve, failed, |f| html! {
                (f.select("outcome", page.t(T::Outcome), &outcomes, "resolved", None))
                (f.textarea("summary", page.t(T::Summary), true))
            }))
        }
        @if role == Role::Handler && matches!(status, "dispatched" | "in_progress") {
            (action_form(page, case, "return", T::ActReturn, failed, reason))
        }
        @if role == Role::Operator && status == "resolved" && case.satisfaction.is_none() {
            (action_form(page, case, "feedback", T::ActFeedback, failed, |f| html! {
                (rating_fields(page, f))
                (f.textarea("comment", page.t(T::Comment), false))
            }))
        }
    }
}

/// Open cases of the same community (and category, when known) filed recently, most
/// similar first.
async fn duplicates(state: &SharedState, page: &Page, case: &SummaryOut) -> Vec<SummaryOut> {
    let query = ListQuery {
        community: Some(case.community.clone()),
        category: case.category.clone(),
        status: Some("filed,triaged,dispatched,in_progress".to_owned()),
        per_page: Some(100),
        ..ListQuery::default()
    };
    let Ok(Json(found)) = list(State(state.clone()), page.caller.clone(), Ok(Query(query))).await
    else {
        return Vec::new();
    };
    let since = case.filed_at - chrono::Duration::days(DUPLICATE_DAYS);
    let candidates = found
        .items
        .into_iter()
        .filter(|other| other.case_id != case.case_id && other.filed_at >= since);
    similar::most_similar(
        &case.title,
        candidates,
        |other| &other.title,
        MAX_DUPLICATES,
    )
}

fn duplicates_section(page: &Page, case: &SummaryOut, found: &[SummaryOut]) -> Markup {
    html! {
        section.duplicates {
            h2 { (page.t(T::Duplicates)) }
            p.hint { (page.t(T::DuplicatesText)) }
            @if found.is_empty() {
                p { (page.t(T::NoDuplicates)) }
            } @else {
                ul #duplicates {
                    @for other in found {
                        li data-code=(other.tracking_code) {
                            a href={ "/cases/" (other.case_id) } { (other.tracking_code) } " " (other.title) " "
                            (status_badge(page, &other.status))
                            form.inline method="post" action={ "/cases/" (case.case_id) "/merge" } data-action="merge" {
                                (hidden(page, Some(&forms::new_key())))
                                input type="hidden" name="version" value=(case.version);
                                input type="hidden" name="into" value=(other.case_id);
                                button type="submit" { (page.t(T::MergeInto)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn render(
    state: &SharedState,
    page: &Page,
    case_id: Uuid,
    done: Option<&str>,
    failed: Option<&Failed>,
) -> Result<Markup, ApiError> {
    let Json(case) = get_case(State(state.clone()), page.caller.clone(), Ok(Path(case_id))).await?;
    let Json(history) =
        events(State(state.clone()), page.caller.clone(), Ok(Path(case_id))).await?;
    let triager = page.user().is_some_and(|u| TRIAGERS.contains(&u.role));
    let found = if triager && matches!(case.status.as_str(), "filed" | "triaged") {
        Some(duplicates(state, page, &case).await)
    } else {
        None
    };
    let title = format!("{} {}", page.t(T::CaseTitle), case.tracking_code);
    let body = html! {
        h1 { (page.t(T::CaseTitle)) " " (case.tracking_code) }
        p.case-title { (case.title) }
        @if let Some(done) = done.and_then(action_text) {
            p.notice role="status" { (page.t(T::Done)) ": " (page.t(done)) }
        }
        @if let Some(failed) = failed.filter(|f| f.errors.form.is_some()) {
            p.error role="alert" { (failed.errors.form.clone().unwrap_or_default()) }
        }
        div.case-grid {
            section {
                (facts(state, page, &case, &history))
                h2 { (page.t(T::Timeline)) }
                (timeline(state, page, &history))
            }
            section.case-actions {
                h2 { (page.t(T::Actions)) }
                (actions(state, page, &case, failed))
                @if let Some(found) = &found { (duplicates_section(page, &case, found)) }
            }
        }
    };
    Ok(layout::page(page, &title, body))
}

pub async fn page(
    State(state): State<SharedState>,
    page: Page,
    Path(case_id): Path<Uuid>,
    Query(shown): Query<Shown>,
) -> Response {
    if let Err(response) = page.staff(&Role::ALL) {
        return response.into_response();
    }
    match render(&state, &page, case_id, shown.done.as_deref(), None).await {
        Ok(html) => page.respond(html),
        Err(error) => refused(&page, &error),
    }
}

fn refused(page: &Page, error: &ApiError) -> Response {
    let (status, title) = match error {
        ApiError::NotFound(_) => (StatusCode::NOT_FOUND, T::NotFound),
        ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, T::Forbidden),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, T::Error),
    };
    page.render_status(status, title, &i18n::refusal(page.lang, error))
}

pub async fn act(
    State(state): State<SharedState>,
    page: Page,
    Path((case_id, action)): Path<(Uuid, String)>,
    body: Bytes,
) -> Response {
    if let Err(response) = page.staff(&Role::ALL) {
        return response.into_response();
    }
    let form = Form::parse(&body);
    if !page.csrf_ok(form.get("csrf")) {
        return csrf_refused(&page);
    }
    let json = form.json(&["resolved"]);
    let result = act_on(
        &state,
        &page.caller,
        CaseId::from_uuid(case_id),
        &action,
        &form.headers(),
        Ok(Bytes::from(json.to_string())),
    )
    .await;
    match result {
        Ok(_) => {
            let done = forms::encode(&action);
            let target = match (form.get("next"), form.get("into")) {
                (Some(next), _) if !next.is_empty() => forms::local_path(next).to_owned(),
                (_, Some(into)) if action == "merge" => format!("/cases/{into}?done={done}"),
                _ => format!("/cases/{case_id}?done={done}"),
            };
            Redirect::to(&target).into_response()
        }
        Err(error) => {
            let status = match &error {
                ApiError::Conflict { .. } => StatusCode::CONFLICT,
                ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
                ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::BAD_REQUEST,
            };
            let failed = Failed {
                // The merge target is a hidden field: its refusal belongs to the page.
                errors: Errors::from_api(&error, page.lang, &[("into", "")]),
                action,
                form,
            };
            match render(&state, &page, case_id, None, Some(&failed)).await {
                Ok(html) => page.respond_with(status, html),
                Err(error) => refused(&page, &error),
            }
        }
    }
}
