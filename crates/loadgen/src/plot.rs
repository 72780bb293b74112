//! The run over time in one SVG: people waiting, admissions and holds per second, seats
//! sold, and the p99 latency of all calls.

use std::path::Path;

use plotters::prelude::*;

use crate::error::LoadgenError;
use crate::metrics::Sample;

type Series<'a> = (&'a str, RGBColor, &'a dyn Fn(&Sample) -> f64);

pub fn draw(samples: &[Sample], path: &Path, title: &str) -> Result<(), LoadgenError> {
    let root = SVGBackend::new(path, (1200, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(plot_error)?;
    let panels = root.split_evenly((4, 1));
    let t_max = samples.last().map_or(1.0, |s| s.t_secs).max(1.0);
    let waiting = |s: &Sample| s.waiting as f64;
    let admissions = |s: &Sample| s.admissions_per_sec;
    let holds = |s: &Sample| s.holds_per_sec;
    let sold = |s: &Sample| s.seats_sold as f64;
    let p99 = |s: &Sample| s.p99_ms;
    let charts: [(&str, Vec<Series>); 4] = [
        (
            "people waiting (Tier 1 + Tier 2)",
            vec![("waiting", BLUE, &waiting)],
        ),
        (
            "per second",
            vec![
                ("admissions/s", GREEN, &admissions),
                ("holds/s", MAGENTA, &holds),
            ],
        ),
        ("seats sold", vec![("seats sold", RED, &sold)]),
        (
            "p99 latency of all calls (ms)",
            vec![("p99 ms", BLACK, &p99)],
        ),
    ];
    for (panel, (caption, series)) in panels.iter().zip(charts) {
        let y_max = series
            .iter()
            .flat_map(|(_, _, f)| samples.iter().map(f))
            .fold(0.0_f64, f64::max)
            .max(1.0)
            * 1.1;
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_max, 0.0..y_max)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("seconds")
            .light_line_style(WHITE)
            .draw()
            .map_err(plot_error)?;
        for (name, color, f) in series {
            chart
                .draw_series(LineSeries::new(
                    samples.iter().map(|s| (s.t_secs, f(s))),
                    color.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(plot_error)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error(err: impl std::fmt::Display) -> LoadgenError {
    LoadgenError::Plot(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg_with_every_panel() {
        let dir = std::env::temp_dir().join(format!("urr-plot-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("plot.svg");
        let samples: Vec<Sample> = (0..30)
            .map(|i| Sample {
                t_secs: f64::from(i),
                waiting: 1000 - i64::from(i) * 30,
                admissions_per_sec: 30.0,
                holds_per_sec: 12.0,
                seats_sold: u64::from(i as u32) * 10,
                p99_ms: 4.5,
            })
            .collect();
        draw(&samples, &path, "test rush").expect("draw");
        let svg = std::fs::read_to_string(&path).expect("read");
        assert!(svg.starts_with("<svg"));
        for caption in ["people waiting", "per second", "seats sold", "p99 latency"] {
            assert!(svg.contains(caption), "missing {caption}");
        }
        assert!(
            svg.contains("<polyline") || svg.contains("<path"),
            "no lines drawn"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
