//! `leakproof check`: the saved regressions replayed first, then every selected model under
//! every selected checker on the work queue, then the verdict table (or one JSON report).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use harness::check::{Checker, Failure, Stats};
use models::regressions;
use models::{Model, Options};

use super::output::{print_json, print_table};
use super::{cores, queue};

/// One model × checker result.
pub struct Row {
    pub model: Model,
    pub checker: Checker,
    pub result: Result<Stats, Failure>,
    pub elapsed: Duration,
}

impl Row {
    pub fn ok(&self) -> bool {
        self.model.expect.matches(&self.result)
    }

    /// A model whose detector has not landed: shown, not counted.
    pub fn pending(&self) -> bool {
        self.model.expect.is_pending()
    }

    pub fn status(&self) -> &'static str {
        if self.pending() {
            "pending"
        } else if self.ok() {
            "ok"
        } else {
            "UNEXPECTED"
        }
    }

    pub fn verdict(&self) -> String {
        match &self.result {
            Ok(_) => "pass".into(),
            Err(f) => f.kind.to_string(),
        }
    }

    pub fn executions(&self) -> u64 {
        match &self.result {
            Ok(s) => s.executions,
            Err(f) => f.execution,
        }
    }
}

/// Runs the check and prints its verdicts; exit status 0 when every verdict is as expected.
pub fn check(
    selected: &[Model],
    only: &[Checker],
    opts: &Options,
    json: bool,
    verbose: bool,
    jobs: Option<usize>,
) -> ExitCode {
    let work: Vec<(Model, Checker)> = selected
        .iter()
        .flat_map(|m| {
            m.checkers
                .iter()
                .filter(|c| only.is_empty() || only.contains(c))
                .map(move |c| (*m, *c))
        })
        .collect();
    let jobs = jobs.unwrap_or_else(cores).max(1);
    let started = Instant::now();
    // Saved regressions replay before anything else.
    let mut regressions_ok = true;
    for m in selected {
        match regressions::replay_saved(&regressions::dir(), m) {
            Ok(list) => {
                for (saved, outcome) in list {
                    let (line, ok) = regressions::describe(m, &saved, &outcome);
                    regressions_ok &= ok;
                    let mark = regressions::mark(&outcome, ok);
                    if json {
                        eprintln!("saved regression {mark}: {line}");
                    } else {
                        println!("saved regression {mark}: {line}");
                    }
                }
            }
            Err(e) => {
                regressions_ok = false;
                eprintln!("leakproof: {e}");
            }
        }
    }
    let rows: Vec<Row> = queue::run(jobs, &work, |_, &(model, checker)| {
        let t = Instant::now();
        let mut opts = opts.clone();
        if model.expect == models::Expect::Pass {
            // A regression: keep loom's path to it next to the saved schedules.
            let name = format!("{}.loom.json", model.name.replace('/', "__"));
            opts.loom_checkpoint = Some(regressions::dir().join(name));
        }
        let result = model.check(checker, &opts);
        if let Err(f) = &result {
            if !model.expect.matches(&result)
                && !model.expect.is_pending()
                && f.replay.is_some()
                && checker != Checker::Loom
            {
                match regressions::save(&regressions::dir(), model.name, f) {
                    Ok(path) => {
                        eprintln!("  saved the failing schedule to {}", path.display())
                    }
                    Err(e) => eprintln!("  could not save the failing schedule: {e}"),
                }
            }
        }
        let row = Row {
            model,
            checker,
            result,
            elapsed: t.elapsed(),
        };
        if !json {
            eprintln!(
                "  {:<28} {:<8} {}",
                model.name,
                checker.to_string(),
                row.status()
            );
        }
        row
    });
    let good = rows.iter().filter(|r| r.ok()).count();
    let pending = rows.iter().filter(|r| r.pending()).count();
    let counted = rows.len() - pending;
    if json {
        print_json(&rows, started.elapsed());
    } else {
        print_table(&rows, verbose);
        let pending_note = if pending > 0 {
            format!(" ({pending} pending, not counted: their detector has not landed)")
        } else {
            String::new()
        };
        println!(
            "\n{good} of {counted} verdicts as expected{pending_note}, in {:.1?} with {jobs} job(s)",
            started.elapsed()
        );
    }
    if good == counted && regressions_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
