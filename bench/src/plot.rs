//! PNG plots of the latency distributions (plotters): the propagation latencies of both servers
//! as cumulative distributions, and p99 against the offered rate of the throughput ramp.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use plotters::prelude::*;

use crate::report::{percentile, Figures};

/// Fonts tried for the labels (Debian's fonts-dejavu-core, fonts-liberation).
const FONTS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

fn register_font() -> Result<()> {
    let path = FONTS
        .iter()
        .find(|p| Path::new(p).exists())
        .with_context(|| format!("no font for the plots: install one of {FONTS:?}"))?;
    let bytes: &'static [u8] = Box::leak(std::fs::read(path)?.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow::anyhow!("{path} is not a usable font"))?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Draws the plots into `dir`; returns their paths.
pub fn draw(dir: &Path, series: &[(&str, &Figures)]) -> Result<Vec<PathBuf>> {
    register_font()?;
    std::fs::create_dir_all(dir)?;
    let mut made = Vec::new();
    let cdf = dir.join("propagation-latency.png");
    if propagation(&cdf, series)? {
        made.push(cdf);
    }
    let ramp = dir.join("throughput-p99.png");
    if throughput(&ramp, series)? {
        made.push(ramp);
    }
    Ok(made)
}

const COLOURS: [RGBColor; 2] = [RGBColor(0, 114, 178), RGBColor(213, 94, 0)];

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting: {e:?}")
}

/// Cumulative distribution of the propagation latencies, log-scaled time.
fn propagation(path: &Path, series: &[(&str, &Figures)]) -> Result<bool> {
    let curves: Vec<(&str, Vec<f64>)> = series
        .iter()
        .filter_map(|(name, f)| {
            let mut l: Vec<f64> = f
                .propagation
                .as_ref()?
                .latencies
                .iter()
                .map(|d| ms(*d))
                .collect();
            l.sort_by(f64::total_cmp);
            (!l.is_empty()).then_some((*name, l))
        })
        .collect();
    if curves.is_empty() {
        return Ok(false);
    }
    let lo = curves
        .iter()
        .map(|(_, l)| l[0])
        .fold(f64::MAX, f64::min)
        .max(0.05);
    let hi = curves
        .iter()
        .map(|(_, l)| l[l.len() - 1])
        .fold(0.0, f64::max)
        .max(lo * 2.0);
    let root = BitMapBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Propagation latency, edit to every other device",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms, log scale)")
        .y_desc("fraction of arrivals")
        .draw()
        .map_err(err)?;
    for (i, (name, l)) in curves.iter().enumerate() {
        let n = l.len() as f64;
        let colour = COLOURS[i % COLOURS.len()];
        let label = format!(
            "{name}: p50 {:.1} ms, p99 {:.1} ms",
            l[(l.len() - 1) / 2],
            l[((n - 1.0) * 0.99) as usize]
        );
        chart
            .draw_series(LineSeries::new(
                l.iter()
                    .enumerate()
                    .map(|(k, v)| (v.max(lo), (k + 1) as f64 / n)),
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(true)
}

/// p99 latency against the offered edit rate, log-log.
fn throughput(path: &Path, series: &[(&str, &Figures)]) -> Result<bool> {
    let curves: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .filter(|(_, f)| !f.throughput.is_empty())
        .map(|(name, f)| {
            let mut points: Vec<(f64, f64)> = f
                .throughput
                .iter()
                .map(|s| (s.rate, ms(percentile(&s.latencies, 0.99)).max(0.05)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (*name, points)
        })
        .collect();
    if curves.is_empty() {
        return Ok(false);
    }
    let all = || curves.iter().flat_map(|(_, p)| p.iter());
    let (x0, x1) = (
        all().map(|p| p.0).fold(f64::MAX, f64::min),
        all().map(|p| p.0).fold(0.0, f64::max),
    );
    let y1 = all().map(|p| p.1).fold(200.0, f64::max);
    let root = BitMapBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "p99 propagation latency against offered edits per second",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(
            (x0 * 0.8..x1 * 1.25).log_scale(),
            (0.05..y1 * 1.5).log_scale(),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("edits per second (log scale)")
        .y_desc("p99 latency (ms, log scale)")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            [(x0 * 0.8, 100.0), (x1 * 1.25, 100.0)],
            BLACK.mix(0.4),
        ))
        .map_err(err)?
        .label("100 ms")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
    for (i, (name, points)) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(true)
}
