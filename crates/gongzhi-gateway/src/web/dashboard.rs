//! The leader's dashboard: a period's rates beside the previous period's, the trend, the
//! communities and units side by side (ranked only with enough ratings), overdue cases by
//! age, and the same tables as CSV or XLSX. Every figure is the statistics API's.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use gongzhi_domain::{Channel, Role};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::charts;
use super::export::{self, Cell, Sheet};
use super::forms::{Errors, Form};
use super::layout::{self, Fields, form_error};
use super::page::Page;
use crate::ApiError;
use crate::i18n::{self, Lang, T};
use crate::out::{Figures, GroupOut, StatsOut};
use crate::routes::cases::{ListQuery, list};
use crate::routes::stats::{StatsParams, stats};
use crate::session::Caller;
use crate::state::SharedState;
use gongzhi_accounts::User;

const READERS: &[Role] = &[Role::Leader, Role::Admin, Role::Council, Role::Operator];

/// The dashboard's filters, as typed into its form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filters {
    from: Option<String>,
    to: Option<String>,
    area: Option<String>,
    category: Option<String>,
    channel: Option<String>,
    /// day or week
    step: Option<String>,
}

impl Filters {
    fn value(field: &Option<String>) -> Option<String> {
        field.clone().filter(|v| !v.trim().is_empty())
    }

    fn params(&self, group_by: Option<&str>) -> StatsParams {
        StatsParams {
            from: Self::value(&self.from),
            to: Self::value(&self.to),
            area: Self::value(&self.area),
            category: Self::value(&self.category),
            channel: Self::value(&self.channel),
            group_by: group_by.map(str::to_owned),
            unit: None,
        }
    }

    fn weekly(&self) -> bool {
        self.step.as_deref() == Some("week")
    }

    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("from", self.from.as_deref().unwrap_or_default()),
            ("to", self.to.as_deref().unwrap_or_default()),
            ("area", self.area.as_deref().unwrap_or_default()),
            ("category", self.category.as_deref().unwrap_or_default()),
            ("channel", self.channel.as_deref().unwrap_or_default()),
            ("step", self.step.as_deref().unwrap_or_default()),
        ])
        .unwrap_or_default()
    }
}

/// Everything the dashboard shows, gathered once for the page and the exports.
struct Report {
    current: StatsOut,
    previous: StatsOut,
    trend: Vec<(String, Figures)>,
    communities: StatsOut,
    units: StatsOut,
    overdue_by_age: [i64; 4],
    /// Overdue cases in all; the ages count at most a page of them.
    overdue_total: u64,
}

async fn ask(state: &SharedState, page: &Page, params: StatsParams) -> Result<StatsOut, ApiError> {
    let Json(out) = stats(State(state.clone()), page.caller.clone(), Ok(Query(params))).await?;
    Ok(out)
}

/// Ages of the overdue open cases in days past their deadline: ≤1, 1–3, 3–7, >7.
/// Open cases past a deadline by how long ago it passed: up to 1 day, 1–3, 3–7, over 7;
/// and how many of them were looked at (a list is read, at most a page of them).
async fn overdue_by_age(
    state: &SharedState,
    page: &Page,
    area: &str,
    filters: &Filters,
) -> ([i64; 4], u64) {
    let mut ages = [0; 4];
    // The list as a reader of the chosen area would see it (the statistics already checked
    // that the area is within the reader's own).
    let Some(user) = page.user() else {
        return (ages, 0);
    };
    let Ok(area) = gongzhi_domain::Code::parse("area", area) else {
        return (ages, 0);
    };
    let narrowed = Caller::Staff(User {
        area: Some(area),
        ..user.clone()
    });
    let query = ListQuery {
        category: Filters::value(&filters.category),
        status: Some("dispatched,in_progress".to_owned()),
        overdue: Some(true),
        per_page: Some(state.gateway.config.max_per_page),
        sort: Some("queue".to_owned()),
        ..ListQuery::default()
    };
    let Ok(Json(found)) = list(State(state.clone()), narrowed, Ok(Query(query))).await else {
        return (ages, 0);
    };
    let now = state.gateway.clock.now();
    for case in &found.items {
        // The response deadline counts until the unit made contact; then the resolution's.
        let missed = match case.contacted_at {
            None => case.response_due.filter(|due| *due < now),
            Some(_) => None,
        }
        .or(case.resolution_due.filter(|due| *due < now));
        let Some(missed) = missed else { continue };
        let days = (now - missed).num_hours() as f64 / 24.0;
        let bucket = match days {
            d if d <= 1.0 => 0,
            d if d <= 3.0 => 1,
            d if d <= 7.0 => 2,
            _ => 3,
        };
        ages[bucket] += 1;
    }
    (ages, found.total)
}

/// Every day of the period, with zero figures for the days nothing happened, so the trend's
/// time axis keeps its scale.
fn every_day(
    from: NaiveDate,
    to: NaiveDate,
    days: Vec<(String, Figures)>,
) -> Vec<(String, Figures)> {
    let mut known: std::collections::HashMap<String, Figures> = days.into_iter().collect();
    from.iter_days()
        .take_while(|day| *day <= to)
        .map(|day| {
            let key = day.to_string();
            let figures = known.remove(&key).unwrap_or_default();
            (key, figures)
        })
        .collect()
}

/// Sums days into ISO weeks; rates are recomputed from their parts, not averaged.
fn by_week(days: Vec<(String, Figures)>) -> Vec<(String, Figures)> {
    let mut weeks: Vec<(String, Figures)> = Vec::new();
    for (day, figures) in days {
        let Ok(date) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
            continue;
        };
        let monday = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
        let key = monday.format("%m-%d").to_string();
        match weeks.last_mut() {
            Some((last, sum)) if *last == key => add(sum, &figures),
            _ => weeks.push((key, figures)),
        }
    }
    weeks
}

/// Adds a day into a week. Medians cannot be added and are left as the first day's; the
/// trend shows none.
fn add(sum: &mut Figures, more: &Figures) {
    let weighted = |a: Option<f64>, wa: i64, b: Option<f64>, wb: i64| {
        let total = wa + wb;
        (total > 0)
            .then(|| (a.unwrap_or(0.0) * wa as f64 + b.unwrap_or(0.0) * wb as f64) / total as f64)
    };
    sum.satisfaction_rate = weighted(
        sum.satisfaction_rate,
        sum.rated,
        more.satisfaction_rate,
        more.rated,
    );
    sum.resolution_rate = weighted(
        sum.resolution_rate,
        sum.rated,
        more.resolution_rate,
        more.rated,
    );
    sum.on_time_rate = weighted(
        sum.on_time_rate,
        sum.resolved,
        more.on_time_rate,
        more.resolved,
    );
    sum.filed += more.filed;
    sum.dispatched += more.dispatched;
    sum.resolved += more.resolved;
    sum.closed += more.closed;
    sum.rated += more.rated;
    sum.returns += more.returns;
    sum.response_overdue += more.response_overdue;
    sum.resolution_overdue += more.resolution_overdue;
    sum.reopened += more.reopened;
    sum.response_due += more.response_due;
    sum.responded_on_time += more.responded_on_time;
    sum.response_rate =
        (sum.response_due > 0).then(|| sum.responded_on_time as f64 / sum.response_due as f64);
}

async fn gather(state: &SharedState, page: &Page, filters: &Filters) -> Result<Report, ApiError> {
    let current = ask(state, page, filters.params(None)).await?;
    let from = NaiveDate::parse_from_str(&current.from, "%Y-%m-%d")
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let to = NaiveDate::parse_from_str(&current.to, "%Y-%m-%d")
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let length = (to - from).num_days() + 1;
    let previous_params = StatsParams {
        from: Some((from - Duration::days(length)).to_string()),
        to: Some((from - Duration::days(1)).to_string()),
        ..filters.params(None)
    };
    let (previous, days, communities, units) = tokio::try_join!(
        ask(state, page, previous_params),
        ask(state, page, filters.params(Some("day"))),
        ask(state, page, filters.params(Some("community"))),
        ask(state, page, filters.params(Some("unit"))),
    )?;
    let days = every_day(
        from,
        to,
        days.groups
            .into_iter()
            .map(|g| (g.key, g.figures))
            .collect(),
    );
    let trend = if filters.weekly() {
        by_week(days)
    } else {
        days.into_iter()
            .map(|(day, figures)| (day.get(5..).unwrap_or(&day).to_owned(), figures))
            .collect()
    };
    let (overdue_by_age, overdue_total) = overdue_by_age(state, page, &current.area, filters).await;
    Ok(Report {
        current,
        previous,
        trend,
        communities,
        units,
        overdue_by_age,
        overdue_total,
    })
}

/// The figures shown in the first table, with how to read each from `Figures`.
/// A figure of the first table: its name, how to read it, and how it is shown.
struct FigureRow {
    /// The `data-figure` name of its tile, if it has one.
    tile: Option<&'static str>,
    text: T,
    read: fn(&Figures) -> Cell,
    /// A count of cases as they are now, the same for any period: no previous value.
    snapshot: bool,
}

const fn row(tile: Option<&'static str>, text: T, read: fn(&Figures) -> Cell) -> FigureRow {
    FigureRow {
        tile,
        text,
        read,
        snapshot: false,
    }
}

const FIGURES: &[FigureRow] = &[
    row(Some("filed"), T::FiledCount, |f| Cell::Count(f.filed)),
    row(None, T::ResolvedCount, |f| Cell::Count(f.resolved)),
    row(Some("response_rate"), T::ResponseRate, |f| {
        Cell::Rate(f.response_rate)
    }),
    row(Some("resolution_rate"), T::ResolutionRate, |f| {
        Cell::Rate(f.resolution_rate)
    }),
    row(Some("satisfaction_rate"), T::SatisfactionRate, |f| {
        Cell::Rate(f.satisfaction_rate)
    }),
    row(Some("on_time_rate"), T::OnTimeRate, |f| {
        Cell::Rate(f.on_time_rate)
    }),
    row(None, T::Rated, |f| Cell::Count(f.rated)),
    row(None, T::MedianContact, |f| {
        Cell::Hours(f.median_hours_to_contact)
    }),
    row(None, T::MedianResolve, |f| {
        Cell::Hours(f.median_hours_to_resolve)
    }),
    row(None, T::Returns, |f| Cell::Count(f.returns)),
    row(None, T::Reopened, |f| Cell::Count(f.reopened)),
    FigureRow {
        snapshot: true,
        ..row(None, T::OpenNow, |f| Cell::Count(f.open.unwrap_or(0)))
    },
    FigureRow {
        snapshot: true,
        ..row(Some("overdue"), T::OverdueNow, |f| {
            Cell::Count(f.overdue.unwrap_or(0))
        })
    },
];

impl FigureRow {
    /// This period's value, the previous period's and the change ("—" for a snapshot).
    fn cells(&self, report: &Report) -> [Cell; 3] {
        let now = (self.read)(&report.current.total);
        if self.snapshot {
            return [now, Cell::Text("—".to_owned()), Cell::Text("—".to_owned())];
        }
        let before = (self.read)(&report.previous.total);
        let change = change(&now, &before);
        [now, before, change]
    }
}

fn change(now: &Cell, before: &Cell) -> Cell {
    match (now, before) {
        (Cell::Count(a), Cell::Count(b)) => Cell::Text(format!("{:+}", a - b)),
        (Cell::Rate(Some(a)), Cell::Rate(Some(b))) => {
            Cell::Text(format!("{:+.1} pp", (a - b) * 100.0))
        }
        _ => Cell::Text("—".to_owned()),
    }
}

fn group_sheet(id: &'static str, lang: Lang, title: T, out: &StatsOut) -> Sheet {
    let t = |text: T| text.get(lang).to_owned();
    let mut groups: Vec<&GroupOut> = out.groups.iter().collect();
    groups.sort_by_key(|g| (g.rank.is_none(), g.rank, std::cmp::Reverse(g.figures.filed)));
    Sheet {
        id,
        title: t(title),
        header: vec![
            t(T::Rank),
            t(title),
            t(T::FiledCount),
            t(T::ResolvedCount),
            t(T::ResponseRate),
            t(T::ResolutionRate),
            t(T::SatisfactionRate),
            t(T::OnTimeRate),
            t(T::Rated),
            t(T::Returns),
        ],
        rows: groups
            .into_iter()
            .map(|g| {
                vec![
                    Cell::Text(
                        g.rank
                            .map(|r| r.to_string())
                            .unwrap_or_else(|| "—".to_owned()),
                    ),
                    Cell::Text(i18n::name(lang, &g.name).to_owned()),
                    Cell::Count(g.figures.filed),
                    Cell::Count(g.figures.resolved),
                    Cell::Rate(g.figures.response_rate),
                    Cell::Rate(g.figures.resolution_rate),
                    Cell::Rate(g.figures.satisfaction_rate),
                    Cell::Rate(g.figures.on_time_rate),
                    Cell::Count(g.figures.rated),
                    Cell::Count(g.figures.returns),
                ]
            })
            .collect(),
    }
}

fn sheets(report: &Report, lang: Lang) -> Vec<Sheet> {
    let t = |text: T| text.get(lang).to_owned();
    let figures = Sheet {
        id: "figures",
        title: format!(
            "{} {} – {}",
            t(T::Period),
            report.current.from,
            report.current.to
        ),
        header: vec![t(T::Figure), t(T::Current), t(T::Previous), t(T::Change)],
        rows: FIGURES
            .iter()
            .map(|figure| {
                let [now, before, change] = figure.cells(report);
                vec![Cell::Text(t(figure.text)), now, before, change]
            })
            .collect(),
    };
    let trend = Sheet {
        id: "trend",
        title: t(T::Trend),
        header: vec![
            t(T::Day),
            t(T::FiledCount),
            t(T::ResolvedCount),
            t(T::SatisfactionRate),
        ],
        rows: report
            .trend
            .iter()
            .map(|(label, f)| {
                vec![
                    Cell::Text(label.clone()),
                    Cell::Count(f.filed),
                    Cell::Count(f.resolved),
                    Cell::Rate(f.satisfaction_rate),
                ]
            })
            .collect(),
    };
    let ages = [T::UpToDay, T::OneToThree, T::ThreeToSeven, T::OverSeven];
    let counted: i64 = report.overdue_by_age.iter().sum();
    let overdue = Sheet {
        id: "overdue",
        title: if (counted as u64) < report.overdue_total {
            format!(
                "{} ({counted} / {})",
                t(T::OverdueByAge),
                report.overdue_total
            )
        } else {
            t(T::OverdueByAge)
        },
        header: vec![t(T::Overdue), t(T::Cases)],
        rows: ages
            .iter()
            .zip(report.overdue_by_age)
            .map(|(age, count)| vec![Cell::Text(t(*age)), Cell::Count(count)])
            .collect(),
    };
    vec![
        figures,
        trend,
        group_sheet("by-community", lang, T::ByCommunity, &report.communities),
        group_sheet("by-unit", lang, T::ByUnit, &report.units),
        overdue,
    ]
}

fn chart(caption: &str, svg: String) -> Markup {
    html! {
        figure.chart role="img" aria-label=(caption) {
            figcaption { (caption) }
            (PreEscaped(svg))
        }
    }
}

fn filters_form(state: &SharedState, page: &Page, filters: &Filters, errors: &Errors) -> Markup {
    let channels: Vec<(String, String)> = Channel::ALL
        .iter()
        .map(|c| {
            let text = i18n::channel_text(*c).get(page.lang);
            (c.as_str().to_owned(), text.to_owned())
        })
        .collect();
    let areas: Vec<(String, String)> = page
        .user()
        .and_then(|u| u.area.clone())
        .map(|own| {
            let directory = &state.gateway.directory;
            directory
                .areas
                .iter()
                .filter(|a| directory.is_within(&a.code, &own))
                .map(|a| {
                    (
                        a.code.to_string(),
                        i18n::name(page.lang, &a.name).to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let steps = vec![
        ("day".to_owned(), page.t(T::ByDay).to_owned()),
        ("week".to_owned(), page.t(T::ByWeek).to_owned()),
    ];
    let typed = Form::of(&[
        ("from", filters.from.as_deref()),
        ("to", filters.to.as_deref()),
        ("area", filters.area.as_deref()),
        ("category", filters.category.as_deref()),
        ("channel", filters.channel.as_deref()),
        ("step", filters.step.as_deref()),
    ]);
    let f = Fields::new(&typed, errors);
    html! {
        (form_error(page, errors))
        form #dashboard-filters.filters method="get" action="/dashboard" {
            (f.input("date", "from", page.t(T::From), false))
            (f.input("date", "to", page.t(T::To), false))
            (f.select("area", page.t(T::Area), &areas, "", Some("—")))
            (f.select("category", page.t(T::Category), &super::categories(state, page.lang), "", Some(page.t(T::AnyCategory))))
            (f.select("channel", page.t(T::Channel), &channels, "", Some(page.t(T::AnyChannel))))
            (f.select("step", page.t(T::Trend), &steps, "day", None))
            button type="submit" { (page.t(T::Apply)) }
        }
    }
}

/// One bar per group that has the rate; a group without a sample gets no bar, not 0 %.
fn bars_of(lang: Lang, out: &StatsOut, read: fn(&Figures) -> Option<f64>) -> Vec<(String, f64)> {
    out.groups
        .iter()
        .filter_map(|g| Some((i18n::name(lang, &g.name).to_owned(), read(&g.figures)?)))
        .collect()
}

pub async fn page(
    State(state): State<SharedState>,
    page: Page,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(response) = page.staff(READERS) {
        return response.into_response();
    }
    let filters = filters.map(|Query(f)| f).unwrap_or_default();
    let report = gather(&state, &page, &filters).await;
    let (status, content, errors) = match &report {
        Ok(report) => (
            StatusCode::OK,
            body(&page, &filters, report),
            Errors::default(),
        ),
        Err(error) => {
            let status = match error {
                ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
                ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            (status, html! {}, Errors::from_api(error, page.lang, &[]))
        }
    };
    let html = html! {
        h1 { (page.t(T::DashboardTitle)) }
        (filters_form(&state, &page, &filters, &errors))
        (content)
    };
    page.respond_with(status, layout::page(&page, page.t(T::DashboardTitle), html))
}

fn body(page: &Page, filters: &Filters, report: &Report) -> Markup {
    let sheets = sheets(report, page.lang);
    let query = filters.query_string();
    let trend_points: Vec<(String, i64, i64)> = report
        .trend
        .iter()
        .map(|(label, f)| (label.clone(), f.filed, f.resolved))
        .collect();
    let tables: Vec<&Sheet> = sheets.iter().collect();
    html! {
        p.period { (page.t(T::Period)) ": " (report.current.from) " – " (report.current.to)
            " · " (page.t(T::Previous)) ": " (report.previous.from) " – " (report.previous.to) }
        div #rates.tiles {
            @for figure in FIGURES {
                @if let Some(key) = figure.tile {
                    @let [now, before, change] = figure.cells(report);
                    div.tile {
                        span.tile-label { (page.t(figure.text)) }
                        strong.tile-value data-figure=(key) { (now.display()) }
                        @if !figure.snapshot {
                            span.tile-before { (page.t(T::Previous)) " " (before.display()) " (" (change.display()) ")" }
                        }
                    }
                }
            }
        }
        p.exports {
            (page.t(T::Export)) ": "
            a #export-csv href={ "/dashboard.csv?" (query) } download { "CSV" }
            " · "
            a #export-xlsx href={ "/dashboard.xlsx?" (query) } download { "XLSX" }
        }
        (chart(&format!("{} · {} / {}", page.t(T::Trend), page.t(T::FiledCount), page.t(T::ResolvedCount)),
            charts::trend(&trend_points, [page.t(T::FiledCount), page.t(T::ResolvedCount)])))
        div.two {
            (chart(&format!("{} · {}", page.t(T::ByCommunity), page.t(T::SatisfactionRate)),
                charts::bars(&bars_of(page.lang, &report.communities, |f| f.satisfaction_rate), true)))
            (chart(&format!("{} · {}", page.t(T::ByUnit), page.t(T::OnTimeRate)),
                charts::bars(&bars_of(page.lang, &report.units, |f| f.on_time_rate), true)))
        }
        p.hint { (page.t(T::RankNote)) " (" (report.current.min_sample) ")" }
        @for sheet in tables { (sheet.html()) }
    }
}

async fn download(
    state: SharedState,
    page: Page,
    filters: Filters,
    render: impl FnOnce(&[Sheet]) -> Result<(Vec<u8>, &'static str, &'static str), ApiError>,
) -> Response {
    if let Err(response) = page.staff(READERS) {
        return response.into_response();
    }
    let report = match gather(&state, &page, &filters).await {
        Ok(report) => report,
        Err(error) => return error.into_response(),
    };
    let sheets = sheets(&report, page.lang);
    match render(&sheets) {
        Ok((bytes, kind, extension)) => {
            let name = format!(
                "gongzhi-{}-{}-{}.{extension}",
                report.current.area, report.current.from, report.current.to
            );
            let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .unwrap_or(HeaderValue::from_static("attachment"));
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
        Err(error) => error.into_response(),
    }
}

pub async fn csv(
    State(state): State<SharedState>,
    page: Page,
    Query(filters): Query<Filters>,
) -> Response {
    download(state, page, filters, |sheets| {
        Ok((
            export::csv(sheets).into_bytes(),
            "text/csv; charset=utf-8",
            "csv",
        ))
    })
    .await
}

pub async fn xlsx(
    State(state): State<SharedState>,
    page: Page,
    Query(filters): Query<Filters>,
) -> Response {
    download(state, page, filters, |sheets| {
        let bytes = export::xlsx(sheets).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok((
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(filed: i64, rated: i64, satisfaction: Option<f64>) -> Figures {
        Figures {
            filed,
            dispatched: 0,
            resolved: 0,
            closed: 0,
            open: None,
            overdue: None,
            rated,
            response_rate: None,
            resolution_rate: None,
            satisfaction_rate: satisfaction,
            on_time_rate: None,
            median_hours_to_contact: None,
            median_hours_to_resolve: None,
            returns: 0,
            reopened: 0,
            response_overdue: 0,
            resolution_overdue: 0,
            response_due: 0,
            responded_on_time: 0,
        }
    }

    #[test]
    fn weeks_sum_counts_and_weigh_rates_by_their_sample() {
        let weeks = by_week(vec![
            ("2026-11-23".to_owned(), day(2, 1, Some(1.0))),
            ("2026-11-24".to_owned(), day(3, 3, Some(0.0))),
            ("2026-11-30".to_owned(), day(1, 0, None)),
        ]);
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].0, "11-23");
        assert_eq!(weeks[0].1.filed, 5);
        assert_eq!(weeks[0].1.satisfaction_rate, Some(0.25));
        assert_eq!(weeks[1].1.filed, 1);
    }
}
