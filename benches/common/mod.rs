//! What every benchmark main shares: one JSON line per figure, the machine it ran on,
//! nearest-rank percentiles, and resident memory. Each bench includes it with `mod common;`.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::time::Duration;

/// Prints one figure as a JSON line: `{"bench", "figure", "value", "unit"}`, the value
/// rounded to `decimals`.
pub fn figure(bench: &str, name: &str, value: f64, unit: &str, decimals: i32) {
    let scale = 10f64.powi(decimals);
    println!(
        "{}",
        json!({ "bench": bench, "figure": name, "value": (value * scale).round() / scale, "unit": unit })
    );
}

/// Prints the machine line: cores, CPU model, OS, and whatever `extra` fields the bench adds.
pub fn machine(bench: &str, extra: Value) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown", |(_, model)| model.trim())
        .to_string();
    let mut line = json!({
        "bench": bench,
        "figure": "machine",
        "nproc": std::thread::available_parallelism().map_or(0, usize::from),
        "cpu": cpu,
        "os": std::env::consts::OS,
    });
    if let (Some(line), Value::Object(extra)) = (line.as_object_mut(), extra) {
        line.extend(extra);
    }
    println!("{line}");
}

/// The nearest-rank `q` quantile (0 < q ≤ 1) of sorted samples.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// p50, p99 and max of `samples`, in milliseconds.
pub fn p50_p99_max_ms(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let ms = |q| quantile(&samples, q).as_secs_f64() * 1e3;
    (ms(0.50), ms(0.99), ms(1.0))
}

/// Resident memory (VmRSS) of this process, or of `pid`, in kB; `None` off Linux.
pub fn rss_kb(pid: Option<u32>) -> Option<u64> {
    let path = pid.map_or_else(
        || "/proc/self/status".to_string(),
        |pid| format!("/proc/{pid}/status"),
    );
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
