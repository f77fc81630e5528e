use super::*;

fn account(username: &str, role: Role) -> NewAccount {
    NewAccount {
        username: username.to_owned(),
        password: "correct horse".to_owned(),
        role,
        area: Some(Code::parse("area", "shilong").unwrap()),
        unit: (role == Role::Handler).then(|| Code::parse("unit", "shilong-property").unwrap()),
        display_name: "测试".to_owned(),
    }
}

async fn open() -> (tempfile::TempDir, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("accounts.sqlite").display());
    (dir, Accounts::open(&url).await.unwrap())
}

#[tokio::test]
async fn a_password_is_stored_as_an_argon2id_hash_and_checked() {
    let (_dir, accounts) = open().await;
    accounts
        .add(&account("li.ming", Role::Council))
        .await
        .unwrap();
    let user = accounts
        .verify("li.ming", "correct horse")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Council);
    assert!(
        accounts
            .verify("li.ming", "wrong horse")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        accounts
            .verify("nobody", "correct horse")
            .await
            .unwrap()
            .is_none()
    );
    let Accounts::Sqlite { readers, .. } = &accounts else {
        unreachable!()
    };
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(readers)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[tokio::test]
async fn a_session_token_finds_its_user_until_it_ends_or_expires() {
    let (_dir, accounts) = open().await;
    let user = accounts
        .add(&account("wang.fang", Role::Handler))
        .await
        .unwrap();
    let token = accounts
        .start_session(&user, Duration::hours(1))
        .await
        .unwrap();
    let now = Utc::now();
    assert_eq!(
        accounts.session(&token.0, now).await.unwrap(),
        Some(user.clone())
    );
    assert!(
        accounts
            .session(&token.0, now + Duration::hours(2))
            .await
            .unwrap()
            .is_none()
    );
    accounts.end_session(&token.0).await.unwrap();
    assert!(accounts.session(&token.0, now).await.unwrap().is_none());
}

#[tokio::test]
async fn bad_accounts_are_refused() {
    let (_dir, accounts) = open().await;
    let mut weak = account("weak", Role::Leader);
    weak.password = "short".to_owned();
    assert!(matches!(
        accounts.add(&weak).await,
        Err(AccountError::WeakPassword)
    ));
    let mut unitless = account("handler", Role::Handler);
    unitless.unit = None;
    assert!(matches!(
        accounts.add(&unitless).await,
        Err(AccountError::Scope { .. })
    ));
    assert!(matches!(
        accounts.add(&account("bad name!", Role::Leader)).await,
        Err(AccountError::InvalidUsername)
    ));
    accounts.add(&account("twice", Role::Leader)).await.unwrap();
    assert!(matches!(
        accounts.add(&account("twice", Role::Leader)).await,
        Err(AccountError::Exists(_))
    ));
    assert_eq!(accounts.count().await.unwrap(), 1);
}

#[test]
fn hashes_are_standard_phc_strings_both_ways() {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};
    // A hash made here verifies with the reference implementation...
    let ours = hash_password("correct horse").unwrap();
    let parsed = PasswordHash::new(&ours).unwrap();
    assert!(
        Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok()
    );
    // ...and one it made (other parameters) verifies here.
    let salt = SaltString::encode_b64(b"sixteen byte sal").unwrap();
    let theirs = Argon2::default()
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
    assert!(check_password("correct horse", &theirs));
    assert!(!check_password("wrong horse", &theirs));
    assert!(!check_password("correct horse", "not a hash"));
}
