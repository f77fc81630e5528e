//! Filing, case lists, the case page's data, and actions on a case.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use gongzhi_domain::{CaseEvent, CaseId, Command, IntakeCommand, Role, TrackingCode};
use gongzhi_service::{CommandOutcome, Filing, RequestMeta};
use gongzhi_views::{Applied, CaseFilter, CaseSummary, ListOrder};
use serde::Deserialize;
use tokio::sync::broadcast;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::bodies::{self, ConcernBody};
use crate::error::{ApiError, ErrorBody};
use crate::out::{ActionOut, EventOut, FiledOut, ListOut, SummaryOut};
use crate::scope::{self, ReporterView, reporter_view, show_reporter};
use crate::session::Caller;
use crate::state::SharedState;

/// Tries to find an unused tracking code before giving up (4 random characters a month).
const CODE_ATTEMPTS: usize = 16;

pub(crate) fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(
                "the body is larger than the 64 KiB a request may carry".to_owned(),
            )
        } else {
            ApiError::bad_request(rejection.body_text())
        }
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(|k| Some(k.to_owned()))
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_header",
            message: "Idempotency-Key: must be 1 to 200 visible ASCII characters".to_owned(),
        })
}

fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("if-match") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_header",
            message: "If-Match: must be the case's version, a whole number".to_owned(),
        })
}

/// How often a reply waiting for the views looks at them without an announcement.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Waits until the views show the case at `version` (or later), so the caller reads its
/// own write. The views follow the projector's replica, which the command's event reaches
/// through the bus; the projector announces the cases each write changed, on `applied`
/// (subscribed to before the command ran). With `look_first`, the views are read before
/// waiting for announcements.
pub(crate) async fn wait_visible(
    state: &SharedState,
    mut applied: broadcast::Receiver<Applied>,
    case_id: CaseId,
    version: u64,
    look_first: bool,
) {
    let started = Instant::now();
    let views = &state.gateway.views;
    let shown = async || matches!(views.summary(case_id).await, Ok(Some(summary)) if summary.version >= version);
    let reached = tokio::time::timeout(state.gateway.config.read_your_writes_timeout, async {
        if look_first && shown().await {
            return;
        }
        // Announcements can be lost (across processes they travel over NATS, which drops
        // them while reconnecting): look at the views now and then as well.
        let mut look = tokio::time::interval(LOOK_EVERY);
        look.tick().await;
        loop {
            let received = tokio::select! {
                received = applied.recv() => received,
                _ = look.tick() => {
                    if shown().await {
                        return;
                    }
                    continue;
                }
            };
            match received {
                Ok(changed) => {
                    if changed
                        .iter()
                        .any(|(id, v)| *id == case_id && *v >= version)
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if shown().await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
    .await;
    match reached {
        Ok(()) => state.metrics.visible_after(Some(started.elapsed())),
        Err(_) => {
            tracing::warn!(%case_id, version, "views did not show a write in time; answering anyway");
            state.metrics.visible_after(None);
        }
    }
}

async fn run_command(
    state: &SharedState,
    case_id: CaseId,
    caller: &Caller,
    command: &Command,
    meta: &RequestMeta,
) -> Result<CommandOutcome, ApiError> {
    let actor = caller.actor();
    // Listen before acting, so the announcement of this command's write cannot be missed.
    let applied = state.gateway.applied.subscribe();
    let result = state
        .gateway
        .commands
        .execute(case_id, &actor, command, meta)
        .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(error) => match ApiError::from_ref(error) {
            Some(StatusCode::CONFLICT) => "conflict",
            Some(status) if status.is_client_error() => "refused",
            _ => "error",
        },
    };
    state.metrics.command(command.action(), outcome);
    let outcome = result?;
    if let Some(appended) = outcome.appended {
        // A replayed retry wrote nothing now: its views were announced long ago.
        let look_first = appended.replayed;
        wait_visible(state, applied, outcome.case_id, outcome.version, look_first).await;
    }
    Ok(outcome)
}

/// Makes a filing identity whose tracking code is not in use, and holds the code until
/// the filing is visible.
fn new_filing(state: &SharedState, prefix: &str) -> Result<Filing, ApiError> {
    let now = state.gateway.clock.now();
    let mut pending = state
        .pending_codes
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    for _ in 0..CODE_ATTEMPTS {
        let filing = Filing::new(prefix, now, state.offset, &state.gateway.secret_key);
        if pending.insert(filing.tracking_code.to_string()) {
            return Ok(filing);
        }
    }
    Err(ApiError::Unavailable(
        "no free tracking code this instant; retry with the same Idempotency-Key".to_owned(),
    ))
}

/// Files a concern. Public for residents (app, web); staff file for callers with their
/// session. A retry with the same `Idempotency-Key` answers as the first request did.
#[utoipa::path(post, path = "/api/v1/concerns", tag = "cases", request_body = ConcernBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 201, body = FiledOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn file_concern(
    State(state): State<SharedState>,
    caller: Caller,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<FiledOut>), ApiError> {
    let key = idempotency_key(&headers)?;
    let concern: ConcernBody = bodies::parse(&body(raw)?)?;
    let directory = &state.gateway.directory;
    let community = bodies::community(directory, "community", &concern.community)?;
    if let Some(user) = caller.user()
        && user.role != Role::Handler
        && !scope::communities(directory, user).contains(&community.to_string())
    {
        return Err(ApiError::forbidden(format!(
            "community '{community}' is outside your area / 该社区不在您的辖区"
        )));
    }
    let prefix = directory.prefix_for(&community).unwrap_or("GZ").to_owned();
    let mut filing = new_filing(&state, &prefix)?;
    for _ in 0..CODE_ATTEMPTS {
        if state
            .gateway
            .views
            .by_tracking_code(filing.tracking_code.as_str())
            .await?
            .is_none()
        {
            break;
        }
        release(&state, &filing.tracking_code);
        filing = new_filing(&state, &prefix)?;
    }
    let code = filing.tracking_code.clone();
    let result = async {
        let command = concern.into_command(directory, code.clone(), filing.secret_digest())?;
        let meta = RequestMeta {
            idempotency_key: key.clone(),
            ..RequestMeta::default()
        };
        let filed = Command::Intake(IntakeCommand::FileConcern(Box::new(command.clone())));
        let outcome = run_command(&state, filing.case_id, &caller, &filed, &meta).await?;
        Ok::<_, ApiError>((command, outcome))
    }
    .await;
    release(&state, &code);
    let (asked, outcome) = result?;
    let Some(CaseEvent::ConcernFiled {
        tracking_code,
        channel,
        community,
        title,
        description,
        ..
    }) = outcome.events.first()
    else {
        return Err(ApiError::Internal(
            "a filing without ConcernFiled".to_owned(),
        ));
    };
    // A replayed filing hands out the original's secret: only to a request for the same
    // concern, not to whoever learns or guesses the key.
    let same = *channel == asked.channel
        && *community == asked.community
        && title.trim() == asked.title.trim()
        && description.trim() == asked.description.trim();
    if outcome.appended.is_some_and(|a| a.replayed) && !same {
        return Err(ApiError::Unprocessable {
            code: "idempotency_key_reused",
            message: format!(
                "Idempotency-Key '{}' was used for a different concern; use a new key",
                key.unwrap_or_default()
            ),
        });
    }
    let tracking_code = tracking_code.to_string();
    Ok((
        StatusCode::CREATED,
        Json(FiledOut {
            case_id: outcome.case_id.as_uuid(),
            tracking_code,
            tracking_secret: state.gateway.secret_key.secret_for(outcome.case_id),
            version: outcome.version,
        }),
    ))
}

fn release(state: &SharedState, code: &TrackingCode) {
    state
        .pending_codes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(code.as_str());
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub community: Option<String>,
    /// One status or several separated by commas.
    pub status: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub overdue: Option<bool>,
    /// A tracking code, or words from the title.
    pub q: Option<String>,
    /// newest (default), oldest, or queue: overdue first, then the nearest deadline.
    pub sort: Option<String>,
    /// From 1.
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

const STATUSES: &[&str] = &[
    "filed",
    "triaged",
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "withdrawn",
    "rejected",
    "merged",
];

/// Cases the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(ListQuery),
    responses((status = 200, body = ListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<SharedState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ListOut>, ApiError> {
    let user = caller.require()?;
    let Query(query) = query?;
    let directory = &state.gateway.directory;
    let max = state.gateway.config.max_per_page;
    let per_page = query.per_page.unwrap_or(50);
    if !(1..=max).contains(&per_page) {
        return Err(ApiError::invalid_field(
            "per_page",
            format!("must be 1 to {max}"),
        ));
    }
    let page = query.page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::invalid_field("page", "starts at 1"));
    }
    let mut statuses = Vec::new();
    for status in query.status.iter().flat_map(|s| s.split(',')) {
        let status = status.trim();
        if !STATUSES.contains(&status) {
            return Err(ApiError::invalid_field(
                "status",
                format!("'{status}' is not one of {}", STATUSES.join(", ")),
            ));
        }
        statuses.push(status.to_owned());
    }
    let mut filter = CaseFilter {
        community: query
            .community
            .as_deref()
            .map(|c| bodies::community(directory, "community", c).map(|c| c.to_string()))
            .transpose()?,
        statuses,
        category: query
            .category
            .as_deref()
            .map(|c| bodies::category(directory, "category", c).map(|c| c.to_string()))
            .transpose()?,
        unit: query
            .unit
            .as_deref()
            .map(|u| bodies::unit(directory, "unit", u).map(|u| u.to_string()))
            .transpose()?,
        overdue: query.overdue,
        q: query.q.filter(|q| !q.trim().is_empty()).map(|q| {
            let q = q.trim();
            TrackingCode::parse(q).map_or_else(|_| q.to_owned(), |code| code.to_string())
        }),
        order: match query.sort.as_deref() {
            None | Some("newest") => ListOrder::Newest,
            Some("oldest") => ListOrder::Oldest,
            Some("queue") => ListOrder::Queue,
            Some(other) => {
                return Err(ApiError::invalid_field(
                    "sort",
                    format!("'{other}' is not one of newest, oldest, queue"),
                ));
            }
        },
        offset: (page - 1) * per_page,
        limit: per_page,
        ..CaseFilter::default()
    };
    if user.role == Role::Handler {
        filter.scope_unit = Some(
            user.unit
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        );
    } else {
        filter.scope_communities = Some(scope::communities(directory, user));
    }
    let (items, total) = state.gateway.views.list(&filter).await?;
    Ok(Json(ListOut {
        items: items
            .into_iter()
            .map(|summary| {
                let view = reporter_view(user, summary.confidential);
                SummaryOut::new(summary, view)
            })
            .collect(),
        total,
        page,
        per_page,
    }))
}

async fn visible_case(
    state: &SharedState,
    caller: &Caller,
    case_id: Uuid,
) -> Result<CaseSummary, ApiError> {
    let user = caller.require()?;
    let summary = state
        .gateway
        .views
        .summary(CaseId::from_uuid(case_id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no case {case_id} / 工单不存在")))?;
    scope::check(&state.gateway.directory, user, &summary)?;
    Ok(summary)
}

/// One case.
#[utoipa::path(get, path = "/api/v1/cases/{case_id}", tag = "cases",
    params(("case_id" = Uuid, Path)),
    responses((status = 200, body = SummaryOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<SharedState>,
    caller: Caller,
    path: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Result<Json<SummaryOut>, ApiError> {
    let Path(case_id) = path?;
    let summary = visible_case(&state, &caller, case_id).await?;
    let user = caller.require()?;
    let view = reporter_view(user, summary.confidential);
    Ok(Json(SummaryOut::new(summary, view)))
}

/// Strips what a reader must not see from an event's data: the secret's digest always,
/// the reporter as the role allows.
fn redact(event_type: &str, mut data: serde_json::Value, view: ReporterView) -> serde_json::Value {
    if event_type == "ConcernFiled"
        && let Some(object) = data.as_object_mut()
    {
        object.remove("secret_digest");
        let reporter = object
            .get("reporter")
            .cloned()
            .and_then(|r| serde_json::from_value(r).ok());
        match show_reporter(reporter.as_ref(), view) {
            Some(shown) => {
                object.insert(
                    "reporter".to_owned(),
                    serde_json::to_value(shown).unwrap_or_default(),
                );
            }
            None => {
                object.remove("reporter");
            }
        }
    }
    data
}

/// Every event of the case across the three contexts, in order.
#[utoipa::path(get, path = "/api/v1/cases/{case_id}/events", tag = "cases",
    params(("case_id" = Uuid, Path)),
    responses((status = 200, body = Vec<EventOut>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn events(
    State(state): State<SharedState>,
    caller: Caller,
    path: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Vec<EventOut>>, ApiError> {
    let Path(case_id) = path?;
    let summary = visible_case(&state, &caller, case_id).await?;
    let view = reporter_view(caller.require()?, summary.confidential);
    let history = state
        .gateway
        .commands
        .history(CaseId::from_uuid(case_id))
        .await?;
    Ok(Json(
        history
            .into_iter()
            .map(|entry| EventOut {
                data: redact(&entry.event_type, entry.data, view),
                position: entry.position,
                context: entry.context,
                event_type: entry.event_type,
                at: entry.at,
                actor: entry.actor,
            })
            .collect(),
    ))
}

/// Carries out an action on a case (DESIGN §6 bodies). `If-Match: <version>` refuses with
/// 409 if the case moved on. Residents rate and withdraw with `tracking_secret`.
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/{action}", tag = "cases",
    params(("case_id" = Uuid, Path), ("action" = String, Path, description = "triage, dispatch, accept, return, escalate, merge, reject, extend-deadline, contact, progress, resolve, feedback, reopen, close, withdraw"),
        ("If-Match" = Option<u64>, Header, description = "The version the caller saw")),
    request_body(content = serde_json::Value, description = "The action's body (see DESIGN §6)"),
    responses((status = 200, body = ActionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn act(
    State(state): State<SharedState>,
    caller: Caller,
    path: Result<Path<(Uuid, String)>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<ActionOut>, ApiError> {
    let Path((case_id, action_name)) = path?;
    act_on(
        &state,
        &caller,
        CaseId::from_uuid(case_id),
        &action_name,
        &headers,
        raw,
    )
    .await
}

/// A resident rates or withdraws with what they were given at filing: the tracking code
/// and secret (`tracking_secret` in the body), no account and no case id needed.
#[utoipa::path(post, path = "/api/v1/track/{tracking_code}/{action}", tag = "cases",
    params(("tracking_code" = String, Path, example = "SY-2611-7K3Q"), ("action" = String, Path, description = "feedback or withdraw")),
    request_body(content = serde_json::Value, description = "The feedback or withdraw body, with tracking_secret"),
    responses((status = 200, body = ActionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn act_by_code(
    State(state): State<SharedState>,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<ActionOut>, ApiError> {
    let Path((code, action_name)) = path?;
    if !matches!(action_name.as_str(), "feedback" | "withdraw") {
        return Err(ApiError::not_found(format!(
            "no action '{action_name}' by tracking code; residents may rate (feedback) or withdraw"
        )));
    }
    let summary = super::track::case_by_code(&state, &code).await?;
    // Always as the resident: a staff session does not stand in for the secret here.
    act_on(
        &state,
        &Caller::Anonymous,
        summary.case_id,
        &action_name,
        &headers,
        raw,
    )
    .await
}

pub(crate) async fn act_on(
    state: &SharedState,
    caller: &Caller,
    case_id: CaseId,
    action_name: &str,
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<ActionOut>, ApiError> {
    let expected_version = if_match(headers)?;
    let idempotency_key = idempotency_key(headers)?;
    let directory = &state.gateway.directory;
    let action = bodies::action(directory, state.offset, action_name, &body(raw)?)?;
    let summary = state.gateway.views.summary(case_id).await?;
    match caller.user() {
        Some(user) => {
            let summary = summary
                .as_ref()
                .ok_or_else(|| ApiError::not_found(format!("no case {case_id} / 工单不存在")))?;
            scope::check(directory, user, summary)?;
        }
        None => {
            if !matches!(action_name, "feedback" | "withdraw") {
                return Err(ApiError::Unauthorized(format!(
                    "sign in to {action_name} a case; residents may only rate or withdraw / 请先登录"
                )));
            }
            let secret = action.tracking_secret.as_deref().unwrap_or_default();
            if secret.trim().is_empty() {
                return Err(ApiError::Unauthorized(
                    "tracking_secret: give the secret you got when filing / 请提供查询密码"
                        .to_owned(),
                ));
            }
            // A wrong secret and an unknown case look the same to the caller.
            let known = summary.is_some();
            if !known {
                return Err(ApiError::forbidden(
                    "the tracking secret does not match this case",
                ));
            }
        }
    }
    if let Some(primary_id) = action.merge_into {
        // A primary the caller may not see is answered as one that does not exist.
        let primary = state
            .gateway
            .views
            .summary(primary_id)
            .await?
            .filter(|p| {
                caller
                    .user()
                    .is_some_and(|u| scope::can_see(directory, u, p))
            })
            .ok_or_else(|| ApiError::Unprocessable {
                code: "rule",
                message: format!("into: no case {primary_id} to merge into"),
            })?;
        let duplicate = summary.as_ref();
        if primary.case_id == case_id {
            return Err(ApiError::Unprocessable {
                code: "rule",
                message: "into: a case cannot be merged into itself".to_owned(),
            });
        }
        if primary.status.is_final() {
            return Err(ApiError::Unprocessable {
                code: "rule",
                message: format!("into: the primary case is {}", primary.status),
            });
        }
        if duplicate.is_some_and(|d| d.community != primary.community) {
            return Err(ApiError::Unprocessable {
                code: "rule",
                message: "into: duplicates are merged within one community".to_owned(),
            });
        }
    }
    let meta = RequestMeta {
        idempotency_key,
        expected_version,
        tracking_secret: action.tracking_secret.clone(),
        ..RequestMeta::default()
    };
    let outcome = run_command(state, case_id, caller, &action.command, &meta).await?;
    Ok(Json(ActionOut {
        case_id: outcome.case_id.as_uuid(),
        version: outcome.version,
        status: outcome
            .status
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
    }))
}
