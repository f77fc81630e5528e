//! Staff accounts and login sessions (DESIGN §7). Passwords are kept as argon2id hashes,
//! session tokens as their SHA-256: a copy of the database gives away neither.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use gongzhi_domain::{Code, Role};
use gongzhi_store::{PostgresOptions, SqliteOptions, StoreError, open_postgres, open_sqlite};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, SqlitePool};
use uuid::Uuid;

/// Shortest password accepted for a new account.
pub const PASSWORD_MIN: usize = 8;

/// A member of staff as the gateway sees them after login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub username: String,
    pub role: Role,
    /// The area node the account is scoped to (a street leader sees the whole street).
    pub area: Option<Code>,
    /// A handler's unit.
    pub unit: Option<Code>,
    pub display_name: String,
}

/// A new account.
#[derive(Clone)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub area: Option<Code>,
    pub unit: Option<Code>,
    pub display_name: String,
}

impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("role", &self.role)
            .field("area", &self.area)
            .field("unit", &self.unit)
            .finish()
    }
}

/// A session token, shown to its holder once.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("username must be 2 to 64 letters, digits, '.', '-' or '_'")]
    InvalidUsername,
    #[error("password must have at least {PASSWORD_MIN} characters")]
    WeakPassword,
    #[error("account '{0}' exists already")]
    Exists(String),
    #[error("a {role} account needs {needs}")]
    Scope {
        role: &'static str,
        needs: &'static str,
    },
    #[error("hashing the password failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(error))
    }
}

/// The accounts database, either backend.
#[derive(Debug, Clone)]
pub enum Accounts {
    Sqlite {
        writer: SqlitePool,
        readers: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool (`writer` or `readers`).
macro_rules! on_pool {
    ($accounts:expr, $side:ident, $pool:ident => $body:expr) => {
        match $accounts {
            Accounts::Sqlite { $side: $pool, .. } => $body,
            Accounts::Postgres($pool) => $body,
        }
    };
}

type AccountRow = (String, String, Option<String>, Option<String>, String);
type AccountWithHash = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

fn to_user((username, role, area, unit, display_name): AccountRow) -> Option<User> {
    Some(User {
        role: serde_plain_role(&role)?,
        area: area.and_then(|a| Code::parse("area", &a).ok()),
        unit: unit.and_then(|u| Code::parse("unit", &u).ok()),
        username,
        display_name,
    })
}

fn serde_plain_role(value: &str) -> Option<Role> {
    Role::parse(value)
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn valid_username(name: &str) -> bool {
    (2..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl Accounts {
    /// Opens (and migrates) the accounts database a URL names.
    pub async fn open(url: &str) -> Result<Self, AccountError> {
        if url.starts_with("sqlite:") {
            let (writer, readers) = open_sqlite(&SqliteOptions::from_url(url)?).await?;
            Ok(Self::Sqlite { writer, readers })
        } else {
            Ok(Self::Postgres(
                open_postgres(&PostgresOptions::from_url(url)?).await?,
            ))
        }
    }

    /// Creates an account. A handler needs a unit; every other staff role an area.
    pub async fn add(&self, account: &NewAccount) -> Result<User, AccountError> {
        if !valid_username(&account.username) {
            return Err(AccountError::InvalidUsername);
        }
        if account.password.chars().count() < PASSWORD_MIN {
            return Err(AccountError::WeakPassword);
        }
        match account.role {
            Role::Handler if account.unit.is_none() => {
                return Err(AccountError::Scope {
                    role: "handler",
                    needs: "--unit",
                });
            }
            Role::Handler => {}
            role if account.area.is_none() => {
                return Err(AccountError::Scope {
                    role: role.as_str(),
                    needs: "--area",
                });
            }
            _ => {}
        }
        let password = account.password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))??;
        let sql = "INSERT INTO accounts (username, password_hash, role, area, unit, display_name, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (username) DO NOTHING";
        let inserted = on_pool!(self, writer, pool => sqlx::query(sql)
            .bind(&account.username)
            .bind(&hash)
            .bind(account.role.as_str())
            .bind(account.area.as_ref().map(Code::as_str))
            .bind(account.unit.as_ref().map(Code::as_str))
            .bind(&account.display_name)
            .bind(Utc::now().timestamp_micros())
            .execute(pool)
            .await?
            .rows_affected());
        if inserted == 0 {
            return Err(AccountError::Exists(account.username.clone()));
        }
        Ok(User {
            username: account.username.clone(),
            role: account.role,
            area: account.area.clone(),
            unit: account.unit.clone(),
            display_name: account.display_name.clone(),
        })
    }

    /// The user whose password this is, or `None` (unknown user or wrong password: the
    /// caller cannot tell which).
    pub async fn verify(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, AccountError> {
        let sql = "SELECT username, role, area, unit, display_name, password_hash FROM accounts WHERE username = $1";
        let row: Option<AccountWithHash> = on_pool!(self, readers, pool => sqlx::query_as(sql).bind(username).fetch_optional(pool).await?);
        let known = row.is_some();
        // An unknown user costs the same as a real check, so timing does not reveal accounts.
        let hash = row.as_ref().map_or(DUMMY_HASH.to_owned(), |r| r.5.clone());
        let password = password.to_owned();
        // Argon2 takes tens of milliseconds of CPU on purpose: off the async workers.
        let matches = tokio::task::spawn_blocking(move || check_password(&password, &hash))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))?;
        let Some((username, role, area, unit, display_name, _)) = row.filter(|_| known && matches)
        else {
            return Ok(None);
        };
        Ok(to_user((username, role, area, unit, display_name)))
    }

    /// Starts a session for `user` that lasts `ttl`.
    pub async fn start_session(&self, user: &User, ttl: Duration) -> Result<Token, AccountError> {
        let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let sql = "INSERT INTO sessions (token_digest, username, expires_at) VALUES ($1, $2, $3)";
        on_pool!(self, writer, pool => sqlx::query(sql)
            .bind(digest(&token))
            .bind(&user.username)
            .bind((Utc::now() + ttl).timestamp_micros())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(Token(token))
    }

    /// The user a live session token belongs to.
    pub async fn session(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, AccountError> {
        let sql = "SELECT a.username, a.role, a.area, a.unit, a.display_name FROM sessions s \
                   JOIN accounts a ON a.username = s.username \
                   WHERE s.token_digest = $1 AND s.expires_at > $2";
        let row: Option<AccountRow> = on_pool!(self, readers, pool => sqlx::query_as(sql)
            .bind(digest(token))
            .bind(now.timestamp_micros())
            .fetch_optional(pool)
            .await?);
        Ok(row.and_then(to_user))
    }

    /// Ends a session (logout). Ending an unknown one is not an error.
    pub async fn end_session(&self, token: &str) -> Result<(), AccountError> {
        let sql = "DELETE FROM sessions WHERE token_digest = $1";
        on_pool!(self, writer, pool => sqlx::query(sql).bind(digest(token)).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// How many accounts exist.
    pub async fn count(&self) -> Result<u64, AccountError> {
        let count: i64 = on_pool!(self, readers, pool => sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(pool).await?);
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

/// A valid hash of a password nobody has, checked when the user is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4u4Zgrpq2bHCMhMrYXxmpO7Ij5hWTFb93f9Ptn7sycs";

fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::encode_b64(Uuid::new_v4().as_bytes())
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

fn check_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).ok().is_some_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests;
