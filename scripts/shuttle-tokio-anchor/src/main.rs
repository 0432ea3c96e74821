//! Runs the bench's producer/consumer program under shuttle-tokio and prints how many
//! executions it ran and in how many seconds, for the bench binary's `tokio` section
//! (src/bin/bench/tokio_api.rs), which runs the same source on `leakproof::tokio`.
//!
//! ```text
//! shuttle-tokio-anchor random|pct EXECUTIONS SEED PRODUCERS MSGS CAP
//! ```
//!
//! Output: one line, `EXECUTIONS SECONDS`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use shuttle_tokio as tokio;

#[path = "../../../src/bin/bench/tokio_program.rs"]
mod program;

const USAGE: &str = "usage: shuttle-tokio-anchor random|pct EXECUTIONS SEED PRODUCERS MSGS CAP";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nums: Option<Vec<u64>> = args.iter().skip(1).map(|a| a.parse().ok()).collect();
    let (mode, [n, seed, producers, msgs, cap]) = match (args.first(), nums.as_deref()) {
        (Some(m), Some(&[n, s, p, m2, c])) if n > 0 && c > 0 => (m.as_str(), [n, s, p, m2, c]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let body = move || {
        c.fetch_add(1, Ordering::Relaxed);
        let rt = tokio::runtime::Runtime::new().expect("shuttle-tokio runtime");
        rt.block_on(program::producer_consumer(producers, msgs, cap as usize));
    };
    let start = Instant::now();
    match mode {
        "random" => shuttle::check_random_with_seed(body, seed, n as usize),
        "pct" => shuttle::check_pct(body, n as usize, 3),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{} {secs}", count.load(Ordering::Relaxed));
    ExitCode::SUCCESS
}
