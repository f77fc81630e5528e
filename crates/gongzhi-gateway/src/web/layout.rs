//! The frame around every page, and the small pieces forms are made of. maud escapes
//! every value it interpolates, so text a user typed is safe wherever it lands.

use gongzhi_domain::Role;
use maud::{DOCTYPE, Markup, html};

use super::forms::{Errors, encode};
use super::i18n::T;
use super::page::Page;

/// Where each role starts after signing in.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Operator => "/operator",
        Role::Council => "/queue",
        Role::Handler => "/inbox",
        Role::Leader | Role::Admin => "/dashboard",
    }
}

pub fn role_name(role: Role) -> T {
    match role {
        Role::Operator => T::RoleOperator,
        Role::Council => T::RoleCouncil,
        Role::Handler => T::RoleHandler,
        Role::Leader => T::RoleLeader,
        Role::Admin => T::RoleAdmin,
    }
}

fn nav(page: &Page) -> Markup {
    let links: Vec<(&str, T)> = match page.user().map(|u| u.role) {
        None => vec![
            ("/report", T::NavReport),
            ("/track", T::NavTrack),
            ("/login", T::NavLogin),
        ],
        Some(Role::Operator) => vec![("/operator", T::NavOperator), ("/report", T::NavReport)],
        Some(Role::Council) => vec![("/queue", T::NavQueue), ("/dashboard", T::NavDashboard)],
        Some(Role::Handler) => vec![("/inbox", T::NavInbox)],
        Some(Role::Leader | Role::Admin) => vec![("/dashboard", T::NavDashboard)],
    };
    html! {
        nav aria-label=(page.t(T::Brand)) {
            ul.nav {
                @for (href, text) in links {
                    li { a href=(href) aria-current=[page.path.starts_with(href).then_some("page")] { (page.t(text)) } }
                }
            }
        }
    }
}

/// A whole page.
pub fn page(page: &Page, title: &str, body: Markup) -> Markup {
    let here = encode(&page.path);
    html! {
        (DOCTYPE)
        html lang=(page.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (page.t(T::Brand)) }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { (page.t(T::SkipToContent)) }
                header.top {
                    a.brand href="/" { "共治 " span.brand-en { "Gongzhi" } }
                    (nav(page))
                    div.tools {
                        span.langs aria-label=(page.t(T::Language)) {
                            a data-lang="zh" href={ "/lang/zh?next=" (here) } lang="zh-CN" { "中文" }
                            " | "
                            a data-lang="en" href={ "/lang/en?next=" (here) } lang="en" { "English" }
                        }
                        @if let Some(user) = page.user() {
                            form #logout method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(page.csrf);
                                span.who { (user.display_name) " · " (page.t(role_name(user.role))) }
                                button type="submit" { (page.t(T::NavLogout)) }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The hidden fields every form carries.
pub fn hidden(page: &Page, key: Option<&str>) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(page.csrf);
        @if let Some(key) = key { input type="hidden" name="idem" value=(key); }
    }
}

/// A banner for an error that belongs to no one field.
pub fn form_error(page: &Page, errors: &Errors) -> Markup {
    html! {
        @if let Some(message) = &errors.form {
            p.error role="alert" { (message) }
        } @else if !errors.fields.is_empty() {
            p.error role="alert" { (page.t(T::FixBelow)) }
        }
    }
}

/// A labelled field wrapper with its error.
pub fn field(name: &str, label: &str, errors: &Errors, control: Markup) -> Markup {
    let error = errors.field(name);
    html! {
        div.field.invalid[error.is_some()] data-field=(name) {
            label for=(name) { (label) }
            (control)
            @if let Some(message) = error {
                p.field-error id={ (name) "-error" } { (message) }
            }
        }
    }
}

pub fn text_input(name: &str, value: &str, required: bool, errors: &Errors) -> Markup {
    let invalid = errors.field(name).is_some();
    html! {
        input type="text" id=(name) name=(name) value=(value) required[required]
            aria-invalid=[invalid.then_some("true")]
            aria-describedby=[invalid.then(|| format!("{name}-error"))];
    }
}

pub fn textarea(name: &str, value: &str, required: bool, errors: &Errors) -> Markup {
    let invalid = errors.field(name).is_some();
    html! {
        textarea id=(name) name=(name) rows="4" required[required]
            aria-invalid=[invalid.then_some("true")]
            aria-describedby=[invalid.then(|| format!("{name}-error"))] { (value) }
    }
}

/// A select of `(value, label)` options with one chosen; `blank` adds an empty first option.
pub fn select(
    name: &str,
    options: &[(String, String)],
    chosen: &str,
    blank: Option<&str>,
) -> Markup {
    html! {
        select id=(name) name=(name) {
            @if let Some(blank) = blank { option value="" { (blank) } }
            @for (value, label) in options {
                option value=(value) selected[value == chosen] { (label) }
            }
        }
    }
}
