//! Posted forms: their fields, the errors to show next to them, and the JSON body of the
//! API call a form stands for.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::i18n::{self, Lang, T};

/// Fields that steer the page rather than belong to the API body.
const CONTROL_FIELDS: &[&str] = &["csrf", "idem", "next", "version"];

/// A posted `application/x-www-form-urlencoded` form.
#[derive(Debug, Default, Clone)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &Bytes) -> Self {
        Self(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    /// A form filled with the values present (a query's filters, say).
    pub fn of(values: &[(&str, Option<&str>)]) -> Self {
        Self(
            values
                .iter()
                .filter_map(|(name, value)| value.map(|v| ((*name).to_owned(), v.to_owned())))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value, or "" when absent.
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// The same form without one field (a key that must not be sent again, say).
    pub fn without(&self, name: &str) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(key, _)| key != name)
                .cloned()
                .collect(),
        )
    }

    pub fn checked(&self, name: &str) -> bool {
        matches!(self.get(name), Some("on" | "true" | "1"))
    }

    /// The API body a form stands for: every non-control field, empty ones left out,
    /// `true`/`false` as booleans for the fields in `booleans`.
    pub fn json(&self, booleans: &[&str]) -> Value {
        let mut object = Map::new();
        for (key, value) in &self.0 {
            if CONTROL_FIELDS.contains(&key.as_str()) || value.trim().is_empty() {
                continue;
            }
            let value = if booleans.contains(&key.as_str()) {
                Value::Bool(value == "true" || value == "on")
            } else {
                Value::String(value.clone())
            };
            object.insert(key.clone(), value);
        }
        Value::Object(object)
    }

    /// Headers the API reads: the idempotency key that makes a resubmitted form safe, and
    /// the version the reader saw.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(key) = self.get("idem").filter(|k| !k.is_empty())
            && let Ok(value) = HeaderValue::from_str(key)
        {
            headers.insert("idempotency-key", value);
        }
        if let Some(version) = self.get("version").filter(|v| !v.is_empty())
            && let Ok(value) = HeaderValue::from_str(version)
        {
            headers.insert("if-match", value);
        }
        headers
    }
}

/// What went wrong with a submitted form: messages by field, and one for the whole form.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    pub fields: BTreeMap<String, String>,
    pub form: Option<String>,
}

impl Errors {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The API's refusal, said in `lang`, placed next to the field it names. `fields` maps
    /// the API's field names to the form's where they differ; a field mapped to "" is not
    /// on the form, so its refusal is said for the whole form.
    pub fn from_api(error: &ApiError, lang: Lang, fields: &[(&str, &str)]) -> Self {
        let mut errors = Self::default();
        match error {
            ApiError::Invalid { field, problem } => {
                let name = fields
                    .iter()
                    .find(|(api, _)| api == field)
                    .map_or(field.as_str(), |(_, form)| form);
                let said = i18n::problem(lang, problem);
                if name.is_empty() {
                    errors.form = Some(format!("{field}: {said}"));
                } else {
                    errors.fields.insert(name.to_owned(), said);
                }
            }
            other => errors.form = Some(i18n::refusal(lang, other)),
        }
        errors
    }

    pub fn message(lang: Lang, text: T) -> Self {
        Self {
            form: Some(text.get(lang).to_owned()),
            ..Self::default()
        }
    }
}

/// A fresh idempotency key for a form about to be shown: submitting it twice files once.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Percent-encodes a value for a query string.
pub fn encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|pair| pair.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// A redirect target on this site only: a path, never another host. Browsers drop tabs
/// and line breaks inside a URL (`/\t/evil` becomes `//evil`), so only visible ASCII
/// passes.
pub fn local_path(next: &str) -> &str {
    let visible = next.bytes().all(|b| b.is_ascii_graphic());
    if visible && next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_the_api_body_without_its_control_fields() {
        let form = Form::parse(&Bytes::from_static(
            b"csrf=x&idem=k&satisfaction=satisfied&resolved=true&comment=&next=%2Fq",
        ));
        assert_eq!(
            form.json(&["resolved"]),
            serde_json::json!({"satisfaction": "satisfied", "resolved": true})
        );
        assert_eq!(form.headers()["idempotency-key"], "k");
    }

    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(local_path("/queue?status=filed"), "/queue?status=filed");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
        assert_eq!(local_path("/\t/evil.example"), "/");
        assert_eq!(local_path("/\n/evil.example"), "/");
        assert_eq!(local_path("/ /evil.example"), "/");
    }
}
