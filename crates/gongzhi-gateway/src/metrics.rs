//! Prometheus metrics, kept in memory and written as text at `/metrics`: requests by
//! route and status with a latency histogram, commands by action and outcome, and how long
//! a command waited for the views to show it (projection lag seen by a writer).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    commands: BTreeMap<(String, String), u64>,
    visible_after: Histogram,
    views_lagging: u64,
}

/// The gateway's metrics.
#[derive(Debug, Default)]
pub struct Metrics(Mutex<Inner>);

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.with(|m| {
            *m.requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
            m.latency
                .entry(route.to_owned())
                .or_default()
                .observe(elapsed.as_secs_f64());
        });
    }

    pub fn command(&self, action: &str, outcome: &str) {
        self.with(|m| {
            *m.commands
                .entry((action.to_owned(), outcome.to_owned()))
                .or_default() += 1;
        });
    }

    /// How long a reply waited until the views showed its write; `None` when it gave up.
    pub fn visible_after(&self, waited: Option<Duration>) {
        self.with(|m| match waited {
            Some(waited) => m.visible_after.observe(waited.as_secs_f64()),
            None => m.views_lagging += 1,
        });
    }

    /// The Prometheus text exposition, with `extra` gauges appended.
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        self.with(|m| {
            out.push_str("# HELP gongzhi_http_requests_total HTTP requests by route and status.\n");
            out.push_str("# TYPE gongzhi_http_requests_total counter\n");
            for ((method, route, status), count) in &m.requests {
                let _ = writeln!(
                    out,
                    "gongzhi_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
            out.push_str("# HELP gongzhi_http_request_duration_seconds Time to answer a request.\n");
            out.push_str("# TYPE gongzhi_http_request_duration_seconds histogram\n");
            for (route, histogram) in &m.latency {
                histogram.write(
                    &mut out,
                    "gongzhi_http_request_duration_seconds",
                    &format!("route=\"{route}\""),
                );
            }
            out.push_str("# HELP gongzhi_commands_total Commands by action and outcome.\n");
            out.push_str("# TYPE gongzhi_commands_total counter\n");
            for ((action, outcome), count) in &m.commands {
                let _ = writeln!(
                    out,
                    "gongzhi_commands_total{{action=\"{action}\",outcome=\"{outcome}\"}} {count}"
                );
            }
            out.push_str("# HELP gongzhi_projection_visible_seconds Time from a command's append until the views showed it.\n");
            out.push_str("# TYPE gongzhi_projection_visible_seconds histogram\n");
            m.visible_after
                .write(&mut out, "gongzhi_projection_visible_seconds", "");
            out.push_str("# HELP gongzhi_projection_wait_timeouts_total Replies sent before the views showed the write.\n");
            out.push_str("# TYPE gongzhi_projection_wait_timeouts_total counter\n");
            let _ = writeln!(out, "gongzhi_projection_wait_timeouts_total {}", m.views_lagging);
        });
        for (name, help, value) in extra {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}
