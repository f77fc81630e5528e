//! Size caps and text checks shared by commands. Caps are part of the API contract.

use crate::error::{DomainError, Problem};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 5_000;
pub const NOTE_MAX: usize = 2_000;
pub const SHORT_MAX: usize = 200;

/// Trims and checks a required text field; `max` counts characters, not bytes.
pub fn required(field: &'static str, value: &str, max: usize) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(field, Problem::Empty));
    }
    optional(field, Some(value), max).map(|v| v.unwrap_or_default())
}

/// Trims an optional text field; empty becomes `None`.
pub fn optional(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(DomainError::invalid(field, Problem::TooLong { max }));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::invalid(field, Problem::ControlCharacters));
    }
    Ok(Some(value.to_owned()))
}
