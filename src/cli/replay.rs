//! `leakproof replay`: one execution along a token, every token of a regressions file, or a
//! loom checkpoint, with its report (and its lanes or SVG picture).

use std::path::Path;
use std::process::ExitCode;

use harness::check::{catch_replay_error, ReplayErrorKind, ReplayToken};
use models::{diagram, regressions};

use super::unknown_model;

/// The tokens to replay: one token, or every token of a regressions file.
fn tokens_of(arg: &str) -> Result<Vec<(String, ReplayToken)>, String> {
    if arg.ends_with(".json") && Path::new(arg).is_file() {
        let token = format!("lp1:loom-file:{arg}");
        return ReplayToken::parse(&token)
            .map(|t| vec![(token, t)])
            .map_err(|e| e.to_string());
    }
    match ReplayToken::parse(arg) {
        Ok(t) => Ok(vec![(arg.to_string(), t)]),
        Err(token_err) => {
            let path = Path::new(arg);
            if !path.is_file() {
                return Err(format!("{token_err} (and no file is named `{arg}`)"));
            }
            let saved = regressions::load(path)?;
            if saved.is_empty() {
                return Err(format!("{} holds no replay token", path.display()));
            }
            saved
                .into_iter()
                .map(|s| {
                    ReplayToken::parse(&s.token)
                        .map(|t| (s.token.clone(), t))
                        .map_err(|e| format!("{}:{}: {e}", path.display(), s.line))
                })
                .collect()
        }
    }
}

/// Replays; exit status 1 when an execution failed, 2 on bad input.
pub fn replay(
    model: &str,
    arg: &str,
    trace: bool,
    draw: bool,
    svg: Option<&Path>,
    shrink: bool,
) -> ExitCode {
    let Some(model) = models::find(model) else {
        return unknown_model(model);
    };
    let tokens = match tokens_of(arg) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("leakproof: {e}");
            return ExitCode::from(2);
        }
    };
    let mut any_failed = false;
    for (text, token) in tokens {
        let record = draw || svg.is_some();
        let outcome = match catch_replay_error(|| model.replay_with(token, record, trace, shrink)) {
            Ok(outcome) => outcome,
            Err(e) => {
                eprintln!("leakproof: {e}");
                if e.kind == ReplayErrorKind::Stale {
                    eprintln!(
                        "  hunt a fresh one: cargo run --release -- hunt {}",
                        model.name
                    );
                }
                return ExitCode::from(2);
            }
        };
        match outcome {
            Ok(_) => println!(
                "the replayed execution of {} along {text} passed: it no longer fails",
                model.name
            ),
            Err(f) => {
                any_failed = true;
                println!("{}", f.report);
                if draw {
                    println!("{}", diagram::lanes(&f.snapshot));
                }
                if let Some(path) = svg {
                    match std::fs::write(path, diagram::svg(&f.snapshot)) {
                        Ok(()) => println!("picture written to {}", path.display()),
                        Err(e) => {
                            eprintln!("leakproof: cannot write {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    }
                }
            }
        }
    }
    if any_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
