//! Dashboard charts as inline SVG, drawn by plotters on the server: no script, no
//! download, and the page prints as it shows. plotters escapes the text it writes.

use plotters::prelude::*;

const WIDTH: u32 = 720;
const FILED: RGBColor = RGBColor(0x1f, 0x5f, 0xbf);
const RESOLVED: RGBColor = RGBColor(0x2e, 0x8b, 0x57);
const BAR: RGBColor = RGBColor(0x1f, 0x5f, 0xbf);

/// Filed and resolved per period, as two lines. `series` names the two lines.
pub fn trend(points: &[(String, i64, i64)], series: [&str; 2]) -> String {
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 280)).into_drawing_area();
        root.fill(&WHITE)?;
        let count = points.len().max(2);
        let top = points
            .iter()
            .map(|(_, filed, resolved)| (*filed).max(*resolved))
            .max()
            .unwrap_or(0)
            .max(1)
            + 1;
        let labels: Vec<String> = points.iter().map(|(label, _, _)| label.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(40)
            .build_cartesian_2d(0..count - 1, 0..top)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .y_labels(6)
            .light_line_style(WHITE.mix(0.0))
            .label_style(("sans-serif", 12))
            .draw()?;
        let lines = [(series[0], FILED, 1), (series[1], RESOLVED, 2)];
        for (name, color, column) in lines {
            let line = points
                .iter()
                .enumerate()
                .map(|(i, (_, filed, resolved))| (i, if column == 1 { *filed } else { *resolved }));
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 12))
            .draw()?;
        root.present()?;
        Ok(())
    })();
    finish(svg, drawn)
}

/// One horizontal bar per item; `percent` shows values 0..1 as 0..100 %.
pub fn bars(items: &[(String, f64)], percent: bool) -> String {
    let mut svg = String::new();
    let height = 40 + 26 * items.len().max(1) as u32;
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let scale = if percent { 100.0 } else { 1.0 };
        let top = if percent {
            100.0
        } else {
            items.iter().map(|(_, v)| *v).fold(1.0, f64::max) * 1.1
        };
        let labels: Vec<String> = items.iter().map(|(label, _)| label.clone()).collect();
        let rows = items.len().max(1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(24)
            .y_label_area_size(150)
            .build_cartesian_2d(0.0..top, (0u32..rows).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(items.len().max(1))
            .y_label_formatter(&|value| match value {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|v| {
                if percent {
                    format!("{v:.0}%")
                } else {
                    format!("{v:.0}")
                }
            })
            .label_style(("sans-serif", 12))
            .draw()?;
        chart.draw_series(
            Histogram::horizontal(&chart)
                .style(BAR.mix(0.85).filled())
                .margin(4)
                .data(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, (_, value))| (i as u32, value * scale)),
                ),
        )?;
        root.present()?;
        Ok(())
    })();
    finish(svg, drawn)
}

fn finish(svg: String, drawn: Result<(), Box<dyn std::error::Error + '_>>) -> String {
    match drawn {
        Ok(()) => svg,
        Err(error) => {
            tracing::warn!(%error, "a chart could not be drawn");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_is_an_svg_with_both_lines_and_the_labels() {
        let points = vec![
            ("11-01".to_owned(), 3, 1),
            ("11-02".to_owned(), 5, 4),
            ("11-03".to_owned(), 2, 2),
        ];
        let svg = trend(&points, ["受理", "办结"]);
        assert!(svg.starts_with("<svg"), "{svg}");
        for color in ["#1F5FBF", "#2E8B57"] {
            let drawn = format!("stroke=\"{color}\" stroke-width=\"2\"");
            assert_eq!(
                svg.matches(&drawn).count(),
                2,
                "a line and its legend mark: {svg}"
            );
        }
        assert!(svg.contains("11-02") && svg.contains("受理"));
    }

    #[test]
    fn bars_carry_their_labels_escaped() {
        let svg = bars(
            &[("石龙社区".to_owned(), 0.5), ("<b>x</b>".to_owned(), 1.0)],
            true,
        );
        assert!(svg.contains("石龙社区"));
        assert!(!svg.contains("<b>") && svg.contains("&lt;b&gt;x"));
        assert!(svg.contains("100%"));
    }
}
