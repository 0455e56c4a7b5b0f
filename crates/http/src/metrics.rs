//! Prometheus text metrics: request counts and latency per route and status, index size, commit
//! latency. Kept deliberately small; `GET /metrics` renders it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bucket {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Request metrics, by (method and route template, status).
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), Histogram>>,
}

impl Metrics {
    /// Records one request.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        requests
            .entry((route.to_owned(), status))
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition, with gauges appended by the caller.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let mut out = String::new();
        out.push_str("# HELP silkmatch_requests_total Requests served, by route and status.\n# TYPE silkmatch_requests_total counter\n");
        for ((route, status), histogram) in &requests {
            let _ = writeln!(
                out,
                "silkmatch_requests_total{{route=\"{route}\",status=\"{status}\"}} {}",
                histogram.count
            );
        }
        out.push_str("# HELP silkmatch_request_seconds Request latency, by route.\n# TYPE silkmatch_request_seconds histogram\n");
        let mut by_route: BTreeMap<&str, Histogram> = BTreeMap::new();
        for ((route, _), histogram) in &requests {
            let merged = by_route.entry(route.as_str()).or_default();
            for (total, count) in merged.counts.iter_mut().zip(histogram.counts) {
                *total += count;
            }
            merged.count += histogram.count;
            merged.sum += histogram.sum;
        }
        for (route, histogram) in by_route {
            for (bucket, count) in BUCKETS.iter().zip(histogram.counts) {
                let _ = writeln!(
                    out,
                    "silkmatch_request_seconds_bucket{{route=\"{route}\",le=\"{bucket}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "silkmatch_request_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "silkmatch_request_seconds_sum{{route=\"{route}\"}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "silkmatch_request_seconds_count{{route=\"{route}\"}} {}",
                histogram.count
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}
