//! The hotline operator's page: file for a caller in four fields, and the call-back queue
//! of resolved cases whose caller's rating is recorded after the call.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gongzhi_domain::Role;
use maud::{Markup, html};
use serde_json::json;

use super::forms::{self, Errors, Form};
use super::layout::{self, Fields, form_error, hidden};
use super::page::Page;
use super::{categories, code_name, communities, csrf_refused, when};
use crate::i18n::T;
use crate::out::{FiledOut, SummaryOut};
use crate::routes::cases::{ListQuery, file_concern, list};
use crate::state::SharedState;

/// Resolved cases waiting for a call-back shown at once, oldest first. The list reads one
/// page of resolved cases and leaves out the rated ones, so while more than a page of
/// resolved cases are rated but not yet closed, unrated ones behind them stay out of sight
/// (a views filter on "rated" is the fix).
const FOLLOW_UPS_SHOWN: usize = 20;

/// Characters of the description that become the title when an operator files.
const TITLE_FROM_DESCRIPTION: usize = 30;

fn title_of(description: &str) -> String {
    description
        .trim()
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(TITLE_FROM_DESCRIPTION)
        .collect()
}

async fn follow_ups(state: &SharedState, page: &Page) -> Vec<SummaryOut> {
    let query = ListQuery {
        status: Some("resolved".to_owned()),
        sort: Some("oldest".to_owned()),
        per_page: Some(state.gateway.config.max_per_page),
        ..ListQuery::default()
    };
    match list(State(state.clone()), page.caller.clone(), Ok(Query(query))).await {
        Ok(Json(out)) => out
            .items
            .into_iter()
            .filter(|case| case.satisfaction.is_none())
            .take(FOLLOW_UPS_SHOWN)
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "the call-back queue could not be read");
            Vec::new()
        }
    }
}

async fn render(
    state: &SharedState,
    page: &Page,
    form: &Form,
    errors: &Errors,
    filed: Option<&FiledOut>,
) -> Markup {
    // A form shown again after a refusal keeps its key, so a retry of the same call
    // files once.
    let key = form
        .get("idem")
        .map_or_else(forms::new_key, ToOwned::to_owned);
    let rows = follow_ups(state, page).await;
    let f = Fields::new(form, errors);
    let body = html! {
        h1 { (page.t(T::OperatorTitle)) }
        section {
            h2 { (page.t(T::QuickFile)) }
            @if let Some(filed) = filed {
                p.notice role="status" {
                    (page.t(T::Filed)) " · " (page.t(T::TrackingCode)) ": "
                    strong #tracking-code { (filed.tracking_code) }
                    " · " (page.t(T::TrackingSecret)) ": " strong #tracking-secret { (filed.tracking_secret) }
                }
            }
            (form_error(page, errors))
            form #quick-file.compact method="post" action="/operator/file" {
                (hidden(page, Some(&key)))
                (f.wrap("phone", page.t(T::CallerPhone), None, html! {
                    input #phone type="tel" name="phone" value=(f.value("phone")) autofocus required
                        aria-invalid=[f.error("phone").map(|_| "true")];
                }))
                (f.select("community", page.t(T::Community), &communities(state, page.lang, page.user()), "", Some(page.t(T::Choose))))
                (f.select("category", page.t(T::Category), &categories(state, page.lang), "", Some(page.t(T::CategoryUnknown))))
                (f.textarea("description", page.t(T::Description), true))
                button type="submit" { (page.t(T::Submit)) }
            }
        }
        section {
            h2 { (page.t(T::FollowUp)) }
            p { (page.t(T::FollowUpText)) }
            div.scroll { table #follow-up {
                thead { tr {
                    th { (page.t(T::TrackingCode)) } th { (page.t(T::Title)) } th { (page.t(T::Community)) }
                    th { (page.t(T::Reporter)) } th { (page.t(T::UpdatedAt)) } th { (page.t(T::RateTitle)) }
                } }
                tbody {
                    @if rows.is_empty() { tr { td colspan="6" { (page.t(T::NothingHere)) } } }
                    @for case in &rows {
                        tr data-code=(case.tracking_code) {
                            td { a href={ "/cases/" (case.case_id) } { (case.tracking_code) } }
                            td { (case.title) }
                            td { (code_name(state, page.lang, &case.community)) }
                            td { (case.reporter.as_ref().and_then(|r| r.phone.clone()).unwrap_or_default()) }
                            td { (when(state, case.updated_at)) }
                            td {
                                form.inline method="post" action={ "/cases/" (case.case_id) "/feedback" } {
                                    (hidden(page, Some(&forms::new_key())))
                                    input type="hidden" name="next" value="/operator";
                                    input type="hidden" name="version" value=(case.version);
                                    label.visually-hidden for={ "sat-" (case.case_id) } { (page.t(T::Satisfaction)) }
                                    select id={ "sat-" (case.case_id) } name="satisfaction" {
                                        option value="satisfied" { (page.t(T::Satisfied)) }
                                        option value="basically_satisfied" { (page.t(T::BasicallySatisfied)) }
                                        option value="unsatisfied" { (page.t(T::Unsatisfied)) }
                                    }
                                    label.visually-hidden for={ "res-" (case.case_id) } { (page.t(T::WasResolved)) }
                                    select id={ "res-" (case.case_id) } name="resolved" {
                                        option value="true" { (page.t(T::WasResolved)) ": " (page.t(T::Yes)) }
                                        option value="false" { (page.t(T::WasResolved)) ": " (page.t(T::No)) }
                                    }
                                    button type="submit" { (page.t(T::Record)) }
                                }
                            }
                        }
                    }
                }
            } }
        }
    };
    layout::page(page, page.t(T::OperatorTitle), body)
}

pub async fn page(State(state): State<SharedState>, page: Page) -> Response {
    if let Err(response) = page.staff(&[Role::Operator, Role::Admin]) {
        return response.into_response();
    }
    let html = render(&state, &page, &Form::default(), &Errors::default(), None).await;
    page.respond(html)
}

pub async fn file(State(state): State<SharedState>, page: Page, body: Bytes) -> Response {
    if let Err(response) = page.staff(&[Role::Operator, Role::Admin]) {
        return response.into_response();
    }
    let form = Form::parse(&body);
    if !page.csrf_ok(form.get("csrf")) {
        return csrf_refused(&page);
    }
    let description = form.value("description");
    let mut concern = json!({
        "channel": "hotline",
        "community": form.value("community"),
        "title": title_of(description),
        "description": description,
        "reporter": {"phone": form.value("phone")},
    });
    if !form.value("category").is_empty() {
        concern["category"] = json!(form.value("category"));
    }
    let filed = file_concern(
        State(state.clone()),
        page.caller.clone(),
        form.headers(),
        Ok(Bytes::from(concern.to_string())),
    )
    .await;
    match filed {
        Ok((_, Json(filed))) => {
            let html = render(
                &state,
                &page,
                &Form::default(),
                &Errors::default(),
                Some(&filed),
            )
            .await;
            page.respond_with(StatusCode::CREATED, html)
        }
        Err(error) => {
            let errors = Errors::from_api(
                &error,
                page.lang,
                &[("title", "description"), ("reporter.phone", "phone")],
            );
            let html = render(&state, &page, &form, &errors, None).await;
            page.respond_with(StatusCode::BAD_REQUEST, html)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::title_of;

    #[test]
    fn a_title_is_the_first_line_of_the_description_cut_short() {
        assert_eq!(title_of("  路灯不亮\n已经三天"), "路灯不亮");
        assert_eq!(title_of(&"长".repeat(50)).chars().count(), 30);
    }
}
