//! The OpenAPI document, generated from the handlers' annotations and the body types.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::docs::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "共治 Gongzhi API",
        description = "民生诉求办理 — resident concerns from filing to the resident's rating (DESIGN §6). \
            Errors are `{\"error\": {\"code\", \"message\"}}`.",
    ),
    paths(
        login, logout, current, file_concern, list, get, events, act, act_by_code, track, stats, directory,
        healthz, readyz, metrics
    ),
    components(schemas(
        crate::error::ErrorBody,
        crate::bodies::ConcernBody,
        crate::bodies::TriageBody,
        crate::bodies::DispatchBody,
        crate::bodies::ReasonBody,
        crate::bodies::EscalateBody,
        crate::bodies::MergeBody,
        crate::bodies::ExtendDeadlineBody,
        crate::bodies::ContactBody,
        crate::bodies::ProgressBody,
        crate::bodies::ResolveBody,
        crate::bodies::FeedbackBody,
        crate::bodies::WithdrawBody,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "session",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
