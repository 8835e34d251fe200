//! Server side of the traffic screens: the gateway's series (certgate-core's `traffic`) turned
//! into charts. Points are binned so a chart has at most [`MAX_POINTS`] of them: counts are
//! summed, latency histograms merged, then p50/p95/p99 derived from each merged histogram.

use std::sync::Arc;

use certgate_core::traffic::{Bucket, Quantile, Series, Total, TrafficSource, Window, APP_SERIES_HOURS, HOUR};
use certgate_services::certificates::LastSeenMap;
use certgate_services::clock;

use crate::api::dashboard::ChartView;
use crate::error::AppError;
use crate::charts::{self, Bar, Line, TimeChart};

/// Points drawn per time chart, at most (a 24 h day per minute is 1,440).
pub const MAX_POINTS: usize = 144;
/// Bars in a ranking.
pub const TOP: usize = 10;

/// The gateway's traffic, put in every portal request by the server (`None` in tests that
/// render pages without a gateway).
pub fn source() -> Option<Arc<dyn TrafficSource>> {
    crate::ssr::traffic().map(|r| r.0)
}

/// When each certificate last authenticated on any API (for the certificate list); `None`
/// while the gateway records nothing (`--traffic-series off`): no data is not "never used".
pub fn last_seen_map() -> Option<LastSeenMap> {
    source().filter(|s| s.memory().recording).map(|s| Arc::new(s.last_seen_all().into_iter().collect()))
}

/// When the certificate `id` last authenticated on any API (`None`: never, or no recording).
pub fn last_use(id: &str) -> Option<i64> {
    // Latest first, as the source sorts them.
    source()?.last_seen_of_certificate(id, clock::now()).first().map(|s| s.at)
}

/// `series` in groups of `per` consecutive points (the last group may be shorter).
pub fn binned(series: &Series, per: usize) -> Vec<Bucket> {
    series
        .points
        .chunks(per.max(1))
        .map(|chunk| {
            let mut sum = Bucket::default();
            for b in chunk {
                sum.merge(b);
            }
            sum
        })
        .collect()
}

/// How many points of `series` make one drawn point.
pub fn bin_size(series: &Series) -> usize {
    series.points.len().div_ceil(MAX_POINTS).max(1)
}

/// "10 min", "1 h", "6 h": the length of one drawn point.
pub fn period_words(seconds: i64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Sums of `series` point by point (all series share start, step and length; a series of
/// another shape is skipped rather than misaligned).
pub fn merged(series: impl IntoIterator<Item = Series>) -> Option<Series> {
    let mut out: Option<Series> = None;
    for s in series {
        match &mut out {
            None => out = Some(s),
            Some(total) if total.start == s.start && total.step == s.step && total.points.len() == s.points.len() => {
                for (a, b) in total.points.iter_mut().zip(&s.points) {
                    a.merge(b);
                }
            }
            Some(_) => {}
        }
    }
    out
}

fn millis(q: Option<Quantile>) -> f64 {
    match q {
        Some(Quantile::AtMostMicros(us)) | Some(Quantile::AboveMicros(us)) => us as f64 / 1000.0,
        None => f64::NAN,
    }
}

/// Requests and denials over time. `span` names the period, e.g. "last 24 hours".
pub fn requests_chart(subject: &str, series: &Series, span: &str) -> ChartView {
    let per = bin_size(series);
    let bins = binned(series, per);
    let step = series.step * per as i64;
    let total: u64 = bins.iter().map(Bucket::total).sum();
    let denied: u64 = bins.iter().map(Bucket::denied).sum();
    let errors: u64 = bins.iter().map(|b| b.requests[3]).sum();
    let heading = format!("Requests and denials, {span}");
    let title = format!("{subject}: {total} requests, {denied} denied, {errors} upstream or gateway errors (5xx), {span}");
    let chart = TimeChart {
        counts: true,
        title,
        unit: format!("requests / {}", period_words(step)),
        start: series.start,
        step,
        lines: vec![
            Line { label: "Requests".into(), class: "requests", values: bins.iter().map(|b| b.total() as f64).collect() },
            Line { label: "Denied by the gateway".into(), class: "denials", values: bins.iter().map(|b| b.denied() as f64).collect() },
            Line { label: "5xx".into(), class: "errors", values: bins.iter().map(|b| b.requests[3] as f64).collect() },
        ],
    };
    ChartView { heading, svg: charts::time_chart(&chart) }
}

/// Latency percentiles over time, each from the merged histogram of its period.
pub fn latency_chart(subject: &str, series: &Series, span: &str) -> ChartView {
    let per = bin_size(series);
    let bins = binned(series, per);
    let summaries: Vec<_> = bins.iter().map(|b| b.latency.summary()).collect();
    let whole = series.total().latency.summary();
    let words = |q: Option<Quantile>| match q {
        Some(Quantile::AtMostMicros(us)) => format!("at most {} ms", charts::number_text(us as f64 / 1000.0)),
        Some(Quantile::AboveMicros(us)) => format!("above {} ms", charts::number_text(us as f64 / 1000.0)),
        None => "none".into(),
    };
    let title = format!("{subject}: latency {span}, p50 {}, p95 {}, p99 {}", words(whole.p50), words(whole.p95), words(whole.p99));
    let chart = TimeChart {
        counts: false,
        title,
        unit: "ms (upper bound of the histogram bucket)".into(),
        start: series.start,
        step: series.step * per as i64,
        lines: vec![
            Line { label: "p50".into(), class: "p50", values: summaries.iter().map(|s| millis(s.p50)).collect() },
            Line { label: "p95".into(), class: "p95", values: summaries.iter().map(|s| millis(s.p95)).collect() },
            Line { label: "p99".into(), class: "p99", values: summaries.iter().map(|s| millis(s.p99)).collect() },
        ],
    };
    ChartView { heading: format!("Latency, {span}"), svg: charts::time_chart(&chart) }
}

/// Denials by code over the whole series, most first.
pub fn denials_chart(subject: &str, series: &Series, span: &str) -> ChartView {
    let total = series.total();
    let mut bars: Vec<Bar> = total.denials_by_code().map(|(code, n)| Bar { label: code.to_string(), value: n, href: None }).collect();
    bars.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.label.cmp(&b.label)));
    ChartView { heading: format!("Denials by reason, {span}"), svg: charts::bar_chart(&format!("{subject}: denials by reason, {span}"), "denials", &bars) }
}

/// The `TOP` busiest of `totals` as bars, named by `name` and linked by `href`.
pub fn top_chart(heading: &str, totals: &[Total], name: impl Fn(&str) -> String, href: impl Fn(&str) -> Option<String>) -> ChartView {
    let bars: Vec<Bar> = totals
        .iter()
        .filter(|t| t.bucket.total() > 0)
        .take(TOP)
        .map(|t| Bar { label: name(&t.id), value: t.bucket.total(), href: href(&t.id) })
        .collect();
    ChartView { heading: heading.to_string(), svg: charts::bar_chart(heading, "requests", &bars) }
}

/// An API's charts for `window` (`day`, the default, or `month`); a bad window is a 400.
pub fn api_charts(api_id: &str, api_name: &str, window: Option<&str>) -> Result<Vec<ChartView>, AppError> {
    let (window, span) = match window.map(str::trim).filter(|w| !w.is_empty()) {
        None | Some("day") => (Window::Day, "last 24 hours"),
        Some("month") => (Window::Month, "last 30 days"),
        Some(_) => {
            crate::ssr::set_status(400);
            return Err(AppError::new("invalid_window", "window must be `day` or `month`."));
        }
    };
    let now = clock::now();
    let Some(traffic) = source() else { return Ok(Vec::new()) };
    let series = traffic.api_series(api_id, window, now).unwrap_or_else(|| Series::zeros(now, window.step(), window.points()));
    Ok(vec![requests_chart(api_name, &series, span), latency_chart(api_name, &series, span), denials_chart(api_name, &series, span)])
}

/// An app's charts over the hours its series keeps.
pub fn app_charts(app_id: &str, app_name: &str) -> Vec<ChartView> {
    let now = clock::now();
    let Some(traffic) = source() else { return Vec::new() };
    let span = "last 7 days";
    let series = traffic.app_series(app_id, now).unwrap_or_else(|| Series::zeros(now, HOUR, APP_SERIES_HOURS));
    vec![requests_chart(app_name, &series, span), latency_chart(app_name, &series, span), denials_chart(app_name, &series, span)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use certgate_core::gateway::DenialKind;

    fn series(points: usize, step: i64) -> Series {
        Series { start: 1_764_115_200, step, points: vec![Bucket::default(); points] }
    }

    #[test]
    fn a_day_per_minute_is_drawn_in_ten_minute_points_with_merged_histograms() {
        let mut day = series(1440, 60);
        day.points[0].observe(200, None, 400); // 0.4 ms
        day.points[9].observe(403, Some(DenialKind::CertificateBindingMismatch), 3_000); // 3 ms
        day.points[10].observe(502, None, 100_000);
        assert_eq!(bin_size(&day), 10);
        let bins = binned(&day, 10);
        assert_eq!(bins.len(), 144);
        assert_eq!((bins[0].total(), bins[0].denied(), bins[1].requests[3]), (2, 1, 1));
        // p50 of the first bin: of 0.4 ms and 3 ms, the first bucket (<= 0.5 ms); p99 <= 4 ms.
        assert_eq!(bins[0].latency.summary().p50, Some(Quantile::AtMostMicros(500)));
        assert_eq!(bins[0].latency.summary().p99, Some(Quantile::AtMostMicros(4_000)));
        let chart = requests_chart("orders", &day, "last 24 hours");
        assert!(chart.svg.contains("orders: 3 requests, 1 denied, 1 upstream or gateway errors (5xx), last 24 hours"), "{}", chart.svg);
        assert!(chart.svg.contains("requests / 10 min"));
        let latency = latency_chart("orders", &day, "last 24 hours");
        // Over the whole day: 0.4 ms, 3 ms and 100 ms -> p50 <= 4 ms, p99 <= 128 ms.
        assert!(latency.svg.contains("p50 at most 4 ms, p95 at most 128 ms, p99 at most 128 ms"), "{}", latency.svg);
        assert!(!latency.svg.contains("NaN"));
        let denials = denials_chart("orders", &day, "last 24 hours");
        assert!(denials.svg.contains(">certificate_binding_mismatch<") && denials.svg.contains(">1</text>"), "{}", denials.svg);
    }

    #[test]
    fn series_of_one_shape_merge_point_by_point_and_others_are_skipped() {
        let (mut a, mut b) = (series(3, 60), series(3, 60));
        a.points[1].observe(200, None, 1);
        b.points[1].observe(200, None, 1);
        let odd = series(4, 60);
        let m = merged([a, b, odd]).unwrap();
        assert_eq!(m.points.iter().map(Bucket::total).collect::<Vec<_>>(), vec![0, 2, 0]);
        assert!(merged(Vec::new()).is_none());
        assert_eq!(period_words(600), "10 min");
        assert_eq!(period_words(21_600), "6 h");
        assert_eq!(period_words(86_400), "1 d");
    }

    #[test]
    fn the_ranking_shows_the_busiest_with_links_and_leaves_out_the_idle() {
        let mut busy = Bucket::default();
        for _ in 0..5 {
            busy.observe(200, None, 1);
        }
        let totals = vec![Total { id: "api_1".into(), bucket: busy }, Total { id: "api_2".into(), bucket: Bucket::default() }];
        let chart = top_chart("Top APIs", &totals, |id| format!("name of {id}"), |id| Some(format!("/admin/apis/{id}")));
        assert!(chart.svg.contains("name of api_1") && chart.svg.contains(r#"href="/admin/apis/api_1""#));
        assert!(!chart.svg.contains("api_2"));
    }
}
