//! The start page: where a newcomer finds the API and, in `gongzhi dev`, the demo accounts.

use axum::extract::State;
use axum::response::Html;

use crate::state::SharedState;

/// Text a person typed or configured, safe inside HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const LINKS: &[(&str, &str)] = &[
    ("/api/v1/openapi.json", "API 文档 OpenAPI document"),
    (
        "/api/v1/directory",
        "目录 Directory: communities, units, categories",
    ),
    ("/healthz", "存活 Liveness"),
    ("/readyz", "就绪 Readiness"),
    ("/metrics", "指标 Metrics (Prometheus)"),
];

pub async fn home(State(state): State<SharedState>) -> Html<String> {
    let links: String = LINKS
        .iter()
        .map(|(href, label)| format!("<li><a href=\"{href}\">{label}</a> <code>{href}</code></li>"))
        .collect();
    let welcome: String = state
        .gateway
        .config
        .welcome
        .iter()
        .map(|line| format!("<li>{}</li>", escape(line)))
        .collect();
    let welcome = if welcome.is_empty() {
        String::new()
    } else {
        format!("<h2>演示账号 Demo accounts</h2><ul>{welcome}</ul>")
    };
    Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>共治 Gongzhi</title></head><body>\
         <h1>共治 Gongzhi</h1>\
         <p>民生诉求办理：登记、分拨派单、办结、评价、统计。<br>\
         Resident concerns from filing to dispatch, resolution, rating and statistics.</p>\
         <h2>接口 API</h2><ul>{links}</ul>\
         <p>登录 Sign in: <code>POST /api/v1/sessions {{\"username\", \"password\"}}</code>; \
         提交诉求 file a concern: <code>POST /api/v1/concerns</code>; \
         查询 track: <code>GET /api/v1/track/{{tracking_code}}</code>.</p>\
         {welcome}</body></html>"
    ))
}
