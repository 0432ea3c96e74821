//! Saved schedules: failing replay tokens kept in a regressions file, one per line with the
//! failure kind and the checker's version as a comment, replayed before anything else runs
//! (as proptest does with `proptest-regressions/`).
//!
//! ```text
//! # leakproof regressions of check fan-in: one replay token per line, replayed before every check.
//! lp1:shuttle:910226a43d8004c8004d0ba04808222101000000  # leak; shuttle 0.9.10
//! ```
//!
//! Two users share this one implementation: [`Check::run`](super::Check::run) keeps the
//! tokens of a user's own checks in `leakproof-regressions/<check name>.txt` at the root of
//! the crate whose test runs it, and leakproof's `models/` keeps its models' tokens in
//! `models/regressions/`.
//!
//! A shuttle schedule is only meaningful to the shuttle version that recorded it, so a token
//! saved under another version is refused rather than replayed wrongly. A token can also go
//! *stale*: a change to the body or to the harness's scheduling steps makes its schedule stop
//! fitting the execution (shuttle: "scheduled task is not runnable"; loom: the execution it
//! names no longer exists). A stale or refused token is reported and fails nothing; only a
//! real regression does (the token replays and fails, or fails differently than saved).
//!
//! Writing is safe across processes (cargo-nextest runs a process per test): a writer holds an
//! exclusive lock on the file while it reads it and appends one whole line.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Seek, Write};
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::{catch_replay_error, Failure, FailureKind, ReplayError, ReplayToken, Stats};

/// The shuttle version this build replays schedules with (pinned in Cargo.lock).
pub const SHUTTLE_VERSION: &str = "0.9.10";
/// The loom version this build explores with (pinned in Cargo.lock).
pub const LOOM_VERSION: &str = "0.7.3";

/// The folder, at the root of a user's crate, that keeps the saved schedules of its checks.
pub const USER_DIR: &str = "leakproof-regressions";

/// A token read from a regressions file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The replay token.
    pub token: String,
    /// The failure kind it was saved with.
    pub kind: Option<FailureKind>,
    /// `shuttle 0.9.10` or `loom 0.7.3`: the checker that recorded it.
    pub version: String,
    /// 1-based line in the file.
    pub line: usize,
}

/// What replaying a saved token gave.
#[derive(Debug)]
pub enum Outcome {
    /// It fails as it was saved.
    Reproduced(Failure),
    /// It fails, but with another kind than the one saved.
    FailsDifferently {
        /// The kind saved with it.
        saved: Option<FailureKind>,
        /// The failure now.
        now: Failure,
    },
    /// It no longer fails: the bug it recorded is fixed.
    Fixed,
    /// Recorded by another checker version: not replayed.
    Refused(String),
    /// The token no longer replays on this body: its schedule does not fit the execution
    /// any more, or the execution it names does not exist. Hunt a fresh one.
    Stale(ReplayError),
    /// The line is not a valid token.
    Corrupt(String),
}

/// The regressions file of `name` in `dir`: `/` becomes `__`, and any character other than
/// ASCII letters, digits, `.`, `-` and `_` becomes `%XX`, so that every name is one file name.
///
/// ```
/// use leakproof::check::saved::file_in;
/// use std::path::Path;
/// assert_eq!(file_in(Path::new("d"), "fan-in/leaky"), Path::new("d/fan-in__leaky.txt"));
/// assert_eq!(file_in(Path::new("d"), "a b:c"), Path::new("d/a%20b%3Ac.txt"));
/// ```
pub fn file_in(dir: &Path, name: &str) -> PathBuf {
    let mut file = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        match c {
            '/' => file.push_str("__"),
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') => file.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    file.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    if file.is_empty() || file.starts_with('.') {
        file.insert(0, '_');
    }
    file.push_str(".txt");
    dir.join(file)
}

/// The word a regressions file writes for a failure kind (`leak`, `closed-send`, …).
pub fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Leak => "leak",
        FailureKind::Deadlock => "deadlock",
        FailureKind::Race => "race",
        FailureKind::Panic => "panic",
        FailureKind::ClosedSend => "closed-send",
        FailureKind::StepLimit => "step-limit",
        FailureKind::BlockingInAsync => "blocking-in-async",
    }
}

fn parse_kind(s: &str) -> Option<FailureKind> {
    [
        FailureKind::Leak,
        FailureKind::Deadlock,
        FailureKind::Race,
        FailureKind::Panic,
        FailureKind::ClosedSend,
        FailureKind::StepLimit,
        FailureKind::BlockingInAsync,
    ]
    .into_iter()
    .find(|k| kind_name(*k) == s.trim())
}

/// The checker and version that replay `token` in this build (`shuttle 0.9.10`, `loom 0.7.3`).
pub fn version_of(token: &str) -> String {
    if token.starts_with("lp1:loom:") {
        format!("loom {LOOM_VERSION}")
    } else {
        format!("shuttle {SHUTTLE_VERSION}")
    }
}

fn parse(text: &str) -> Vec<Saved> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let (token, comment) = match line.split_once('#') {
                Some((t, c)) => (t.trim(), c.trim()),
                None => (line.trim(), ""),
            };
            if token.is_empty() {
                return None;
            }
            let (kind, version) = match comment.split_once(';') {
                Some((k, v)) => (parse_kind(k), v.trim().to_string()),
                None => (None, String::new()),
            };
            Some(Saved {
                token: token.to_string(),
                kind,
                version,
                line: i + 1,
            })
        })
        .collect()
}

/// Reads a regressions file; a missing file has no tokens.
pub fn load(path: &Path) -> Result<Vec<Saved>, String> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(parse(&t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Appends a failure's token to `name`'s file in `dir` (unless it is there already) and
/// returns the file's path; `what` names the kind of thing in the header (`check`, `model`).
///
/// Safe for concurrent writers, threads or processes: the file stays locked while it is read
/// and the line (with the header, for a new file) is appended in one write.
pub fn save(dir: &Path, name: &str, what: &str, failure: &Failure) -> std::io::Result<PathBuf> {
    let token = failure.replay.as_deref().ok_or_else(|| {
        std::io::Error::other(format!(
            "a {} failure has no replay token to save",
            failure.checker
        ))
    })?;
    fs::create_dir_all(dir)?;
    let path = file_in(dir, name);
    let mut file = fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(&path)?;
    file.lock()?;
    let mut text = String::new();
    file.rewind()?;
    file.read_to_string(&mut text)?;
    if parse(&text).iter().any(|s| s.token == token) {
        return Ok(path);
    }
    let mut out = String::new();
    if text.is_empty() {
        out.push_str(&format!(
            "# leakproof regressions of {what} {name}: one replay token per line, replayed before every check.\n"
        ));
    } else if !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "{token}  # {}; {}\n",
        kind_name(failure.kind),
        version_of(token)
    ));
    file.write_all(out.as_bytes())?;
    file.sync_all()?;
    Ok(path)
}

/// A path as a person at the current directory would type it (relative when inside it).
pub fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// Replays one saved token with `replay` (which runs the body's check on the token), and
/// reads the result against what was saved.
pub fn replay_one(
    saved: &Saved,
    replay: impl FnOnce(ReplayToken) -> Result<Stats, Failure>,
) -> Outcome {
    let token = match ReplayToken::parse(&saved.token) {
        Ok(t) => t,
        Err(e) => return Outcome::Corrupt(e.to_string()),
    };
    let ours = version_of(&saved.token);
    if !saved.version.is_empty() && saved.version != ours {
        return Outcome::Refused(format!(
            "recorded with {}, this build replays with {ours}: schedules do not carry over between versions; \
             hunt again to record a new one",
            saved.version
        ));
    }
    let result = match catch_replay_error(|| replay(token)) {
        Ok(result) => result,
        Err(e) => return Outcome::Stale(e),
    };
    match result {
        Ok(_) => Outcome::Fixed,
        Err(f) if Some(f.kind) == saved.kind || saved.kind.is_none() => Outcome::Reproduced(f),
        Err(f) => Outcome::FailsDifferently {
            saved: saved.kind,
            now: f,
        },
    }
}

/// A short word for how a saved token fared, for the `saved regression <word>:` lines.
pub fn mark(outcome: &Outcome, ok: bool) -> &'static str {
    match outcome {
        Outcome::Stale(_) => "STALE",
        Outcome::Refused(_) => "refused",
        _ if ok => "ok",
        _ => "UNEXPECTED",
    }
}

/// Whether a saved token can no longer be replayed by this build (stale, or recorded by
/// another checker version): a fresh hunt replaces such tokens.
pub fn needs_refresh(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Stale(_) | Outcome::Refused(_))
}

/// Removes the given lines (1-based) from `name`'s regressions file in `dir`, keeping every
/// other line (comments included) as it was.
pub fn remove_lines(dir: &Path, name: &str, lines: &[usize]) -> std::io::Result<()> {
    let path = file_in(dir, name);
    let mut file = fs::OpenOptions::new().read(true).write(true).open(&path)?;
    file.lock()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| !lines.contains(&(i + 1)))
        .map(|(_, l)| l)
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(out.as_bytes())?;
    file.sync_all()
}

/// Whether a user's check saves its failing schedules: `LEAKPROOF_SAVE_REGRESSIONS` set to
/// `0`, `false`, `off` or `no` turns saving off (read-only CI runs); anything else, or unset,
/// leaves it as the check chose ([`Check::save_regressions`](super::Check::save_regressions),
/// on by default).
pub fn saving_allowed() -> bool {
    !matches!(
        std::env::var("LEAKPROOF_SAVE_REGRESSIONS")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref(),
        Ok("0" | "false" | "off" | "no")
    )
}

/// Whether a user's check replays its saved schedules first: `LEAKPROOF_REPLAY_REGRESSIONS`
/// set to `0`, `false`, `off` or `no` turns that off (this repository's own test suite, full
/// of deliberately failing checks, does so in `.cargo/config.toml`).
pub fn replaying_allowed() -> bool {
    !matches!(
        std::env::var("LEAKPROOF_REPLAY_REGRESSIONS")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref(),
        Ok("0" | "false" | "off" | "no")
    )
}

/// The regressions folder of the crate whose test is running: `leakproof-regressions/` under
/// `CARGO_MANIFEST_DIR` (cargo and cargo-nextest set it for every test they run); `None`
/// outside cargo.
pub fn user_dir() -> Option<PathBuf> {
    std::env::var_os("CARGO_MANIFEST_DIR").map(|d| PathBuf::from(d).join(USER_DIR))
}

/// The test binary running now, as leakproof keeps state about it between its processes
/// (cargo-nextest runs one process per test): its path, when it was built, and a folder beside
/// it for that state.
#[derive(Clone, Debug)]
pub(crate) struct TestBinary {
    /// The binary's path.
    pub path: PathBuf,
    /// Its modification time, in nanoseconds since the Unix epoch: a rebuilt binary starts
    /// afresh.
    pub built: u128,
    /// `<target>/<profile>/.leakproof/`, beside the binary's `deps/` folder (a dot folder: a
    /// binary of the same name, such as leakproof's own CLI, cannot clash with it).
    pub state_dir: PathBuf,
}

impl TestBinary {
    /// The binary of this process, when it is a cargo test binary (they live in `deps/`).
    pub(crate) fn current() -> Option<&'static TestBinary> {
        static CURRENT: OnceLock<Option<TestBinary>> = OnceLock::new();
        CURRENT
            .get_or_init(|| {
                let path = std::env::current_exe().ok()?;
                let deps = path.parent()?;
                if deps.file_name()? != "deps" {
                    return None;
                }
                let built = fs::metadata(&path)
                    .ok()?
                    .modified()
                    .ok()?
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_nanos();
                Some(TestBinary {
                    state_dir: deps.parent()?.join(".leakproof"),
                    path,
                    built,
                })
            })
            .as_ref()
    }

    /// The binary's file name (`checks-0123abcd`).
    pub(crate) fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// A state file of this binary: `<state_dir>/<what>-<binary file name>.txt`.
    pub(crate) fn state_file(&self, what: &str) -> PathBuf {
        self.state_dir
            .join(format!("{what}-{}.txt", self.file_name()))
    }
}

/// The test running the calling code: cargo-nextest's `NEXTEST_TEST_NAME` (a process per
/// test), else the thread's name (libtest names each test's thread after the test).
pub(crate) fn current_test() -> String {
    if let Some(t) = std::env::var("NEXTEST_TEST_NAME")
        .ok()
        .filter(|t| !t.is_empty())
    {
        return t;
    }
    match std::thread::current().name() {
        Some(n) if n != "main" => n.to_string(),
        _ => "(no test: not on a test's thread)".to_string(),
    }
}

/// One check's claim on a regressions file: the file, the check's name, the test that runs it
/// and where it was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The regressions file (`/…/leakproof-regressions/squares__leaky.txt`).
    pub file: String,
    /// The check's name.
    pub name: String,
    /// The test running it ([`current_test`]).
    pub test: String,
    /// `file:line:column` of its `Check::new`.
    pub site: String,
}

impl Claim {
    fn line(&self) -> String {
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        format!(
            "{}\t{}\t{}\t{}\n",
            self.file,
            clean(&self.name),
            clean(&self.test),
            clean(&self.site)
        )
    }

    fn parse(line: &str) -> Option<Claim> {
        let mut f = line.split('\t');
        let c = Claim {
            file: f.next()?.to_string(),
            name: f.next()?.to_string(),
            test: f.next()?.to_string(),
            site: f.next()?.to_string(),
        };
        f.next().is_none().then_some(c)
    }

    /// The error for two different checks on one file, `self` the earlier claim.
    fn clash(&self, other: &Claim, path: &Path, remembered: Option<&str>) -> String {
        format!(
            "two checks share the regressions file {}: \"{}\" (test {}, Check::new at {}) and \"{}\" \
             (test {}, Check::new at {}); they would replay each other's saved schedules. \
             Give every check its own name{}.",
            shown(path).display(),
            self.name,
            self.test,
            self.site,
            other.name,
            other.test,
            other.site,
            remembered
                .map(|b| format!(
                    " (the first claim was made by another process of test binary {b}; it is \
                     remembered until the binary is rebuilt)"
                ))
                .unwrap_or_default()
        )
    }
}

/// The claims made in this process, by regressions file.
static OWNERS: Mutex<Option<HashMap<PathBuf, Claim>>> = Mutex::new(None);

/// Claims `path` for the check `name` created at `site`, run by the current test. The same
/// check may run any number of times in its test; another check whose name maps to the same
/// file, or the same name run by another test, is an error, since the two would replay each
/// other's schedules.
///
/// Within one process the claims are kept in memory; across the processes of one test binary
/// (cargo-nextest runs a process per test) in `<target>/<profile>/.leakproof/claims-<binary>.txt`,
/// which starts afresh when the binary is rebuilt.
pub(crate) fn claim(path: &Path, name: &str, site: &Location<'_>) -> Result<(), String> {
    let claim = Claim {
        file: path.display().to_string().replace(['\t', '\n', '\r'], " "),
        name: name.to_string(),
        test: current_test(),
        site: format!("{}:{}:{}", site.file(), site.line(), site.column()),
    };
    let mut owners = OWNERS.lock().unwrap_or_else(|e| e.into_inner());
    let owners = owners.get_or_insert_with(HashMap::new);
    if let Some(first) = owners.get(path) {
        return if *first == claim {
            Ok(())
        } else {
            Err(first.clash(&claim, path, None))
        };
    }
    if let Some(binary) = TestBinary::current() {
        // The file is a convenience for catching clashes across processes: when it cannot be
        // written, the check still runs, with the claims of this process only.
        match claim_in(&binary.state_file("claims"), binary.built, &claim) {
            Ok(None) => {}
            Ok(Some(first)) => {
                return Err(first.clash(&claim, path, Some(&binary.file_name())));
            }
            Err(e) => super::hunt::say(&format!(
                "leakproof: cannot keep check names across processes in {}: {e}",
                binary.state_file("claims").display()
            )),
        }
    }
    owners.insert(path.to_path_buf(), claim);
    Ok(())
}

/// Records `claim` in the claims file `registry` of a test binary built at `built`; returns the
/// earlier, different claim on the same regressions file when there is one (and records
/// nothing then). A file written for another build of the binary is started afresh. The file
/// stays locked while it is read and rewritten, so concurrent processes are safe.
pub(crate) fn claim_in(
    registry: &Path,
    built: u128,
    claim: &Claim,
) -> std::io::Result<Option<Claim>> {
    if let Some(dir) = registry.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(registry)?;
    file.lock()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let stamp = format!("built {built}");
    let mut lines = text.lines();
    let header = "# leakproof: which test claimed each check name in this test binary";
    let claims: Vec<Claim> = if lines.next() == Some(header) && lines.next() == Some(stamp.as_str())
    {
        lines.filter_map(Claim::parse).collect()
    } else {
        Vec::new()
    };
    if let Some(first) = claims.iter().find(|c| c.file == claim.file) {
        return Ok((first != claim).then(|| first.clone()));
    }
    let mut out = format!("{header}\n{stamp}\n");
    for c in claims.iter().chain([claim]) {
        out.push_str(&c.line());
    }
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(out.as_bytes())?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lp-saved-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn failure(token: &str, kind: FailureKind) -> Failure {
        Failure {
            kind,
            checker: super::super::Checker::Shuttle,
            execution: 1,
            report: String::new(),
            replay: Some(token.into()),
            name: "x".into(),
            snapshot: Default::default(),
            shrunk: None,
        }
    }

    #[test]
    fn concurrent_writers_keep_whole_lines_and_one_header() {
        let dir = scratch("concurrent");
        std::thread::scope(|s| {
            for t in 0..8 {
                let dir = &dir;
                s.spawn(move || {
                    for i in 0..20 {
                        let token = format!("lp1:loom:2:{}", t * 100 + i + 1);
                        save(dir, "a/b", "check", &failure(&token, FailureKind::Leak)).unwrap();
                        // The same token twice is kept once.
                        save(dir, "a/b", "check", &failure(&token, FailureKind::Leak)).unwrap();
                    }
                });
            }
        });
        let path = file_in(&dir, "a/b");
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("# leakproof regressions").count(), 1, "{text}");
        let saved = load(&path).unwrap();
        assert_eq!(saved.len(), 160, "{text}");
        assert!(saved
            .iter()
            .all(|s| s.kind == Some(FailureKind::Leak)
                && s.version == format!("loom {LOOM_VERSION}")));
        remove_lines(&dir, "a/b", &[2, 3]).unwrap();
        assert_eq!(load(&path).unwrap().len(), 158);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn two_checks_with_one_name_are_an_error() {
        let path = Path::new("/nonexistent/lp-claim/x.txt");
        let here = Location::caller();
        claim(path, "x", here).unwrap();
        claim(path, "x", here).unwrap();
        let other = Location::caller();
        let err = claim(path, "x", other).unwrap_err();
        assert!(
            err.contains("two checks share the regressions file"),
            "{err}"
        );
        assert!(err.contains(&format!("saved.rs:{}", other.line())), "{err}");
    }

    #[test]
    fn a_second_test_claiming_a_name_fails_across_processes() {
        // Two "processes" of one test binary (cargo-nextest: a process per test), each with
        // only the claims file in common, race to claim check names.
        let dir = scratch("claims");
        let registry = dir.join("leakproof/claims-checks-0123.txt");
        let claim = |test: &str, name: &str, line: u32| Claim {
            file: format!("/crate/leakproof-regressions/{name}.txt"),
            name: name.into(),
            test: test.into(),
            site: format!("tests/checks.rs:{line}:5"),
        };
        let firsts: Vec<Option<Claim>> = std::thread::scope(|s| {
            let handles: Vec<_> = ["test_a", "test_b"]
                .into_iter()
                .map(|test| {
                    let registry = &registry;
                    s.spawn(move || {
                        // Each test has a name of its own, and both claim "shared".
                        claim_in(registry, 7, &claim(test, test, 1)).unwrap();
                        claim_in(registry, 7, &claim(test, "shared", 9)).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        // Exactly one of the two lost, and it is told which test won.
        let lost: Vec<&Claim> = firsts.iter().flatten().collect();
        assert_eq!(lost.len(), 1, "{firsts:?}");
        let winner = &lost[0].test;
        assert!(winner == "test_a" || winner == "test_b");
        let loser = if winner == "test_a" {
            "test_b"
        } else {
            "test_a"
        };
        let msg = lost[0].clash(
            &claim(loser, "shared", 9),
            Path::new("leakproof-regressions/shared.txt"),
            Some("checks-0123"),
        );
        assert!(
            msg.contains(&format!(
                "(test {winner}, Check::new at tests/checks.rs:9:5)"
            )),
            "{msg}"
        );
        assert!(
            msg.contains(&format!(
                "(test {loser}, Check::new at tests/checks.rs:9:5)"
            )),
            "{msg}"
        );
        assert!(
            msg.contains("another process of test binary checks-0123"),
            "{msg}"
        );
        // The winner claims its name again, in a later process: that is the same check.
        assert_eq!(
            claim_in(&registry, 7, &claim(winner, "shared", 9)).unwrap(),
            None
        );
        // Another place in the winner's test is another check.
        assert!(claim_in(&registry, 7, &claim(winner, "shared", 20))
            .unwrap()
            .is_some());
        // A rebuilt binary starts afresh: the loser may now have the name.
        assert_eq!(
            claim_in(&registry, 8, &claim(loser, "shared", 9)).unwrap(),
            None
        );
        assert!(claim_in(&registry, 8, &claim(winner, "shared", 9))
            .unwrap()
            .is_some());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn outcomes_follow_the_saved_kind() {
        let saved = Saved {
            token: "lp1:loom:2:1".into(),
            kind: Some(FailureKind::Leak),
            version: format!("loom {LOOM_VERSION}"),
            line: 2,
        };
        let o = replay_one(&saved, |_| Err(failure("lp1:loom:2:1", FailureKind::Leak)));
        assert!(matches!(o, Outcome::Reproduced(_)));
        let o = replay_one(&saved, |_| Err(failure("lp1:loom:2:1", FailureKind::Race)));
        assert!(matches!(o, Outcome::FailsDifferently { .. }));
        let o = replay_one(&saved, |_| Ok(Stats::default()));
        assert!(matches!(o, Outcome::Fixed));
        let old = Saved {
            version: "loom 0.1.0".into(),
            ..saved.clone()
        };
        assert!(matches!(
            replay_one(&old, |_| panic!("a refused token is not replayed")),
            Outcome::Refused(_)
        ));
        let bad = Saved {
            token: "lp1:nope:1".into(),
            ..saved
        };
        assert!(matches!(
            replay_one(&bad, |_| panic!("a corrupt token is not replayed")),
            Outcome::Corrupt(_)
        ));
    }
}
