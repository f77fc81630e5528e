//! Identifiers: case ids, directory codes and the tracking code a resident reads aloud.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;

/// A case id: a UUIDv7 made at intake (by the service, which owns the clock), so ids sort
/// by filing time. Every context keys its stream by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseId(Uuid);

impl CaseId {
    /// Wraps an id made by the caller (a UUIDv7 at intake: the domain has no clock).
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A directory code (area, unit or category): lowercase ASCII letters, digits, `-` and `_`,
/// 1 to 64 characters. Codes come from the directory, never from code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Code(String);

impl Code {
    pub fn parse(field: &'static str, value: &str) -> Result<Self, DomainError> {
        let valid = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(DomainError::invalid(
                field,
                "must be 1-64 characters of a-z, 0-9, '-' or '_'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Code {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("code", &value)
    }
}

impl From<Code> for String {
    fn from(code: Code) -> Self {
        code.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Letters a caller cannot confuse over the phone: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
const UNAMBIGUOUS: &[u8; 23] = b"34679ACDEFGHJKMNPQRTWXY";

/// The short code a resident or operator reads over the phone, e.g. `SY-2611-7K3Q`:
/// street prefix, year and month of filing, four unambiguous characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingCode(String);

impl TrackingCode {
    /// Builds a code from a prefix, the filing time in the deployment's offset and random
    /// bytes chosen by the caller (the domain has no randomness of its own).
    pub fn generate(
        prefix: &str,
        filed_at: DateTime<Utc>,
        offset: FixedOffset,
        random: [u8; 4],
    ) -> Self {
        let local = filed_at.with_timezone(&offset);
        let suffix: String = random
            .iter()
            .map(|b| UNAMBIGUOUS[usize::from(*b) % UNAMBIGUOUS.len()] as char)
            .collect();
        Self(format!(
            "{}-{:02}{:02}-{}",
            prefix.to_ascii_uppercase(),
            local.year() % 100,
            local.month(),
            suffix
        ))
    }

    /// Accepts a code typed by a person: case-insensitive, surrounding spaces ignored.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let value = value.trim().to_ascii_uppercase();
        let parts: Vec<&str> = value.split('-').collect();
        let valid = parts.len() == 3
            && (1..=4).contains(&parts[0].len())
            && parts[0].bytes().all(|b| b.is_ascii_uppercase())
            && parts[1].len() == 4
            && parts[1].bytes().all(|b| b.is_ascii_digit())
            && parts[2].len() == 4
            && parts[2].bytes().all(|b| UNAMBIGUOUS.contains(&b));
        if valid {
            Ok(Self(value))
        } else {
            Err(DomainError::invalid(
                "tracking_code",
                "must look like SY-2611-7K3Q",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TrackingCode {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TrackingCode> for String {
    fn from(code: TrackingCode) -> Self {
        code.0
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
