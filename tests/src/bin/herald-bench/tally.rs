//! What reached the receiver, per event key (an object id, a path): its first arrival and the
//! webhook ids it came under; latency from its send; missing events; duplicates, flagged (again
//! under the same `Elements-Webhook-Id`) or unflagged (under another id: a bug).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::{Duration, Instant};

use herald_e2e::receiver::Receiver;
use serde_json::Value;

use crate::percentile;

pub struct Arrivals<K>(HashMap<K, (Instant, Vec<String>)>);

/// Gathers the events of every callback until `expected` keys arrived or `deadline` (from `t0`)
/// passed; `key` names an event (None: not one the bench sent).
pub async fn collect<K: Eq + Hash>(
    receiver: &Receiver,
    t0: Instant,
    deadline: Duration,
    expected: usize,
    key: impl Fn(&Value) -> Option<K>,
) -> Arrivals<K> {
    let mut arrivals: HashMap<K, (Instant, Vec<String>)> = HashMap::new();
    let mut seen = 0;
    while t0.elapsed() < deadline {
        let got = receiver.received();
        for r in &got[seen..] {
            let id = r.header("elements-webhook-id").unwrap_or_default();
            let body = r.json();
            for k in body["response"]["events"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(&key)
            {
                arrivals
                    .entry(k)
                    .or_insert((r.at, Vec::new()))
                    .1
                    .push(id.clone());
            }
        }
        seen = got.len();
        if arrivals.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Arrivals(arrivals)
}

impl<K: Eq + Hash> Arrivals<K> {
    /// Prints the delivered rate (from `t0` to the last arrival), latency from each key's send
    /// in `sent`, missing (of `expected`) and duplicates; fails if any is missing or came again
    /// under a new id.
    pub fn report(
        &self,
        sent: &HashMap<K, Instant>,
        t0: Instant,
        expected: usize,
    ) -> anyhow::Result<()> {
        let mut lat: Vec<Duration> = self
            .0
            .iter()
            .filter_map(|(k, (at, _))| sent.get(k).map(|s| at.saturating_duration_since(*s)))
            .collect();
        lat.sort();
        let (mut flagged, mut unflagged) = (0, 0);
        for (_, ids) in self.0.values() {
            let distinct: HashSet<&String> = ids.iter().collect();
            flagged += ids.len() - distinct.len();
            unflagged += distinct.len() - 1;
        }
        let last = self.0.values().map(|(at, _)| *at).max().unwrap_or(t0);
        let secs = last.duration_since(t0).as_secs_f64().max(1e-9);
        let delivered = self.0.len();
        println!(
            "bench: delivered {delivered} events at {:.0} events/s",
            delivered as f64 / secs
        );
        println!(
            "bench: send → callback latency p50 {:?} p99 {:?} max {:?}",
            percentile(&lat, 0.50),
            percentile(&lat, 0.99),
            lat.last().copied().unwrap_or_default()
        );
        let missing = expected.saturating_sub(delivered);
        println!("bench: missing {missing}, duplicates flagged {flagged} unflagged {unflagged}");
        anyhow::ensure!(
            missing == 0 && unflagged == 0,
            "events missing or delivered again under new ids"
        );
        Ok(())
    }
}
