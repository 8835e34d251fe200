//! Charts as SVG markup, drawn on the server so they read without wasm: time series as lines,
//! rankings as horizontal bars with their counts. Pure (numbers in, markup out); every text
//! that reaches the markup is escaped, API and app names included.
//!
//! Scales: the value axis ends at a round number above the largest value (with at least 10 %
//! headroom), so the largest bar or peak never fills the chart and the gridlines read as round
//! numbers with their unit.

use std::fmt::Write as _;

use certgate_services::clock;

const WIDTH: f64 = 720.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const PLOT_HEIGHT: f64 = 180.0;
/// Below the plot: the time labels, then the legend.
const BOTTOM: f64 = 56.0;

/// One line of a time chart: its legend label, the CSS class that colours it, one value per
/// point.
#[derive(Debug, Clone)]
pub struct Line {
    pub label: String,
    pub class: &'static str,
    pub values: Vec<f64>,
}

/// Lines over time: point `i` is the period starting at `start + i * step` (Unix seconds).
#[derive(Debug, Clone)]
pub struct TimeChart {
    /// The values are counts: gridlines on whole numbers.
    pub counts: bool,
    /// The accessible name, e.g. "Requests and denials, last 24 hours".
    pub title: String,
    /// What the values count, shown on the value axis, e.g. "requests / 10 min" or "ms".
    pub unit: String,
    pub start: i64,
    pub step: i64,
    pub lines: Vec<Line>,
}

/// One bar of a ranking; `href` makes the label a link (e.g. to the API's page).
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: u64,
    pub href: Option<String>,
}

/// Escapes text for XML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The value axis: a gridline step of 1, 2, 2.5 or 5 times a power of ten, and how many steps
/// (at most 5) hold `max` with 10 % to spare; the axis ends below 1.4 times that. `max <= 0`
/// gives a unit scale (an empty chart still has axes).
pub fn value_scale(max: f64) -> (f64, u32) {
    if max.is_nan() || max <= 0.0 || !max.is_finite() {
        return (0.25, 4);
    }
    let wanted = max * 1.1;
    let raw = wanted / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let steps = (wanted / step).ceil().clamp(1.0, 5.0) as u32;
    (step, steps)
}

/// [`value_scale`] for counts: gridlines on whole numbers only.
pub fn count_scale(max: f64) -> (f64, u32) {
    let (step, steps) = value_scale(max);
    if step >= 1.0 {
        return (step, steps);
    }
    let wanted = if max > 0.0 { max * 1.1 } else { 1.0 };
    (1.0, (wanted.ceil() as u32).clamp(1, 5))
}

/// A value as an axis or bar label: thousands separated, decimals only below 10.
pub fn number_text(value: f64) -> String {
    if value.fract().abs() > f64::EPSILON && value.abs() < 10.0 {
        let text = format!("{value:.2}");
        return text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    let whole = value.round() as i64;
    let digits = whole.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if whole < 0 {
        out.insert(0, '-');
    }
    out
}

/// The spacing of time labels for `span` seconds: the first candidate giving at most 8 labels.
fn time_tick(span: i64) -> i64 {
    const CANDIDATES: [i64; 11] = [600, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400, 172_800, 432_000, 604_800, 2_592_000];
    CANDIDATES.iter().copied().find(|t| span / t <= 8).unwrap_or(2_592_000)
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A time label in UTC: "14:00" when labels are less than a day apart, else "26 Nov".
fn time_label(at: i64, tick: i64) -> String {
    let text = clock::rfc3339(at);
    if tick < 86_400 {
        return text.get(11..16).unwrap_or(&text).to_string();
    }
    let month = text.get(5..7).and_then(|m| m.parse::<usize>().ok()).and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    match (text.get(8..10), month) {
        (Some(day), Some(month)) => format!("{} {month}", day.trim_start_matches('0')),
        _ => text,
    }
}

fn open_svg(out: &mut String, height: f64, label: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>"#,
        label = escape(label)
    );
}

/// The value axis: gridlines and their labels, the unit above them.
fn value_axis(out: &mut String, (step, steps): (f64, u32), unit: &str, y_of: impl Fn(f64) -> f64) {
    for i in 0..=steps {
        let value = step * f64::from(i);
        let y = y_of(value);
        let _ = write!(
            out,
            r#"<line class="gridline" x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{x}" y="{ty:.1}" text-anchor="end">{label}</text>"#,
            x2 = WIDTH - RIGHT,
            x = LEFT - 6.0,
            ty = y + 4.0,
            label = number_text(value)
        );
    }
    let _ = write!(out, r#"<text class="axis unit" x="{LEFT}" y="{y}">{}</text>"#, escape(unit), y = TOP - 4.0);
}

/// One unbroken stretch of a line (a lone point is a dot); empties `segment`.
fn draw_segment(out: &mut String, segment: &mut Vec<(f64, f64)>, class: &str) {
    match segment.as_slice() {
        [] => {}
        [(x, y)] => {
            let _ = write!(out, r#"<circle class="dot {class}" cx="{x:.1}" cy="{y:.1}" r="2.5"/>"#);
        }
        points => {
            let path: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(out, r#"<polyline class="line {class}" points="{}"/>"#, path.join(" "));
        }
    }
    segment.clear();
}

/// Lines over time, with a legend naming each line.
pub fn time_chart(chart: &TimeChart) -> String {
    let points = chart.lines.iter().map(|l| l.values.len()).max().unwrap_or(0);
    let max = chart.lines.iter().flat_map(|l| l.values.iter().copied()).filter(|v| v.is_finite()).fold(0.0, f64::max);
    let scale = if chart.counts { count_scale(max) } else { value_scale(max) };
    let top_value = scale.0 * f64::from(scale.1);
    let height = TOP + PLOT_HEIGHT + BOTTOM;
    let bottom = TOP + PLOT_HEIGHT;
    let plot_width = WIDTH - LEFT - RIGHT;
    let y_of = |v: f64| bottom - (v.max(0.0) / top_value) * PLOT_HEIGHT;
    let x_of = |i: usize| if points <= 1 { LEFT + plot_width / 2.0 } else { LEFT + plot_width * i as f64 / (points - 1) as f64 };

    let mut out = String::new();
    open_svg(&mut out, height, &chart.title);
    value_axis(&mut out, scale, &chart.unit, y_of);

    // Time labels on round hours or days, UTC.
    let span = chart.step.saturating_mul(points.saturating_sub(1) as i64);
    let tick = time_tick(span.max(chart.step));
    if chart.step > 0 && points > 0 {
        let end = chart.start + span;
        let mut at = chart.start.div_euclid(tick) * tick;
        if at < chart.start {
            at += tick;
        }
        while at <= end {
            let x = LEFT + if span > 0 { plot_width * (at - chart.start) as f64 / span as f64 } else { plot_width / 2.0 };
            let _ = write!(
                out,
                r#"<line class="tick" x1="{x:.1}" x2="{x:.1}" y1="{bottom}" y2="{y2}"/><text class="axis" x="{x:.1}" y="{ty}" text-anchor="middle">{label}</text>"#,
                y2 = bottom + 4.0,
                ty = bottom + 18.0,
                label = escape(&time_label(at, tick))
            );
            at += tick;
        }
    }

    if max <= 0.0 {
        let _ = write!(out, r#"<text class="empty" x="{x}" y="{y}" text-anchor="middle">No requests in this period</text>"#, x = LEFT + plot_width / 2.0, y = TOP + PLOT_HEIGHT / 2.0);
    }
    for line in &chart.lines {
        if line.values.iter().all(|v| v.is_nan() || *v <= 0.0) {
            continue;
        }
        // A value that is not a number is a gap (e.g. no latency where there were no requests):
        // the line breaks there, and a lone point between gaps is a dot.
        let class = escape(line.class);
        let mut segment: Vec<(f64, f64)> = Vec::new();
        for (i, v) in line.values.iter().enumerate() {
            if v.is_finite() {
                segment.push((x_of(i), y_of(*v)));
            } else {
                draw_segment(&mut out, &mut segment, &class);
            }
        }
        draw_segment(&mut out, &mut segment, &class);
    }

    // Legend: a swatch and the label of each line.
    let mut x = LEFT;
    for line in &chart.lines {
        let _ = write!(
            out,
            r#"<rect class="swatch {class}" x="{x}" y="{y}" width="12" height="12"/><text class="legend" x="{tx}" y="{ty}">{label}</text>"#,
            class = escape(line.class),
            y = bottom + 30.0,
            tx = x + 16.0,
            ty = bottom + 40.0,
            label = escape(&line.label)
        );
        x += 24.0 + 7.5 * line.label.chars().count() as f64;
    }
    out.push_str("</svg>");
    out
}

/// Longest label shown in a bar chart before it is cut with an ellipsis.
const BAR_LABEL_CHARS: usize = 32;
const BAR_HEIGHT: f64 = 22.0;
const BAR_GAP: f64 = 8.0;
const BAR_LABEL_WIDTH: f64 = 232.0;

/// A ranking as horizontal bars, each with its count at its end.
pub fn bar_chart(title: &str, unit: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0) as f64;
    let (step, steps) = count_scale(max);
    let top_value = step * f64::from(steps);
    let rows = bars.len().max(1) as f64;
    let plot_height = rows * (BAR_HEIGHT + BAR_GAP);
    let height = TOP + plot_height + 28.0;
    let left = BAR_LABEL_WIDTH;
    // Room after the longest bar for its count.
    let plot_width = WIDTH - left - RIGHT - 56.0;
    let bottom = TOP + plot_height;

    let mut out = String::new();
    open_svg(&mut out, height, title);
    for i in 0..=steps {
        let value = step * f64::from(i);
        let x = left + plot_width * value / top_value;
        let _ = write!(
            out,
            r#"<line class="gridline" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{bottom}"/><text class="axis" x="{x:.1}" y="{ty}" text-anchor="middle">{label}</text>"#,
            ty = bottom + 16.0,
            label = number_text(value)
        );
    }
    let _ = write!(out, r#"<text class="axis unit" x="{x}" y="{y}" text-anchor="end">{}</text>"#, escape(unit), x = WIDTH - RIGHT, y = bottom + 16.0);
    if bars.is_empty() || max <= 0.0 {
        let _ = write!(out, r#"<text class="empty" x="{x}" y="{y}" text-anchor="middle">No requests in this period</text>"#, x = left + plot_width / 2.0, y = TOP + 15.0);
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + i as f64 * (BAR_HEIGHT + BAR_GAP) + BAR_GAP / 2.0;
        let width = plot_width * bar.value as f64 / top_value;
        let shown: String = if bar.label.chars().count() > BAR_LABEL_CHARS {
            bar.label.chars().take(BAR_LABEL_CHARS - 1).chain(std::iter::once('…')).collect()
        } else {
            bar.label.clone()
        };
        let text_y = y + BAR_HEIGHT / 2.0 + 4.0;
        let label = format!(r#"<text class="label" x="{x}" y="{text_y}" text-anchor="end">{}</text>"#, escape(&shown), x = left - 8.0);
        match &bar.href {
            Some(href) => {
                let _ = write!(out, r#"<a href="{}"><title>{}</title>{label}</a>"#, escape(href), escape(&bar.label));
            }
            None => out.push_str(&label),
        }
        let _ = write!(
            out,
            r#"<rect class="bar" x="{left}" y="{y:.1}" width="{width:.1}" height="{BAR_HEIGHT}"/><text class="count" x="{tx:.1}" y="{text_y}">{count}</text>"#,
            tx = left + width + 6.0,
            count = number_text(bar.value as f64)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_ends_on_a_round_number_above_the_largest_value() {
        assert_eq!(value_scale(100.0), (25.0, 5), "0, 25, ... 125");
        assert_eq!(value_scale(37.0), (10.0, 5), "0, 10, ... 50");
        assert_eq!(value_scale(3.0), (1.0, 4), "0, 1, 2, 3, 4");
        assert_eq!(value_scale(0.0), (0.25, 4));
        assert_eq!(value_scale(f64::NAN), (0.25, 4));
        for max in [1.0, 3.0, 7.0, 9.0, 99.0, 1_234.0, 55_555.0, 0.4] {
            let (step, steps) = value_scale(max);
            let top = step * f64::from(steps);
            assert!(top >= max * 1.1, "{max}: the largest value never fills the chart (top {top})");
            assert!(top < max * 1.1 * 1.4, "{max}: nor is it lost in a far too large scale (top {top})");
        }
        assert_eq!(count_scale(1.0), (1.0, 2), "a count of 1: gridlines 0, 1, 2 (no 0.25)");
        assert_eq!(count_scale(0.0), (1.0, 1));
        assert_eq!(count_scale(100.0), (25.0, 5));
    }

    #[test]
    fn numbers_read_with_thousands_separators_and_few_decimals() {
        assert_eq!(number_text(1_234_567.0), "1,234,567");
        assert_eq!(number_text(0.0), "0");
        assert_eq!(number_text(2.5), "2.5");
        assert_eq!(number_text(0.25), "0.25");
        assert_eq!(number_text(12.5), "13");
        assert_eq!(number_text(-1_000.0), "-1,000");
    }

    #[test]
    fn time_labels_are_hours_within_a_day_and_dates_beyond() {
        let at = 1_764_136_800; // 2025-11-26T06:00:00Z
        assert_eq!(time_label(at, 10_800), "06:00");
        assert_eq!(time_label(at, 432_000), "26 Nov");
        assert_eq!(time_tick(86_400), 10_800, "a day: every 3 hours");
        assert_eq!(time_tick(30 * 86_400), 432_000, "30 days: every 5 days");
    }

    #[test]
    fn names_are_escaped_so_an_api_name_cannot_inject_markup() {
        let bars = [Bar { label: "<script>alert(1)</script>".into(), value: 3, href: Some("/admin/apis/a\"b".into()) }];
        let svg = bar_chart("Top APIs & apps", "requests", &bars);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("Top APIs &amp; apps"));
        assert!(svg.contains(r#"href="/admin/apis/a&quot;b""#));
    }

    #[test]
    fn bars_carry_their_counts_and_the_largest_does_not_fill_the_chart() {
        let bars = [Bar { label: "orders".into(), value: 1_200, href: None }, Bar { label: "billing".into(), value: 3, href: None }];
        let svg = bar_chart("Top APIs", "requests", &bars);
        assert!(svg.contains(">1,200</text>") && svg.contains(">3</text>"), "{svg}");
        let widths: Vec<f64> = svg
            .split(r#"<rect class="bar""#)
            .skip(1)
            .filter_map(|s| s.split("width=\"").nth(1)?.split('"').next()?.parse().ok())
            .collect();
        let plot_width = WIDTH - BAR_LABEL_WIDTH - RIGHT - 56.0;
        assert_eq!(widths.len(), 2);
        assert!(widths[0] < plot_width * 0.95 && widths[0] > plot_width * 0.5, "{widths:?}");
        assert!(widths[1] > 0.0 && widths[1] < widths[0] / 100.0);
    }

    #[test]
    fn a_time_chart_has_an_accessible_name_axes_with_units_and_a_legend() {
        let chart = TimeChart {
            counts: true,
            title: "Requests, last 24 hours".into(),
            unit: "requests / 10 min".into(),
            start: 1_764_115_200,
            step: 600,
            lines: vec![
                Line { label: "Requests".into(), class: "requests", values: (0..144).map(f64::from).collect() },
                Line { label: "Denied".into(), class: "denials", values: vec![0.0; 144] },
            ],
        };
        let svg = time_chart(&chart);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"aria-label="Requests, last 24 hours""#));
        assert!(svg.contains("requests / 10 min"));
        assert!(svg.contains(">03:00<") && svg.contains(">21:00<"), "hour labels: {svg}");
        assert!(svg.contains(">Requests<") && svg.contains(">Denied<"), "legend");
        assert_eq!(svg.matches("<polyline").count(), 1, "an all-zero line is not drawn");
        assert!(!svg.contains("No requests"));
        let empty = time_chart(&TimeChart { lines: vec![Line { label: "Requests".into(), class: "requests", values: vec![0.0; 10] }], ..chart.clone() });
        assert!(empty.contains("No requests in this period"));
        // Gaps: two segments and a lone dot.
        let gaps = vec![1.0, 2.0, f64::NAN, 3.0, f64::NAN, 4.0, 5.0];
        let svg = time_chart(&TimeChart { lines: vec![Line { label: "p50".into(), class: "p50", values: gaps }], ..chart });
        assert_eq!((svg.matches("<polyline").count(), svg.matches("<circle").count()), (2, 1), "{svg}");
        assert!(!svg.contains("NaN"));
    }
}
