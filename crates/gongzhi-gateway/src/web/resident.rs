//! A resident's pages, phone first: file a concern, keep the receipt, follow the public
//! timeline and rate the outcome with the tracking code and secret.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::forms::{self, Errors, Form};
use super::layout::{self, Fields, form_error, hidden};
use super::page::Page;
use super::{categories, code_name, communities, csrf_refused, status_badge, when};
use crate::i18n::T;
use crate::routes::cases::{act_by_code, file_concern};
use crate::routes::track::{Step, case_by_code, public_timeline};
use crate::state::SharedState;

/// API fields that a form names differently.
const REPORTER_FIELDS: &[(&str, &str)] = &[
    ("reporter.name", "name"),
    ("reporter.phone", "phone"),
    ("reporter.email", ""),
];

fn report_form(state: &SharedState, page: &Page, form: &Form, errors: &Errors) -> Markup {
    let key = form
        .get("idem")
        .map_or_else(forms::new_key, ToOwned::to_owned);
    let f = Fields::new(form, errors);
    let body = html! {
        h1 { (page.t(T::ReportTitle)) }
        p { (page.t(T::ReportIntro)) }
        (form_error(page, errors))
        form #report method="post" action="/report" novalidate {
            (hidden(page, Some(&key)))
            (f.select("community", page.t(T::Community), &communities(state, page.lang, page.user()), "", Some(page.t(T::Choose))))
            (f.select("category", page.t(T::Category), &categories(state, page.lang), "", Some(page.t(T::CategoryUnknown))))
            (f.input_with("text", "title", page.t(T::TitleField), true, Some(page.t(T::TitleHint))))
            (f.textarea_with("description", page.t(T::Description), true, Some(page.t(T::DescriptionHint))))
            (f.text("address", page.t(T::Address), false))
            (f.text("name", page.t(T::YourName), false))
            (f.input_with("tel", "phone", page.t(T::YourPhone), false, Some(page.t(T::PhoneHint))))
            div.check data-field="anonymous" {
                input #anonymous type="checkbox" name="anonymous" checked[form.checked("anonymous")];
                label for="anonymous" { (page.t(T::Anonymous)) }
            }
            div.check data-field="confidential" {
                input #confidential type="checkbox" name="confidential" checked[form.checked("confidential")];
                label for="confidential" { (page.t(T::Confidential)) }
            }
            button type="submit" { (page.t(T::Submit)) }
        }
    };
    layout::page(page, page.t(T::ReportTitle), body)
}

pub async fn report_page(State(state): State<SharedState>, page: Page) -> Response {
    page.respond(report_form(
        &state,
        &page,
        &Form::default(),
        &Errors::default(),
    ))
}

pub async fn report(State(state): State<SharedState>, page: Page, body: Bytes) -> Response {
    let form = Form::parse(&body);
    if !page.csrf_ok(form.get("csrf")) {
        return csrf_refused(&page);
    }
    let mut concern = form.json(&["anonymous", "confidential"]);
    let reporter = json!({"name": form.get("name").filter(|v| !v.trim().is_empty()),
                          "phone": form.get("phone").filter(|v| !v.trim().is_empty())});
    if let Some(object) = concern.as_object_mut() {
        object.remove("name");
        object.remove("phone");
        object.insert("channel".into(), json!("web"));
        object.insert("anonymous".into(), json!(form.checked("anonymous")));
        object.insert("confidential".into(), json!(form.checked("confidential")));
        if reporter
            .as_object()
            .is_some_and(|r| r.values().any(|v| !v.is_null()))
        {
            object.insert("reporter".into(), reporter);
        }
    }
    let filed = file_concern(
        State(state.clone()),
        page.caller.clone(),
        form.headers(),
        Ok(Bytes::from(concern.to_string())),
    )
    .await;
    match filed {
        Ok((_, filed)) => {
            let filed = filed.0;
            let body = html! {
                h1 { (page.t(T::ReceiptTitle)) }
                p.notice role="status" { (page.t(T::ReceiptText)) }
                p.case-title { (form.value("title")) }
                dl.receipt {
                    dt { (page.t(T::TrackingCode)) }
                    dd #tracking-code { (filed.tracking_code) }
                    dt { (page.t(T::TrackingSecret)) }
                    dd #tracking-secret { (filed.tracking_secret) }
                }
                p { a #track-link.button href={ "/track?code=" (filed.tracking_code) } { (page.t(T::TrackIt)) } }
            };
            page.respond_with(
                StatusCode::CREATED,
                layout::page(&page, page.t(T::ReceiptTitle), body),
            )
        }
        Err(error) => {
            let errors = Errors::from_api(&error, page.lang, REPORTER_FIELDS);
            // A key spent on another concern (a form brought back and changed) must not be
            // sent again, or the form could never be submitted.
            let form = match &error {
                crate::ApiError::Unprocessable {
                    code: "idempotency_key_reused",
                    ..
                } => form.without("idem"),
                _ => form,
            };
            page.respond_with(
                StatusCode::BAD_REQUEST,
                report_form(&state, &page, &form, &errors),
            )
        }
    }
}

#[derive(Deserialize)]
pub struct TrackQuery {
    code: Option<String>,
    done: Option<String>,
}

fn step_text(page: &Page, step: &Step) -> String {
    let (text, detail) = match step {
        Step::Received => (T::ReceiptTitle, None),
        Step::Amended => (T::EvAmended, None),
        Step::Withdrawn => (T::StWithdrawn, None),
        Step::Classified => (T::EvTriaged, None),
        Step::Dispatched => (T::EvDispatched, None),
        Step::Accepted => (T::EvAccepted, None),
        Step::Returned => (T::EvReturned, None),
        Step::Merged => (T::StMerged, None),
        Step::Rejected(reason) => (T::StRejected, Some(reason)),
        Step::Contacted => (T::EvContacted, None),
        Step::Resolved(summary) => (T::StResolved, Some(summary)),
        Step::Rated => (T::Rated, None),
        Step::Reopened => (T::EvReopened, None),
        Step::Closed => (T::StClosed, None),
    };
    match detail {
        Some(detail) => format!("{}：{detail}", page.t(text)),
        None => page.t(text).to_owned(),
    }
}

async fn track_view(
    state: &SharedState,
    page: &Page,
    code: &str,
    rate_form: &Form,
    errors: &Errors,
    done: Option<&str>,
) -> (StatusCode, Markup) {
    let (typed, no_errors) = (Form::default(), Errors::default());
    let lookup_fields = Fields::new(&typed, &no_errors);
    let lookup = html! {
        form #lookup method="get" action="/track" {
            (lookup_fields.wrap("code", page.t(T::TrackingCode), None, html! {
                input #code type="text" name="code" value=(code) placeholder="SY-2611-7K3Q" autocapitalize="characters" required;
            }))
            button type="submit" { (page.t(T::TrackButton)) }
        }
    };
    let mut status = StatusCode::OK;
    let found = if code.trim().is_empty() {
        html! {}
    } else {
        match case_by_code(state, code.trim()).await {
            Err(_) => {
                status = StatusCode::NOT_FOUND;
                html! { p.error role="alert" { (page.t(T::NoSuchConcern)) } }
            }
            Ok(summary) => {
                let timeline = public_timeline(state, &summary).await.unwrap_or_default();
                let awaiting_rating =
                    summary.status.as_str() == "resolved" && summary.satisfaction.is_none();
                let rate = Fields::prefixed(rate_form, errors, "rate");
                html! {
                    @if done == Some("rated") {
                        p.notice role="status" { (page.t(T::ThanksRated)) }
                    }
                    dl.facts {
                        dt { (page.t(T::TrackingCode)) } dd { (summary.tracking_code) }
                        dt { (page.t(T::Status)) }
                        dd #case-status data-status=(summary.status.as_str()) { (status_badge(page, summary.status.as_str())) }
                        dt { (page.t(T::Community)) } dd { (code_name(state, page.lang, &summary.community)) }
                        @if let Some(category) = &summary.category {
                            dt { (page.t(T::Category)) } dd { (code_name(state, page.lang, category)) }
                        }
                        dt { (page.t(T::FiledAt)) } dd { (when(state, summary.filed_at)) }
                    }
                    h2 { (page.t(T::Timeline)) }
                    ol #timeline.timeline {
                        @for (at, step) in &timeline {
                            li { time { (when(state, *at)) } " " (step_text(page, step)) }
                        }
                    }
                    @if awaiting_rating {
                        h2 { (page.t(T::RateTitle)) }
                        p { (page.t(T::RateIntro)) }
                        (form_error(page, errors))
                        form #rate method="post" action="/track/rate" {
                            (hidden(page, Some(&rate_form.get("idem").map_or_else(forms::new_key, ToOwned::to_owned))))
                            input type="hidden" name="code" value=(summary.tracking_code);
                            (rate.text("secret", page.t(T::TrackingSecret), true))
                            (rating_fields(page, &rate))
                            (rate.textarea("comment", page.t(T::Comment), false))
                            button type="submit" { (page.t(T::RateButton)) }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        h1 { (page.t(T::TrackTitle)) }
        (lookup)
        (found)
    };
    (status, layout::page(page, page.t(T::TrackTitle), body))
}

/// Satisfaction and "was it resolved" as radio groups (also used by staff).
pub fn rating_fields(page: &Page, f: &Fields<'_>) -> Markup {
    let groups = [
        (
            "satisfaction",
            T::Satisfaction,
            vec![
                ("satisfied", T::Satisfied),
                ("basically_satisfied", T::BasicallySatisfied),
                ("unsatisfied", T::Unsatisfied),
            ],
        ),
        (
            "resolved",
            T::WasResolved,
            vec![("true", T::Yes), ("false", T::No)],
        ),
    ];
    html! {
        @for (name, legend, choices) in groups {
            fieldset.field data-field=(name) {
                legend { (page.t(legend)) }
                @for (value, text) in choices {
                    label.radio {
                        input type="radio" name=(name) value=(value) required checked[f.value(name) == value];
                        " " (page.t(text))
                    }
                }
                @if let Some(message) = f.error(name) { p.field-error { (message) } }
            }
        }
    }
}

pub async fn track_page(
    State(state): State<SharedState>,
    page: Page,
    Query(query): Query<TrackQuery>,
) -> Response {
    let code = query.code.unwrap_or_default();
    let (status, html) = track_view(
        &state,
        &page,
        &code,
        &Form::default(),
        &Errors::default(),
        query.done.as_deref(),
    )
    .await;
    page.respond_with(status, html)
}

pub async fn rate(State(state): State<SharedState>, page: Page, body: Bytes) -> Response {
    let form = Form::parse(&body);
    if !page.csrf_ok(form.get("csrf")) {
        return csrf_refused(&page);
    }
    let code = form.value("code").trim().to_owned();
    let mut rating = form.json(&["resolved"]);
    if let Some(object) = rating.as_object_mut() {
        object.remove("code");
        if let Some(secret) = object.remove("secret") {
            object.insert("tracking_secret".into(), secret);
        }
    }
    let result = act_by_code(
        State(state.clone()),
        Ok(Path((code.clone(), "feedback".to_owned()))),
        form.headers(),
        Ok(Bytes::from(rating.to_string())),
    )
    .await;
    let errors = match result {
        Ok(_) => {
            let done = format!("/track?code={}&done=rated", forms::encode(&code));
            return Redirect::to(&done).into_response();
        }
        Err(crate::ApiError::Forbidden(_) | crate::ApiError::Unauthorized(_)) => {
            let mut errors = Errors::default();
            errors
                .fields
                .insert("secret".to_owned(), page.t(T::WrongSecret).to_owned());
            errors
        }
        Err(error) => Errors::from_api(&error, page.lang, &[("tracking_secret", "secret")]),
    };
    let (_, html) = track_view(&state, &page, &code, &form, &errors, None).await;
    page.respond_with(StatusCode::BAD_REQUEST, html)
}
