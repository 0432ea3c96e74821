//! The `leakproof` command line, run as a user runs it: spawn the binary, read its output and
//! exit status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn leakproof(args: &[&str], regressions: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakproof"))
        .args(args)
        .env("LEAKPROOF_REGRESSIONS", regressions)
        .output()
        .expect("the leakproof binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leakproof-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn list_shows_every_model() {
    let dir = scratch("list");
    let o = leakproof(&["list"], &dir);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for m in models::all() {
        assert!(out.contains(m.name), "{} missing from:\n{out}", m.name);
    }
    assert!(out.contains("patterns/src/fan_in.rs"));
}

#[test]
fn check_of_a_passing_and_of_a_failing_model() {
    let dir = scratch("check");
    let o = leakproof(
        &[
            "check",
            "fan-in",
            "fan-in/first-wins-leaky",
            "--checker",
            "shuttle",
        ],
        &dir,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("2 of 2 verdicts as expected"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("fan-in/first-wins-leaky")
            && l.contains("leak")
            && l.ends_with("ok")),
        "{out}"
    );

    // Zero executions is bad input, not a pass and not a missed leak.
    let o = leakproof(
        &[
            "check",
            "fan-in/first-wins-leaky",
            "--checker",
            "shuttle",
            "--iterations",
            "0",
        ],
        &dir,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("give at least 1"), "{out}");
    assert!(
        !out.contains("every execution passed") && !out.contains("pass"),
        "{out}"
    );
}

#[test]
fn check_json_parses() {
    let dir = scratch("json");
    let o = leakproof(
        &[
            "check",
            "fan-in/first-wins-leaky",
            "--checker",
            "pct",
            "--json",
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("stdout is one JSON document");
    assert_eq!(v["as_expected"], 1);
    assert_eq!(v["total"], 1);
    let r = &v["results"][0];
    assert_eq!(r["model"], "fan-in/first-wins-leaky");
    assert_eq!(r["checker"], "pct");
    assert_eq!(r["verdict"], "leak");
    assert_eq!(r["as_expected"], true);
    assert!(r["replay"].as_str().unwrap().starts_with("lp1:pct:"));
    assert!(r["report"].as_str().unwrap().contains("goroutine leak"));
}

#[test]
fn hunt_finds_the_leaky_twin_saves_it_and_replay_reproduces_it() {
    let dir = scratch("hunt");
    let o = leakproof(
        &[
            "hunt",
            "fan-in/first-wins-leaky",
            "--time",
            "30s",
            "--jobs",
            "2",
            "--shard",
            "2/3",
        ],
        &dir,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "a found failure exits 1:\n{out}");
    assert!(out.contains("hunting in fan-in/first-wins-leaky"), "{out}");
    assert!(out.contains("goroutine leak"), "{out}");
    let file = dir.join("fan-in__first-wins-leaky.txt");
    let saved = std::fs::read_to_string(&file).expect("the schedule is saved");
    assert!(
        saved
            .lines()
            .any(|l| l.starts_with("lp1:shuttle:") && l.ends_with("# leak; shuttle 0.9.10")),
        "{saved}"
    );
    assert!(
        out.contains(&format!(
            "replay fan-in/first-wins-leaky {}",
            file.display()
        )),
        "{out}"
    );

    let svg = dir.join("leak.svg");
    let file_arg = file.to_str().unwrap();
    let o = leakproof(
        &[
            "replay",
            "fan-in/first-wins-leaky",
            file_arg,
            "--diagram",
            "--svg",
            svg.to_str().unwrap(),
        ],
        &dir,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("goroutine leak"), "{out}");
    assert!(
        out.contains("checker: replay of a shuttle schedule"),
        "{out}"
    );
    assert!(
        out.contains("STUCK send ch#"),
        "the diagram shows the stuck sends:\n{out}"
    );
    assert!(out.contains("0 main"), "one lane per task:\n{out}");
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(
        picture.starts_with("<svg") && picture.contains("STUCK"),
        "{picture}"
    );

    // The saved schedule replays first in every check of the model.
    let o = leakproof(
        &["check", "fan-in/first-wins-leaky", "--checker", "shuttle"],
        &dir,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("saved regression ok:") && out.contains("still fails as expected (leak)"),
        "{out}"
    );
}

#[test]
fn replay_trace_prints_every_event() {
    let dir = scratch("trace");
    let f = models::find("fan-in/first-wins-leaky")
        .unwrap()
        .check(
            harness::check::Checker::Shuttle,
            &models::Options::default(),
        )
        .unwrap_err();
    let token = f.replay.unwrap();
    let o = leakproof(
        &["replay", "fan-in/first-wins-leaky", &token, "--trace"],
        &dir,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("ev=\"op.wait\"") && out.contains("ev=\"task.spawn\""),
        "{out}"
    );
}

#[test]
fn bad_input_is_a_clear_error_with_status_2() {
    let dir = scratch("bad");
    let cases: &[(&[&str], &str)] = &[
        (&["check", "fan-inn"], "did you mean: fan-in"),
        (
            &["replay", "fan-in", "lp1:shuttle:zz"],
            "invalid replay token",
        ),
        (
            &["replay", "fan-in", "no-such-file.txt"],
            "no file is named",
        ),
        (&["replay", "nope", "lp1:loom:2:1"], "no model named `nope`"),
        (
            &["hunt", "fan-in", "--shard", "4/3"],
            "I must be between 1 and N",
        ),
        (
            &["hunt", "fan-in", "--time", "10 parsecs"],
            "the unit must be",
        ),
        (
            &["check", "--checker", "valgrind"],
            "invalid value 'valgrind'",
        ),
        (&["check", "fan-in", "--iterations", "0"], "give at least 1"),
        (&["corpus", "--iterations", "0"], "give at least 1"),
        (&["corpus", "--tokio-runs", "0"], "give at least 1"),
        (&["hunt", "fan-in", "--batch", "0"], "give at least 1"),
        (
            &["hunt", "fan-in", "--scheduler", "pct", "--depth", "0"],
            "give at least 1",
        ),
        // A loom token past the execution at which loom's exploration stops (it fails there).
        (
            &[
                "replay",
                "fan-in/first-wins-leaky",
                "lp1:loom:2:999999999999",
            ],
            "which fails (its token is lp1:loom:2:",
        ),
        // A PCT token that the select! rewrite made stale.
        (
            &[
                "replay",
                "fan-in/first-wins-leaky",
                "lp1:pct:91022400000048020000902401000090b40d",
            ],
            "hunt fan-in/first-wins-leaky",
        ),
    ];
    for (args, says) in cases {
        let o = leakproof(args, &dir);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}:\n{out}");
        assert!(out.contains(says), "{args:?} should say {says:?}:\n{out}");
        assert!(
            !out.contains("panicked at")
                && !out.contains("goroutine leak")
                && !out.contains("passed"),
            "{args:?}: a usage error, not a verdict or a crash:\n{out}"
        );
    }
    let corrupt = dir.join("corrupt.txt");
    std::fs::write(&corrupt, "lp1:shuttle:91ffff  # leak; shuttle 0.9.10\n").unwrap();
    let o = leakproof(&["replay", "fan-in", corrupt.to_str().unwrap()], &dir);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("corrupt.txt:1: invalid replay token"),
        "{}",
        text(&o)
    );
}

#[test]
fn schedules_from_another_shuttle_version_are_refused() {
    let dir = scratch("version");
    let f = models::find("fan-in/first-wins-leaky")
        .unwrap()
        .check(
            harness::check::Checker::Shuttle,
            &models::Options::default(),
        )
        .unwrap_err();
    let token = f.replay.unwrap();
    std::fs::write(
        dir.join("fan-in__first-wins-leaky.txt"),
        format!("{token}  # leak; shuttle 0.8.0\n"),
    )
    .unwrap();
    let o = leakproof(
        &["check", "fan-in/first-wins-leaky", "--checker", "pct"],
        &dir,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "refused: recorded with shuttle 0.8.0, this build replays with shuttle 0.9.10"
        ),
        "{out}"
    );
}

#[test]
fn the_pinned_versions_match_cargo_lock() {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    for (name, version) in [
        ("shuttle", models::regressions::SHUTTLE_VERSION),
        ("loom", models::regressions::LOOM_VERSION),
    ] {
        let entry = format!("name = \"{name}\"\nversion = \"{version}\"");
        assert!(
            lock.contains(&entry),
            "Cargo.lock does not pin {name} {version}"
        );
    }
}

#[test]
fn an_interrupted_hunt_says_what_it_explored() {
    let dir = scratch("interrupt");
    let child = Command::new(env!("CARGO_BIN_EXE_leakproof"))
        .args(["hunt", "fan-in", "--time", "60s", "--jobs", "1"])
        .env("LEAKPROOF_REGRESSIONS", &dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(130), "{out}");
    assert!(
        out.contains("interrupted:") && out.contains("no failure found"),
        "{out}"
    );
    assert!(!dir.join("fan-in.txt").exists(), "nothing to save");
}

#[test]
fn list_columns_line_up_whatever_the_content() {
    let dir = scratch("list-columns");
    let o = leakproof(&["list"], &dir);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    let header = lines[0];
    // Every column starts where its header starts, in every row: the cell before it (and its
    // two spaces) fits, however long a model name or pattern path is.
    for col in ["pattern", "expected", "checkers", "summary"] {
        let at = header.find(col).unwrap();
        for l in &lines[1..] {
            let chars: Vec<char> = l.chars().collect();
            assert!(
                chars.len() > at
                    && chars[at - 1] == ' '
                    && chars[at - 2] == ' '
                    && chars[at] != ' ',
                "column {col} (at {at}) misaligned in:\n{header}\n{l}"
            );
        }
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("patterns/src/worker_pool.rs")),
        "{out}"
    );
}

/// The PCT token of fan-in/first-wins-leaky that the select! rewrite made stale (shuttle's
/// replay: "scheduled task is not runnable").
const STALE_PCT: &str = "lp1:pct:91022400000048020000902401000090b40d";

#[test]
fn a_stale_saved_token_is_reported_as_stale_and_hunt_refresh_replaces_it() {
    let dir = scratch("stale");
    let file = dir.join("fan-in__first-wins-leaky.txt");
    std::fs::write(
        &file,
        format!("# saved before the select! rewrite\n{STALE_PCT}  # leak; shuttle 0.9.10\n"),
    )
    .unwrap();
    let o = leakproof(
        &["check", "fan-in/first-wins-leaky", "--checker", "pct"],
        &dir,
    );
    let out = text(&o);
    // Stale is not a regression: the model is still explored, and the run passes.
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("saved regression STALE:"), "{out}");
    assert!(out.contains("scheduled task is not runnable"), "{out}");
    assert!(
        out.contains("hunt --refresh fan-in/first-wins-leaky"),
        "{out}"
    );
    assert!(out.contains("1 of 1 verdicts as expected"), "{out}");

    let o = leakproof(
        &[
            "hunt",
            "fan-in/first-wins-leaky",
            "--refresh",
            "--time",
            "60s",
            "--jobs",
            "1",
        ],
        &dir,
    );
    let out = text(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a refreshed token exits 0:\n{out}"
    );
    assert!(
        out.contains("1 of 1 saved token(s) no longer replay"),
        "{out}"
    );
    assert!(out.contains("removed 1 stale token(s)"), "{out}");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(!saved.contains(STALE_PCT), "{saved}");
    assert!(
        saved.contains("# saved before the select! rewrite"),
        "{saved}"
    );
    assert!(
        saved.lines().any(|l| l.starts_with("lp1:shuttle:")),
        "{saved}"
    );

    let o = leakproof(
        &["check", "fan-in/first-wins-leaky", "--checker", "pct"],
        &dir,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("still fails as expected (leak)"), "{out}");
    assert!(!out.contains("STALE"), "{out}");
}

#[test]
fn only_a_real_regression_fails_a_saved_token() {
    use harness::check::catch_replay_error;
    use models::regressions::{describe, mark, replay_one, Outcome, Saved};
    let leaky = models::find("fan-in/first-wins-leaky").unwrap();
    let saved = Saved {
        token: STALE_PCT.into(),
        kind: Some(harness::check::FailureKind::Leak),
        version: "shuttle 0.9.10".into(),
        line: 2,
    };
    let outcome = replay_one(&leaky, &saved);
    assert!(matches!(outcome, Outcome::Stale(_)), "{outcome:?}");
    let (line, ok) = describe(&leaky, &saved, &outcome);
    assert!(ok, "a stale token fails nothing: {line}");
    assert_eq!(mark(&outcome, ok), "STALE");
    // A saved bug that no longer fails while the model expects it to: a regression.
    let (line, ok) = describe(&leaky, &saved, &Outcome::Fixed);
    assert!(!ok, "{line}");
    assert_eq!(mark(&Outcome::Fixed, ok), "UNEXPECTED");
    // A token that replays and fails as saved is fine.
    let f = leaky
        .check(
            harness::check::Checker::Shuttle,
            &models::Options::default(),
        )
        .unwrap_err();
    let fresh = Saved {
        token: f.replay.clone().unwrap(),
        ..saved
    };
    let outcome = replay_one(&leaky, &fresh);
    assert!(matches!(outcome, Outcome::Reproduced(_)), "{outcome:?}");
    assert!(describe(&leaky, &fresh, &outcome).1);
    // And nothing of this printed a panic.
    assert!(catch_replay_error(
        || leaky.replay(harness::check::ReplayToken::parse(STALE_PCT).unwrap())
    )
    .is_err());
}

#[test]
fn shuttle_prints_nothing_between_leakproofs_reports() {
    let dir = scratch("noise");
    for checker in ["shuttle", "pct"] {
        let o = leakproof(
            &[
                "check",
                "fan-in/first-wins-leaky",
                "corpus/pct-order",
                "corpus/din-phil3",
                "--checker",
                checker,
                "--verbose",
            ],
            &dir,
        );
        let out = text(&o);
        assert!(out.contains("goroutine leak"), "{out}");
        for noise in [
            "SHUTTLE_CAPTURE_BACKTRACE",
            "test panicked in task",
            "Test deadlocked",
        ] {
            assert!(
                !out.contains(noise),
                "{checker}: shuttle's {noise:?} shows:\n{out}"
            );
        }
    }
    let o = leakproof(
        &[
            "hunt",
            "fan-in/first-wins-leaky",
            "--time",
            "30s",
            "--jobs",
            "1",
        ],
        &dir,
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        !out.contains("Test deadlocked") && !out.contains("test panicked"),
        "{out}"
    );
}
