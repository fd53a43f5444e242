//! `make bench`: Herald's whole path on this machine, every service its own process, against
//! its own brokers and fast fakes; loopback only, bounded in count and time.
//!
//! - `dropbox`: one file change per signed notification over several accounts, open loop at
//!   `BENCH_RATE` notifications/s (or closed loop), latency from the provider's send per change.
//! - `hubspot`: signed HubSpot batches posted open loop at `BENCH_RATE` events/s for
//!   `BENCH_SECONDS` (or closed loop with `BENCH_RATE=0`), latency from each request's send to
//!   the callback's arrival per event, missing and duplicated events counted.
//! - `polling`: N instances due within a window, one poller process.
//!
//! Every scenario prints throughput, latency percentiles, peak RSS and CPU seconds per process.

mod cluster;
mod dropbox;
mod hubspot;
mod polling;
mod tally;

use std::path::PathBuf;
use std::time::Duration;

pub const SERVICES: [&str; 5] = [
    "herald-gateway",
    "herald-ingest",
    "herald-provisioning",
    "herald-poller",
    "herald-delivery",
];

pub fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default()
}

pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start after the last ')', with the
    // state (field 3); utime and stime are fields 14 and 15. Fields are taken by position: some
    // before them may be negative (tpgid is -1 without a terminal).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let field = |n: usize| -> u64 {
        rest.split_whitespace()
            .nth(n - 3)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let ticks = field(14) + field(15);
    ticks as f64 / 100.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scenario = std::env::var("BENCH_SCENARIO").unwrap_or_else(|_| "all".into());
    // `webhooks` is this scenario's former name.
    if matches!(scenario.as_str(), "all" | "dropbox" | "webhooks") {
        dropbox::run().await?;
    }
    if matches!(scenario.as_str(), "all" | "hubspot") {
        hubspot::run().await?;
    }
    if matches!(scenario.as_str(), "all" | "polling") {
        polling::run().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_seconds_counts_this_process_user_and_system_time() {
        // Burn about 0.3 s of CPU, then compare with what the kernel reports in its own words
        // (`schedstat`: nanoseconds on a CPU), which counts the same time.
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(300) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let got = super::cpu_seconds(std::process::id());
        // Every thread's: the test runs on one of the harness's threads.
        let on_cpu: f64 = std::fs::read_dir("/proc/self/task")
            .expect("tasks")
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
            .sum::<f64>()
            / 1e9;
        assert!(got >= 0.2, "{got} s");
        // Ticks are 10 ms; allow for them and for the time between the two reads.
        assert!((got - on_cpu).abs() < 0.1, "{got} s vs {on_cpu} s on a CPU");
    }
}
