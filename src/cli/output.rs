//! What the subcommands print: aligned columns, the verdict table, the JSON report, a clock.

use std::time::Duration;

use serde::Serialize;

use super::check::Row;

/// Lays rows out in columns, each as wide as its widest cell (header included), two spaces
/// apart; the last column is not padded.
pub fn columns<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..N).map(width).collect();
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == N {
                out.push_str(c);
            } else {
                let pad = widths[i] - c.chars().count();
                out.push_str(c);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// The verdict table, then the reports of unexpected failures (every failure with `verbose`).
pub fn print_table(rows: &[Row], verbose: bool) {
    let w = rows
        .iter()
        .map(|r| r.model.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "\n{:w$}  {:8}  {:22}  {:22}  {:>10}  {:>9}  result",
        "model", "checker", "expected", "verdict", "executions", "time"
    );
    for r in rows {
        println!(
            "{:w$}  {:8}  {:22}  {:22}  {:>10}  {:>9}  {}",
            r.model.name,
            r.checker.to_string(),
            r.model.expect.to_string(),
            r.verdict(),
            r.executions(),
            format!("{:.2?}", r.elapsed),
            r.status()
        );
    }
    for r in rows {
        if let Err(f) = &r.result {
            if verbose || (!r.ok() && !r.pending()) {
                println!(
                    "\n--- {} under {} ---\n{}",
                    r.model.name, r.checker, f.report
                );
                if let Some(token) = &f.replay {
                    println!(
                        "to replay it: cargo run --release -- replay {} {token}",
                        r.model.name
                    );
                }
            }
        } else if !r.ok() && !r.pending() {
            println!(
                "\n--- {} under {} ---\nexpected {} but every execution passed",
                r.model.name, r.checker, r.model.expect
            );
        }
    }
}

pub fn print_json(rows: &[Row], elapsed: Duration) {
    let results: Vec<JsonRow> = rows
        .iter()
        .map(|r| JsonRow {
            model: r.model.name,
            checker: r.checker.to_string(),
            expected: r.model.expect.to_string(),
            verdict: r.verdict(),
            as_expected: r.ok(),
            pending: r.pending(),
            executions: r.executions(),
            seconds: millis(r.elapsed),
            replay: r.result.as_ref().err().and_then(|f| f.replay.as_deref()),
            report: r.result.as_ref().err().map(|f| f.report.as_str()),
        })
        .collect();
    let report = JsonReport {
        as_expected: rows.iter().filter(|r| r.ok()).count(),
        pending: rows.iter().filter(|r| r.pending()).count(),
        total: rows.len(),
        seconds: millis(elapsed),
        results,
    };
    println!(
        "{}",
        serde_json::to_string(&report).expect("the report serialises")
    );
}

/// `check --json`'s one document.
#[derive(Serialize)]
struct JsonReport<'a> {
    as_expected: usize,
    pending: usize,
    total: usize,
    seconds: f64,
    results: Vec<JsonRow<'a>>,
}

/// One model × checker result in `check --json`.
#[derive(Serialize)]
struct JsonRow<'a> {
    model: &'a str,
    checker: String,
    expected: String,
    verdict: String,
    as_expected: bool,
    pending: bool,
    executions: u64,
    seconds: f64,
    replay: Option<&'a str>,
    report: Option<&'a str>,
}

/// Seconds, rounded to the millisecond.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// A Markdown table (for README).
pub fn markdown_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut out = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(N));
    for r in rows {
        out.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    out
}

/// Lays rows out in columns, every column (the last too) padded to its widest cell, two
/// spaces apart.
pub fn columns_padded<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// A duration as `hh:mm:ss`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}
