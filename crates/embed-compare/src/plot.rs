//! A small SVG scatter plot: quality against training time.

use std::fmt::Write as _;

use crate::ComparisonReport;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 420.0;
const MARGIN: f64 = 60.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Plots each model's headline quality (analogy total %, or mean
/// Spearman × 100 without an analogy set) against its training seconds.
pub(crate) fn quality_vs_time(report: &ComparisonReport) -> String {
    let points: Vec<(&str, f64, f64)> = report
        .models
        .iter()
        .filter_map(|m| Some((m.model.as_str(), m.train_seconds, m.headline_quality()?)))
        .collect();
    let uses_analogy = report.models.iter().any(|m| m.analogy.is_some());
    let y_label = if uses_analogy {
        "analogy total accuracy (%)"
    } else {
        "mean Spearman × 100"
    };
    let max_x = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let max_y = points.iter().map(|p| p.2).fold(0.0, f64::max).max(1e-9) * 1.15;
    let min_y = points.iter().map(|p| p.2).fold(0.0, f64::min);
    let x = |v: f64| MARGIN + (WIDTH - 2.0 * MARGIN) * v / max_x;
    let y = |v: f64| HEIGHT - MARGIN - (HEIGHT - 2.0 * MARGIN) * (v - min_y) / (max_y - min_y);

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let (x0, y0, x1, y1) = (MARGIN, HEIGHT - MARGIN, WIDTH - MARGIN, MARGIN);
    let _ = writeln!(
        svg,
        r#"<path d="M{x0},{y1} L{x0},{y0} L{x1},{y0}" fill="none" stroke="black"/>"#
    );
    for i in 0..=4 {
        let tx = max_x * i as f64 / 4.0;
        let ty = min_y + (max_y - min_y) * i as f64 / 4.0;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{tx:.0}</text>"#,
            x(tx),
            y0 + 18.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{ty:.1}</text>"#,
            x0 - 6.0,
            y(ty) + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">training time (s)</text>"#,
        WIDTH / 2.0,
        HEIGHT - 15.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="15" y="{:.1}" text-anchor="middle" transform="rotate(-90 15 {:.1})">{y_label}</text>"#,
        HEIGHT / 2.0,
        HEIGHT / 2.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="25" text-anchor="middle" font-size="14">{}</text>"#,
        WIDTH / 2.0,
        escape(&format!("quality vs training time on {}", report.corpus))
    );
    for (name, seconds, quality) in points {
        let (px, py) = (x(seconds), y(quality));
        let _ = writeln!(
            svg,
            r#"<circle cx="{px:.1}" cy="{py:.1}" r="5" fill="steelblue"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            px + 8.0,
            py - 6.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
