//! Prometheus metrics in the text exposition format 0.0.4.
//!
//! A small registry of labelled counters, gauges and histograms. Every family Herald exposes is
//! declared in [`Metrics`], so names and labels live in one place; each process renders all of
//! them (families it never touches show only their `# HELP`/`# TYPE` lines).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

type LabelValues = Vec<String>;

/// A family's label sets and their values, found by a hash of the label values: no allocation
/// once a set exists, and no scan however many sets a family grows (one per callback origin).
#[derive(Debug)]
struct LabelSets<T> {
    entries: Vec<(LabelValues, T)>,
    by_hash: HashMap<u64, Vec<usize>>,
}

impl<T> Default for LabelSets<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            by_hash: HashMap::new(),
        }
    }
}

fn hash_of(labels: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    labels.hash(&mut h);
    h.finish()
}

impl<T> LabelSets<T> {
    fn find(&self, hash: u64, labels: &[&str]) -> Option<usize> {
        let same =
            |k: &LabelValues| k.len() == labels.len() && k.iter().zip(labels).all(|(a, b)| a == b);
        self.by_hash
            .get(&hash)?
            .iter()
            .copied()
            .find(|&i| same(&self.entries[i].0))
    }

    /// The value of a label set, made with `new` the first time it is seen.
    fn slot(&mut self, labels: &[&str], new: impl FnOnce() -> T) -> &mut T {
        let hash = hash_of(labels);
        let i = match self.find(hash, labels) {
            Some(i) => i,
            None => {
                self.entries
                    .push((labels.iter().map(|s| s.to_string()).collect(), new()));
                let i = self.entries.len() - 1;
                self.by_hash.entry(hash).or_default().push(i);
                i
            }
        };
        &mut self.entries[i].1
    }

    fn get(&self, labels: &[&str]) -> Option<&T> {
        self.find(hash_of(labels), labels)
            .map(|i| &self.entries[i].1)
    }

    /// Label sets in a stable order for the exposition.
    fn sorted(&self) -> Vec<&(LabelValues, T)> {
        let mut v: Vec<_> = self.entries.iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

#[derive(Debug)]
enum Kind {
    Counter,
    Gauge,
    Histogram(Vec<f64>),
}

#[derive(Debug, Default, Clone)]
struct HistogramData {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    kind: Kind,
    values: Mutex<LabelSets<f64>>,
    histograms: Mutex<LabelSets<HistogramData>>,
}

/// A labelled counter family.
#[derive(Debug, Clone)]
pub struct CounterVec(Arc<Family>);
/// A labelled gauge family.
#[derive(Debug, Clone)]
pub struct GaugeVec(Arc<Family>);
/// A labelled histogram family.
#[derive(Debug, Clone)]
pub struct HistogramVec(Arc<Family>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a metrics lock leaves plain numbers behind: safe to keep using.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CounterVec {
    pub fn inc(&self, labels: &[&str]) {
        self.add(labels, 1.0);
    }
    pub fn add(&self, labels: &[&str], v: f64) {
        *lock(&self.0.values).slot(labels, || 0.0) += v;
    }
    /// For a count kept elsewhere (the NATS client's connects): its current total.
    pub fn set_total(&self, labels: &[&str], v: f64) {
        *lock(&self.0.values).slot(labels, || 0.0) = v;
    }
    pub fn get(&self, labels: &[&str]) -> f64 {
        lock(&self.0.values).get(labels).copied().unwrap_or(0.0)
    }
}

impl GaugeVec {
    pub fn set(&self, labels: &[&str], v: f64) {
        *lock(&self.0.values).slot(labels, || 0.0) = v;
    }
}

impl HistogramVec {
    pub fn observe(&self, labels: &[&str], v: f64) {
        let Kind::Histogram(bounds) = &self.0.kind else {
            return;
        };
        let mut sets = lock(&self.0.histograms);
        let h = sets.slot(labels, || HistogramData {
            buckets: vec![0; bounds.len()],
            ..Default::default()
        });
        for (i, b) in bounds.iter().enumerate() {
            if v <= *b {
                h.buckets[i] += 1;
            }
        }
        h.sum += v;
        h.count += 1;
    }
}

/// Every family a Herald process exposes.
#[derive(Debug, Clone)]
pub struct Metrics {
    families: Vec<Arc<Family>>,
    pub ingest_requests: CounterVec,
    pub events_normalized: CounterVec,
    pub delivery_attempts: CounterVec,
    pub delivery_duration: HistogramVec,
    pub poller_runs: CounterVec,
    pub retry_queue_depth: GaugeVec,
    pub delivery_held: CounterVec,
    pub broker_up: GaugeVec,
    pub provisioning_requests: CounterVec,
    pub poll_lag: HistogramVec,
    pub nats_reconnects: CounterVec,
    pub consumer_pending: GaugeVec,
    pub consumer_ack_pending: GaugeVec,
    pub breaker_open: GaugeVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut families = Vec::new();
        let mut fam = |name, help, labels, kind| {
            let f = Arc::new(Family {
                name,
                help,
                labels,
                kind,
                values: Mutex::default(),
                histograms: Mutex::default(),
            });
            families.push(f.clone());
            f
        };
        let ingest_requests = CounterVec(fam(
            "herald_ingest_requests_total",
            "Provider requests to ingest, by element and HTTP status.",
            &["element", "status"],
            Kind::Counter,
        ));
        let events_normalized = CounterVec(fam(
            "herald_events_normalized_total",
            "Normalized events produced, by element.",
            &["element"],
            Kind::Counter,
        ));
        let delivery_attempts = CounterVec(fam(
            "herald_delivery_attempts_total",
            "Callback attempts, by outcome.",
            &["outcome"],
            Kind::Counter,
        ));
        let delivery_duration = HistogramVec(fam(
            "herald_delivery_duration_seconds",
            "Duration of one callback attempt, by outcome.",
            &["outcome"],
            Kind::Histogram(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
        ));
        let poller_runs = CounterVec(fam(
            "herald_poller_runs_total",
            "Polls of an instance, by element and outcome.",
            &["element", "outcome"],
            Kind::Counter,
        ));
        let retry_queue_depth = GaugeVec(fam(
            "herald_retry_queue_depth",
            "Notifications waiting in the retry schedule.",
            &[],
            Kind::Gauge,
        ));
        let delivery_held = CounterVec(fam(
            "herald_delivery_held_total",
            "Notifications held back without an attempt, by reason (breaker_open).",
            &["reason"],
            Kind::Counter,
        ));
        let broker_up = GaugeVec(fam(
            "herald_broker_up",
            "1 while the broker answers, else 0.",
            &["broker"],
            Kind::Gauge,
        ));
        let provisioning_requests = CounterVec(fam(
            "herald_provisioning_requests_total",
            "Provisioning requests handled, by operation and outcome.",
            &["op", "outcome"],
            Kind::Counter,
        ));
        let poll_lag = HistogramVec(fam(
            "herald_poll_lag_seconds",
            "Scheduler lag: from an instance's due time to its poll job being queued.",
            &[],
            Kind::Histogram(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
        ));
        let nats_reconnects = CounterVec(fam(
            "herald_nats_reconnects_total",
            "Reconnections to NATS since the process started.",
            &[],
            Kind::Counter,
        ));
        let consumer_pending = GaugeVec(fam(
            "herald_consumer_pending_messages",
            "Consumer lag: messages of the stream not yet handed to this service's consumer.",
            &["stream", "consumer"],
            Kind::Gauge,
        ));
        let consumer_ack_pending = GaugeVec(fam(
            "herald_consumer_ack_pending_messages",
            "Messages handed to the consumer and not yet acknowledged.",
            &["stream", "consumer"],
            Kind::Gauge,
        ));
        let breaker_open = GaugeVec(fam(
            "herald_breaker_open",
            "1 while the circuit breaker of a callback origin is open (as this replica saw it last).",
            &["origin"],
            Kind::Gauge,
        ));
        Self {
            families,
            poll_lag,
            nats_reconnects,
            consumer_pending,
            consumer_ack_pending,
            breaker_open,
            ingest_requests,
            events_normalized,
            delivery_attempts,
            delivery_duration,
            poller_runs,
            retry_queue_depth,
            delivery_held,
            broker_up,
            provisioning_requests,
        }
    }

    /// The text exposition of every family.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            let ty = match f.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram(_) => "histogram",
            };
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {ty}", f.name);
            match &f.kind {
                Kind::Counter | Kind::Gauge => {
                    for (vals, v) in lock(&f.values).sorted() {
                        let _ = writeln!(out, "{}{} {v}", f.name, labels(f.labels, vals, None));
                    }
                }
                Kind::Histogram(bounds) => {
                    for (vals, h) in lock(&f.histograms).sorted() {
                        for (b, c) in bounds.iter().zip(&h.buckets) {
                            let le = b.to_string();
                            let _ = writeln!(
                                out,
                                "{}_bucket{} {c}",
                                f.name,
                                labels(f.labels, vals, Some(&le))
                            );
                        }
                        let _ = writeln!(
                            out,
                            "{}_bucket{} {}",
                            f.name,
                            labels(f.labels, vals, Some("+Inf")),
                            h.count
                        );
                        let l = labels(f.labels, vals, None);
                        let _ = writeln!(out, "{}_sum{l} {}", f.name, h.sum);
                        let _ = writeln!(out, "{}_count{l} {}", f.name, h.count);
                    }
                }
            }
        }
        out
    }
}

fn labels(names: &[&str], values: &[String], le: Option<&str>) -> String {
    let mut parts: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_types_and_samples() {
        let m = Metrics::new();
        m.ingest_requests.inc(&["dropbox", "200"]);
        m.delivery_duration.observe(&["success"], 0.02);
        let text = m.render();
        assert!(text.contains("# TYPE herald_ingest_requests_total counter"));
        assert!(text.contains("herald_ingest_requests_total{element=\"dropbox\",status=\"200\"} 1"));
        assert!(text.contains(
            "herald_delivery_duration_seconds_bucket{outcome=\"success\",le=\"0.025\"} 1"
        ));
        assert!(text.contains("herald_delivery_duration_seconds_count{outcome=\"success\"} 1"));
        assert!(text.contains("# TYPE herald_poller_runs_total counter"));
    }

    #[test]
    fn label_sets_are_kept_apart_and_rendered_in_order() {
        let m = Metrics::new();
        for _ in 0..3 {
            m.delivery_attempts.inc(&["success"]);
        }
        m.delivery_attempts.inc(&["http_error"]);
        m.breaker_open.set(&["https://b.example"], 1.0);
        m.breaker_open.set(&["https://a.example"], 1.0);
        m.breaker_open.set(&["https://b.example"], 0.0);
        assert_eq!(m.delivery_attempts.get(&["success"]), 3.0);
        let text = m.render();
        let a = text.find("herald_breaker_open{origin=\"https://a.example\"} 1");
        let b = text.find("herald_breaker_open{origin=\"https://b.example\"} 0");
        assert!(a.is_some() && b.is_some() && a < b, "{text}");
        assert!(text.contains("herald_delivery_attempts_total{outcome=\"http_error\"} 1"));
    }

    #[test]
    fn many_label_sets_each_keep_their_own_value() {
        let mut sets = LabelSets::default();
        for n in 0..2000 {
            *sets.slot(&[&format!("https://o{n}.example:443")], || 0.0) += n as f64;
        }
        // Label values that would collide if joined are different sets.
        *sets.slot(&["ab", "c"], || 0.0) = 1.0;
        *sets.slot(&["a", "bc"], || 0.0) = 2.0;
        for n in [0, 1, 999, 1999] {
            assert_eq!(
                sets.get(&[&format!("https://o{n}.example:443")]),
                Some(&(n as f64))
            );
        }
        assert_eq!(sets.get(&["ab", "c"]), Some(&1.0));
        assert_eq!(sets.get(&["a", "bc"]), Some(&2.0));
        assert_eq!(sets.get(&["https://unknown.example:443"]), None);
        assert_eq!(sets.entries.len(), 2002);
    }
}
