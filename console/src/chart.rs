//! Line charts as SVG, drawn on the server with plotters: time (UTC) on the x axis, the unit on
//! the y axis, one line per series with a legend. The page embeds them as they are, so nothing
//! runs in the browser to draw them.

use plotters::prelude::*;

use crate::hosts::Point;

/// One chart: its title, the y axis' unit, the time span and the lines.
pub struct Chart<'a> {
    pub title: &'a str,
    pub unit: &'a str,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The top of the y axis; None scales to the data.
    pub y_max: Option<f64>,
    pub lines: Vec<(String, Vec<Point>)>,
}

const SIZE: (u32, u32) = (640, 260);
/// The shortest span an x axis shows.
const SHORTEST: std::time::Duration = std::time::Duration::from_secs(300);

impl Chart<'_> {
    /// The chart as an SVG document, inside a `<figure>` whose `data-points` attribute counts
    /// the points drawn (what a test of the page looks for).
    pub fn figure(&self) -> String {
        let points: usize = self.lines.iter().map(|(_, p)| p.len()).sum();
        let svg = self.svg().unwrap_or_else(|e| {
            tracing::debug!(error = %e, chart = self.title, "console: chart not drawn");
            String::new()
        });
        format!(
            "<figure class=\"chart\" data-points=\"{points}\" aria-label=\"{title}\">{svg}</figure>",
            title = crate::page::escape(self.title)
        )
    }

    /// Where the x axis starts: at the first point when the data covers less than the window
    /// (a console started minutes ago), showing at least [`SHORTEST`].
    fn start_ms(&self) -> i64 {
        let first = self.lines.iter().filter_map(|(_, p)| p.first()).map(|p| p.0).min();
        first
            .unwrap_or(self.from_ms)
            .max(self.from_ms)
            .min(self.to_ms - SHORTEST.as_millis() as i64)
    }

    fn svg(&self) -> Result<String, Box<dyn std::error::Error + '_>> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
            root.fill(&WHITE)?;
            let data_max = self
                .lines
                .iter()
                .flat_map(|(_, p)| p.iter().map(|(_, v)| *v))
                .fold(0.0f64, f64::max);
            let top = self.y_max.unwrap_or((data_max * 1.15).max(1.0));
            // Minutes since the epoch on the x axis: its labels then fall on round minutes of
            // the clock (every 10 minutes over an hour), where milliseconds would not.
            let minutes = |ms: i64| ms as f64 / 60_000.0;
            let (from, to) = (minutes(self.start_ms()), minutes(self.to_ms.max(self.from_ms + 1)));
            let mut chart = ChartBuilder::on(&root)
                .caption(self.title, ("sans-serif", 20))
                .margin(10)
                .x_label_area_size(34)
                .y_label_area_size(60)
                .build_cartesian_2d(from..to, 0f64..top)?;
            chart
                .configure_mesh()
                .x_labels(7)
                .y_labels(5)
                .x_label_formatter(&|m| clock(*m))
                .y_label_formatter(&|v| short(*v))
                .x_desc("time (UTC)")
                .y_desc(self.unit)
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 14))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            for (i, (label, points)) in self.lines.iter().enumerate() {
                let colour = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(
                        points.iter().map(|(ms, v)| (minutes(*ms), *v)),
                        colour.stroke_width(2),
                    ))?
                    .label(label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            }
            if !self.lines.is_empty() {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperLeft)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.3))
                    .label_font(("sans-serif", 14))
                    .draw()?;
            }
            root.present()?;
        }
        Ok(out)
    }
}

/// `HH:MM` of a Unix time in minutes, UTC.
fn clock(minutes: f64) -> String {
    let minutes = (minutes.round() as i64).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// An axis figure without needless digits: 12, 2.5, 1.2k, 3.4M.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a == a.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_each_line_with_its_points_labels_and_legend() {
        let chart = Chart {
            title: "CPU usage",
            unit: "percent",
            from_ms: 0,
            to_ms: 3_600_000,
            y_max: Some(100.0),
            lines: vec![
                ("web-1".into(), vec![(0, 10.0), (1_800_000, 50.0), (3_600_000, 20.0)]),
                ("web-2".into(), vec![(60_000, 70.0), (120_000, 75.0)]),
            ],
        };
        let f = chart.figure();
        assert!(f.starts_with("<figure class=\"chart\" data-points=\"5\""), "{f}");
        assert!(f.contains("<svg"), "{f}");
        let polylines: Vec<&str> = f.split("<polyline").skip(1).collect();
        let points = |p: &&str| {
            p.split("points=\"")
                .nth(1)
                .map_or(0, |s| s.split('"').next().unwrap().split_whitespace().count())
        };
        assert!(
            polylines.iter().any(|p| points(p) == 3),
            "the 3-point line is drawn: {f}"
        );
        assert!(
            polylines.iter().any(|p| points(p) == 2),
            "the 2-point line is drawn: {f}"
        );
        for text in ["CPU usage", "percent", "time (UTC)", "web-1", "web-2", "00:30", "100"] {
            assert!(
                f.split(['<', '>']).any(|piece| piece.trim() == text),
                "{text} is written: {f}"
            );
        }
    }

    #[test]
    fn the_time_axis_starts_at_the_first_point_but_shows_five_minutes_at_least() {
        let chart = |first_ms: i64| Chart {
            title: "t",
            unit: "u",
            from_ms: 0,
            to_ms: 3_600_000,
            y_max: None,
            lines: vec![("a".into(), vec![(first_ms, 1.0), (3_600_000, 2.0)])],
        };
        assert_eq!(chart(1_200_000).start_ms(), 1_200_000);
        assert_eq!(chart(3_500_000).start_ms(), 3_300_000);
        assert_eq!(chart(-5).start_ms(), 0);
    }

    #[test]
    fn axis_figures_are_short() {
        assert_eq!(clock(60.0 * 25.0 + 1.02), "01:01");
        assert_eq!(short(12.0), "12");
        assert_eq!(short(2.5), "2.5");
        assert_eq!(short(1_250.0), "1.2k");
        assert_eq!(short(35_000.0), "35k");
        assert_eq!(short(3_400_000.0), "3.4M");
    }
}
