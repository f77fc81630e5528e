//! The frame around every page, and the small pieces forms are made of. maud escapes
//! every value it interpolates, so text a user typed is safe wherever it lands.

use gongzhi_domain::Role;
use maud::{DOCTYPE, Markup, html};

use super::forms::{Errors, Form, encode};
use super::page::Page;
use crate::i18n::T;

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

/// Builds one form's labelled fields from its last submission: what was typed stays, and
/// each refusal sits under its field. Ids carry the form's prefix, so several forms on one
/// page (a case page has many) never share an id and every label finds its control.
pub struct Fields<'a> {
    form: &'a Form,
    errors: &'a Errors,
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(form: &'a Form, errors: &'a Errors) -> Self {
        Self::prefixed(form, errors, "")
    }

    /// Fields whose ids start with `prefix-`.
    pub fn prefixed(form: &'a Form, errors: &'a Errors, prefix: &'a str) -> Self {
        Self {
            form,
            errors,
            prefix,
        }
    }

    pub fn value(&self, name: &str) -> &'a str {
        self.form.value(name)
    }

    pub fn error(&self, name: &str) -> Option<&'a str> {
        self.errors.field(name)
    }

    /// The id of the control for `name`.
    pub fn id(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}-{name}", self.prefix)
        }
    }

    fn invalid(&self, name: &str) -> (Option<&'static str>, Option<String>) {
        match self.errors.field(name) {
            Some(_) => (Some("true"), Some(format!("{}-error", self.id(name)))),
            None => (None, None),
        }
    }

    /// The label, a control made by the caller (with `id(name)`), a hint and the error.
    pub fn wrap(&self, name: &str, label: &str, hint: Option<&str>, control: Markup) -> Markup {
        let error = self.errors.field(name);
        let id = self.id(name);
        html! {
            div.field.invalid[error.is_some()] data-field=(name) {
                label for=(id) { (label) }
                (control)
                @if let Some(hint) = hint { small.hint { (hint) } }
                @if let Some(message) = error {
                    p.field-error id={ (id) "-error" } { (message) }
                }
            }
        }
    }

    /// A one-line input of `kind` (text, tel, date, password).
    pub fn input(&self, kind: &str, name: &str, label: &str, required: bool) -> Markup {
        self.input_with(kind, name, label, required, None)
    }

    pub fn input_with(
        &self,
        kind: &str,
        name: &str,
        label: &str,
        required: bool,
        hint: Option<&str>,
    ) -> Markup {
        let (invalid, described) = self.invalid(name);
        let control = html! {
            input type=(kind) id=(self.id(name)) name=(name) value=(self.value(name)) required[required]
                aria-invalid=[invalid] aria-describedby=[described];
        };
        self.wrap(name, label, hint, control)
    }

    pub fn text(&self, name: &str, label: &str, required: bool) -> Markup {
        self.input("text", name, label, required)
    }

    pub fn textarea(&self, name: &str, label: &str, required: bool) -> Markup {
        self.textarea_with(name, label, required, None)
    }

    pub fn textarea_with(
        &self,
        name: &str,
        label: &str,
        required: bool,
        hint: Option<&str>,
    ) -> Markup {
        let (invalid, described) = self.invalid(name);
        let control = html! {
            textarea id=(self.id(name)) name=(name) rows="4" required[required]
                aria-invalid=[invalid] aria-describedby=[described] { (self.value(name)) }
        };
        self.wrap(name, label, hint, control)
    }

    /// A select of `(value, text)` options; the submitted value is chosen, else `fallback`.
    /// `blank` adds an empty first option with that text.
    pub fn select(
        &self,
        name: &str,
        label: &str,
        options: &[(String, String)],
        fallback: &str,
        blank: Option<&str>,
    ) -> Markup {
        let chosen = self.form.get(name).unwrap_or(fallback);
        let control = html! {
            select id=(self.id(name)) name=(name) {
                @if let Some(blank) = blank { option value="" { (blank) } }
                @for (value, text) in options {
                    option value=(value) selected[value == chosen] { (text) }
                }
            }
        };
        self.wrap(name, label, None, control)
    }
}
