//! `leakproof list`: every model with its pattern, expected verdict, checkers and summary.

use std::process::ExitCode;

use super::{checker_list, output::columns};

/// Prints the model table.
pub fn list() -> ExitCode {
    let rows: Vec<[String; 5]> = models::all()
        .iter()
        .map(|m| {
            [
                m.name.to_string(),
                m.pattern.to_string(),
                m.expect.to_string(),
                checker_list(m.checkers),
                m.summary.to_string(),
            ]
        })
        .collect();
    let header = ["model", "pattern", "expected", "checkers", "summary"];
    print!("{}", columns(&header, &rows));
    ExitCode::SUCCESS
}
