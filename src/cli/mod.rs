//! The subcommands (one file each), the table and JSON output, and the work queue they share;
//! `quiet` is the library's filter that keeps shuttle's own stderr lines out of the output.

pub mod check;
pub mod corpus;
pub mod hunt;
pub mod list;
pub mod output;
pub mod queue;
pub mod replay;

pub use harness::check::stderr as quiet;

use std::process::ExitCode;

use harness::check::Checker;
use models::Model;

/// Says that no model is called `name`, names the closest ones; exit status 2.
pub fn unknown_model(name: &str) -> ExitCode {
    eprintln!("leakproof: no model named `{name}`");
    let close = models::closest(name);
    if !close.is_empty() {
        eprintln!("  did you mean: {}", close.join(", "));
    }
    eprintln!("  `leakproof list` shows every model");
    ExitCode::from(2)
}

/// The models named (every model when none is), or the exit status of a misspelt name.
pub fn select(names: &[String]) -> Result<Vec<Model>, ExitCode> {
    if names.is_empty() {
        return Ok(models::all());
    }
    names
        .iter()
        .map(|n| models::find(n).ok_or_else(|| unknown_model(n)))
        .collect()
}

/// The number of cores, the default number of jobs.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Checker names joined by commas.
pub fn checker_list(checkers: &[Checker]) -> String {
    checkers
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
