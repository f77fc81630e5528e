//! Staff accounts and login sessions (DESIGN §7). Passwords are kept as argon2id hashes,
//! session tokens as their SHA-256: a copy of the database gives away neither.

use std::cell::RefCell;
use std::fmt;
use std::sync::{LazyLock, mpsc};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
    /// Too many sign-ins at once; try again in a moment.
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
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
        let hash = on_hashing_thread(move || hash_password(&password)).await??;
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
        let matches = on_hashing_thread(move || check_password(&password, &hash)).await?;
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
const DUMMY_HASH: &str = "$argon2id$v=19$m=12288,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$4u4Zgrpq2bHCMhMrYXxmpO7Ij5hWTFb93f9Ptn7sycs";

type Job = Box<dyn FnOnce() + Send>;

/// Hashes that may wait for the hashing thread; more at once are refused (a flood of
/// sign-ins must not queue without end).
const HASH_QUEUE: usize = 32;

/// Password hashing is memory-hard and CPU-heavy on purpose, so it runs on one thread of
/// its own: off the async workers, one hash at a time, and its memory is reused rather
/// than held by every thread that ever hashed (each would keep its own allocator arena).
static HASHER: LazyLock<mpsc::SyncSender<Job>> = LazyLock::new(|| {
    let (jobs, queue) = mpsc::sync_channel::<Job>(HASH_QUEUE);
    // If the thread cannot start, the queue is dropped and every hash fails with an error.
    let _ = std::thread::Builder::new()
        .name("gongzhi-argon2".to_owned())
        .spawn(move || {
            for job in queue {
                job();
            }
        });
    jobs
});

async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AccountError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // Whoever asked may have gone (a dropped request): then there is nothing to do.
        if !reply.is_closed() {
            let _ = reply.send(work());
        }
    });
    HASHER.try_send(job).map_err(|error| match error {
        mpsc::TrySendError::Full(_) => AccountError::Busy,
        mpsc::TrySendError::Disconnected(_) => {
            AccountError::Hash("the password hashing thread is not running".to_owned())
        }
    })?;
    answer
        .await
        .map_err(|_| AccountError::Hash("the password hashing thread stopped".to_owned()))
}

/// Argon2id with 12 MiB, 3 passes, 1 lane: one of OWASP's equivalent recommended settings,
/// chosen over 19 MiB x 2 for a smaller memory peak. Stored hashes carry their parameters,
/// so changing these later still verifies old ones.
fn params() -> Params {
    Params::new(12 * 1024, 3, 1, None).unwrap_or_default()
}

thread_local! {
    /// The hashing thread's working memory, kept from one hash to the next: allocating it
    /// anew each time leaves the allocator holding a fresh block of it after every hash.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2id of `password` with `salt` into `out`, in the thread's kept memory.
fn argon2id(params: Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), String> {
    MEMORY.with_borrow_mut(|memory| {
        memory.resize(params.block_count(), Block::new());
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into_with_memory(password, salt, out, &mut memory[..])
            .map_err(|e| e.to_string())
    })
}

/// A new hash in PHC string format (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
fn hash_password(password: &str) -> Result<String, AccountError> {
    let params = params();
    let salt = *Uuid::new_v4().as_bytes();
    let mut out = [0_u8; 32];
    argon2id(params.clone(), password.as_bytes(), &salt, &mut out).map_err(AccountError::Hash)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    let out = Output::new(&out).map_err(|e| AccountError::Hash(e.to_string()))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${out}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str()
    ))
}

/// Whether `password` matches a stored PHC hash (compared in constant time).
fn check_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    let mut salt_bytes = [0_u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0_u8; expected.len()];
    argon2id(params, password.as_bytes(), salt, &mut out).is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests;
