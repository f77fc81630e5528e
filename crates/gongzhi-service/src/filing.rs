//! What the caller of FileConcern must make before the domain sees it: a case id, a
//! tracking code and a secret. Randomness and hashing live here, not in the domain.

use chrono::{DateTime, FixedOffset, Utc};
use gongzhi_domain::{CaseId, TrackingCode};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Letters for secrets: no look-alikes, so a secret can be read over the phone.
const SECRET_ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTWXY";
const SECRET_LEN: usize = 10;

/// A new filing's identity. The secret is shown once to the resident and never stored.
#[derive(Debug, Clone)]
pub struct Filing {
    pub case_id: CaseId,
    pub tracking_code: TrackingCode,
    pub tracking_secret: String,
}

impl Filing {
    /// Makes a fresh case id, tracking code (with the street prefix) and secret.
    pub fn new(prefix: &str, now: DateTime<Utc>, offset: FixedOffset) -> Self {
        let random = *Uuid::new_v4().as_bytes();
        let code_bytes = [random[0], random[1], random[2], random[3]];
        let tracking_secret = random[4..4 + SECRET_LEN]
            .iter()
            .map(|b| SECRET_ALPHABET[usize::from(*b) % SECRET_ALPHABET.len()] as char)
            .collect();
        Self {
            case_id: CaseId::from_uuid(Uuid::now_v7()),
            tracking_code: TrackingCode::generate(prefix, now, offset, code_bytes),
            tracking_secret,
        }
    }

    pub fn secret_digest(&self) -> String {
        secret_digest(&self.tracking_secret)
    }
}

/// Hex SHA-256 of a tracking secret, as stored in ConcernFiled. Case-insensitive input, as
/// people type it.
pub fn secret_digest(secret: &str) -> String {
    let digest = Sha256::digest(secret.trim().to_ascii_uppercase().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
