//! The directory clients take codes from.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::SharedState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaOut {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    /// district, street, community or grid
    pub level: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitOut {
    pub code: String,
    pub name: String,
    pub area: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOut {
    pub code: String,
    pub name: String,
    /// resident or enterprise
    pub kind: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlaOut {
    /// After a resolution the resident has this long to rate it, e.g. `7d`.
    pub feedback_window: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryOut {
    pub areas: Vec<AreaOut>,
    pub units: Vec<UnitOut>,
    pub categories: Vec<CategoryOut>,
    pub sla: SlaOut,
}

fn plain<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::new(),
    }
}

/// Areas, units, categories and the SLA policy's headline.
#[utoipa::path(get, path = "/api/v1/directory", tag = "directory", responses((status = 200, body = DirectoryOut)))]
pub async fn directory(State(state): State<SharedState>) -> Json<DirectoryOut> {
    let directory = &state.gateway.directory;
    Json(DirectoryOut {
        areas: directory
            .areas
            .iter()
            .map(|a| AreaOut {
                code: a.code.to_string(),
                name: a.name.clone(),
                parent: a.parent.as_ref().map(ToString::to_string),
                level: plain(&a.level),
            })
            .collect(),
        units: directory
            .units
            .iter()
            .map(|u| UnitOut {
                code: u.code.to_string(),
                name: u.name.clone(),
                area: u.area.to_string(),
            })
            .collect(),
        categories: directory
            .categories
            .iter()
            .map(|c| CategoryOut {
                code: c.code.to_string(),
                name: c.name.clone(),
                kind: plain(&c.kind),
            })
            .collect(),
        sla: SlaOut {
            feedback_window: state.gateway.policy.sla.feedback_window.to_string(),
        },
    })
}
