//! The web pages' guarantees that need no browser: a form without its CSRF token writes
//! nothing, pages keep role and area like the API, typed text is escaped, redirects stay
//! on the site, and the exports carry the dashboard's figures.

use std::sync::Arc;

use gongzhi_service::ManualClock;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use super::{Options, Server, concern, id};
use crate::support::cst;

const SCRIPT: &str = "<script>alert(1)</script>";

/// A client without redirects, so a test sees where a page sends it.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The CSRF nonce cookie a page sets and the token its forms carry.
async fn form_token(server: &Server, path: &str, bearer: Option<&str>) -> (String, String) {
    let mut request = browser().get(format!("{}{path}", server.base));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gongzhi_csrf="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .expect("a page sets the CSRF nonce");
    let html = response.text().await.unwrap();
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form carries the CSRF token")
        .to_owned();
    (cookie, token)
}

async fn page(server: &Server, path: &str, bearer: Option<&str>) -> (StatusCode, String, String) {
    let mut request = browser().get(format!("{}{path}", server.base));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, location, response.text().await.unwrap())
}

async fn total_cases(server: &Server, token: &str) -> u64 {
    let (status, list) = server.get("/api/v1/cases?per_page=1", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["total"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_hold_to_csrf_scope_and_escaping() {
    pages_hold_to_csrf_scope_and_escaping_with(&Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_hold_to_csrf_scope_and_escaping_distributed() {
    let options = Options {
        distributed: true,
        ..Options::default()
    };
    pages_hold_to_csrf_scope_and_escaping_with(&options).await;
}

async fn pages_hold_to_csrf_scope_and_escaping_with(options: &Options) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let server = Server::start_with(dir.path(), clock, options).await;
    let council = server.login("council").await;
    let handler = server.login("handler").await;
    let leader = server.login("leader").await;

    // A filing posted without the page's token, or with another reader's, writes nothing.
    let before = total_cases(&server, &leader).await;
    let form = [
        ("community", "shilong"),
        ("title", "路灯不亮"),
        ("description", "石龙路口路灯坏了"),
    ];
    let forged = browser()
        .post(format!("{}/report", server.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (cookie, token) = form_token(&server, "/report", None).await;
    let (other_cookie, _) = form_token(&server, "/report", None).await;
    let mismatched = browser()
        .post(format!("{}/report", server.base))
        .header(COOKIE, &other_cookie)
        .form(&[form.as_slice(), &[("csrf", token.as_str())]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(mismatched.status(), StatusCode::FORBIDDEN);
    assert_eq!(total_cases(&server, &leader).await, before);

    // With the token it files, and the same form submitted twice files once.
    let submit = || {
        browser()
            .post(format!("{}/report", server.base))
            .header(COOKIE, &cookie)
            .form(
                &[
                    form.as_slice(),
                    &[("csrf", token.as_str()), ("idem", "form-1")],
                ]
                .concat(),
            )
            .send()
    };
    let first = submit().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = first.text().await.unwrap();
    let again = submit().await.unwrap().text().await.unwrap();
    let code = |html: &str| {
        html.split("id=\"tracking-code\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap()
            .to_owned()
    };
    assert_eq!(code(&first), code(&again));
    assert_eq!(total_cases(&server, &leader).await, before + 1);

    // Bad input: the error is next to the field, what was typed is kept, nothing written.
    let blank = browser()
        .post(format!("{}/report", server.base))
        .header(COOKIE, &cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("community", "shilong"),
            ("title", "  "),
            ("description", "描述<b>保留</b>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(blank.status(), StatusCode::BAD_REQUEST);
    let html = blank.text().await.unwrap();
    assert!(html.contains("id=\"title-error\">此项必填"), "{html}");
    assert!(
        html.contains("描述&lt;b&gt;保留&lt;/b&gt;</textarea>"),
        "{html}"
    );
    assert_eq!(total_cases(&server, &leader).await, before + 1);

    // Staff pages: a visitor is sent to sign in; a role is kept to its own pages.
    let (status, location, _) = page(&server, "/queue", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/login?next=%2Fqueue");
    assert_eq!(
        page(&server, "/dashboard", Some(&handler)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        page(&server, "/inbox", Some(&leader)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        page(&server, "/queue", Some(&council)).await.0,
        StatusCode::OK
    );

    // A case outside the council member's community is refused on the page as in the API.
    let langxin = id(&server.file(None, concern("langxin", "浪心路面破损")).await);
    let (status, _, _) = page(&server, &format!("/cases/{langxin}"), Some(&council)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Text people typed is shown as text: title, description and name.
    let mut body = concern("shilong", &format!("{SCRIPT}小区门口路灯不亮"));
    body["description"] = format!("描述{SCRIPT}").into();
    body["reporter"]["name"] = format!("王{SCRIPT}").into();
    let marked = id(&server.file(None, body).await);
    for path in [format!("/cases/{marked}"), "/queue".to_owned()] {
        let (status, _, html) = page(&server, &path, Some(&council)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains(SCRIPT), "{path} shows a live script tag");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;小区门口路灯不亮"),
            "{path}"
        );
    }
    let (_, _, html) = page(&server, &format!("/cases/{marked}"), Some(&council)).await;
    assert!(html.contains("描述&lt;script&gt;") && html.contains("王&lt;script&gt;"));
    // ... and the first filing is suggested as its duplicate.
    assert!(html.contains("id=\"duplicates\""), "{html}");
    assert!(html.contains(&code(&first)));

    // A language switch only ever sends the reader back onto this site.
    for next in [
        "//evil.example/",
        "/%09/evil.example",
        "/%0A/evil.example",
        "https://evil.example",
    ] {
        let (status, location, _) = page(&server, &format!("/lang/en?next={next}"), None).await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, "/"),
            "{next}"
        );
    }

    // The exports are the dashboard's figures.
    let response = browser()
        .get(format!("{}/dashboard.csv", server.base))
        .bearer_auth(&leader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".csv")
    );
    let csv = response.text().await.unwrap();
    let filed = format!("受理量,{},", total_cases(&server, &leader).await);
    assert!(csv.contains(&filed), "{csv}");
    let xlsx = browser()
        .get(format!("{}/dashboard.xlsx", server.base))
        .bearer_auth(&leader)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&xlsx[..2], b"PK");

    server.stop().await;
}
