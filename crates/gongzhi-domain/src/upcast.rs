//! Upcasting: old payload shapes are rewritten to the current one when read, so the rest of
//! the code only ever sees current events. The stored bytes are never changed.

use serde_json::{Map, Value};

use crate::event::current_schema_version;

/// Rewrites a payload of `event_type` stored at `schema_version` to the current version.
pub fn upcast(event_type: &str, schema_version: u32, payload: Value) -> Result<Value, String> {
    let current = current_schema_version(event_type);
    if schema_version == 0 || schema_version > current {
        return Err(format!(
            "schema version {schema_version} is unknown (this build reads 1 to {current})"
        ));
    }
    let mut payload = payload;
    let mut version = schema_version;
    while version < current {
        payload = match (event_type, version) {
            ("ConcernFiled", 1) => concern_filed_v1_to_v2(payload)?,
            _ => return Err(format!("no upcaster from v{version}")),
        };
        version += 1;
    }
    Ok(payload)
}

/// ConcernFiled v1 kept the reporter as flat `reporter_name` / `reporter_phone` fields and
/// had no `confidential` flag; v2 nests them in `reporter` and adds `confidential: false`.
fn concern_filed_v1_to_v2(payload: Value) -> Result<Value, String> {
    let Value::Object(mut map) = payload else {
        return Err("ConcernFiled v1 payload is not an object".to_owned());
    };
    let mut reporter = Map::new();
    for (old, new) in [("reporter_name", "name"), ("reporter_phone", "phone")] {
        if let Some(value) = map.remove(old).filter(|v| !v.is_null()) {
            reporter.insert(new.to_owned(), value);
        }
    }
    if !reporter.is_empty() {
        map.insert("reporter".to_owned(), Value::Object(reporter));
    }
    map.entry("confidential").or_insert(Value::Bool(false));
    Ok(Value::Object(map))
}
