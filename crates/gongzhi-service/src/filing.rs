//! What the caller of FileConcern must make before the domain sees it: a case id, a
//! tracking code and a secret. Randomness and hashing live here, not in the domain.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use gongzhi_domain::{CaseId, TrackingCode};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Letters for secrets: no look-alikes, so a secret can be read over the phone.
const SECRET_ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTWXY";
const SECRET_LEN: usize = 10;

/// The deployment's key for tracking secrets. A case's secret is derived from this key and
/// the case id, so it is never stored, yet a retried filing (same idempotency key, same
/// case) answers with the same secret as the original.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// A fresh random key (256 bits).
    pub fn generate() -> Self {
        let mut bytes = Uuid::new_v4().as_bytes().to_vec();
        bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The tracking secret of a case.
    pub fn secret_for(&self, case_id: CaseId) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"gongzhi tracking secret\0");
        hasher.update(&self.0);
        hasher.update(case_id.as_uuid().as_bytes());
        hasher.finalize()[..SECRET_LEN]
            .iter()
            .map(|b| SECRET_ALPHABET[usize::from(*b) % SECRET_ALPHABET.len()] as char)
            .collect()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A new filing's identity. The secret is shown to the resident and never stored.
#[derive(Debug, Clone)]
pub struct Filing {
    pub case_id: CaseId,
    pub tracking_code: TrackingCode,
    pub tracking_secret: String,
}

impl Filing {
    /// Makes a fresh case id and tracking code (with the street prefix), and the case's
    /// secret under `key`.
    pub fn new(prefix: &str, now: DateTime<Utc>, offset: FixedOffset, key: &SecretKey) -> Self {
        let random = *Uuid::new_v4().as_bytes();
        let code_bytes = [random[0], random[1], random[2], random[3]];
        let case_id = CaseId::from_uuid(Uuid::now_v7());
        Self {
            case_id,
            tracking_code: TrackingCode::generate(prefix, now, offset, code_bytes),
            tracking_secret: key.secret_for(case_id),
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
