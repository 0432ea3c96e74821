//! Replay tokens: the text a [`Failure`](super::Failure) carries so that
//! [`Check::replay`](super::Check::replay) can run that exact execution again.
//!
//! Formats (the `lp1` prefix versions the format):
//! - `lp1:shuttle:<schedule>` and `lp1:pct:<schedule>`: shuttle's encoded schedule, replayed
//!   step by step with shuttle's replay scheduler;
//! - `lp1:loom:<preemption bound or 'none'>:<execution>`: loom explores in a fixed order, so
//!   the n-th execution of a deterministic body under the same bound is the same one;
//! - `lp1:loom-file:<path>`: the path stored in a loom checkpoint file.

use std::fmt;

/// A parsed replay token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayToken {
    /// A shuttle schedule, found by the random (`pct == false`) or the PCT scheduler.
    Shuttle {
        /// Whether PCT found it (for the record; replay is the same).
        pct: bool,
        /// shuttle's encoded schedule.
        schedule: String,
    },
    /// The `execution`-th execution of loom's exploration under `preemption_bound`.
    Loom {
        /// loom's preemption bound (`None` = unbounded).
        preemption_bound: Option<usize>,
        /// 1-based index of the execution in loom's exploration order.
        execution: u64,
    },
    /// The path stored in a loom checkpoint file (see `Check::loom_checkpoint`).
    LoomCheckpoint(std::path::PathBuf),
}

/// Why a replay token could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError {
    reason: String,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid replay token: {}", self.reason)
    }
}

impl std::error::Error for TokenError {}

fn bad(reason: impl Into<String>) -> TokenError {
    TokenError {
        reason: reason.into(),
    }
}

impl ReplayToken {
    /// Reads a token as [`Failure::replay`](super::Failure::replay) prints it.
    ///
    /// ```
    /// use leakproof::check::ReplayToken;
    /// assert!(ReplayToken::parse("lp1:loom:2:17").is_ok());
    /// let err = ReplayToken::parse("lp1:shuttle:zz").unwrap_err();
    /// assert!(err.to_string().starts_with("invalid replay token"));
    /// ```
    pub fn parse(token: &str) -> Result<ReplayToken, TokenError> {
        let token = token.trim();
        let mut parts = token.splitn(3, ':');
        let version = parts.next().unwrap_or_default();
        if version != "lp1" {
            return Err(bad(format!(
                "expected it to start with `lp1:`, found `{}`",
                truncate(token)
            )));
        }
        let kind = parts
            .next()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| bad("missing checker after `lp1:`"))?;
        let rest = parts
            .next()
            .ok_or_else(|| bad(format!("missing schedule after `lp1:{kind}:`")))?;
        match kind {
            "shuttle" | "pct" => {
                if !valid_schedule(rest) {
                    return Err(bad(format!(
                        "`{}` is not a shuttle schedule (was the token cut when it was copied?)",
                        truncate(rest)
                    )));
                }
                Ok(ReplayToken::Shuttle {
                    pct: kind == "pct",
                    schedule: rest.to_string(),
                })
            }
            "loom-file" => {
                let path = std::path::PathBuf::from(rest);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    bad(format!(
                        "cannot read loom checkpoint {}: {e}",
                        path.display()
                    ))
                })?;
                let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                    return Err(bad(format!(
                        "{} is not a loom checkpoint (not JSON)",
                        path.display()
                    )));
                };
                if let Err(why) = check_loom_path(&json) {
                    return Err(bad(format!(
                        "{} is not a loom checkpoint this loom can replay: {why}",
                        path.display()
                    )));
                }
                Ok(ReplayToken::LoomCheckpoint(path))
            }
            "loom" => {
                let (bound, exec) = rest
                    .split_once(':')
                    .ok_or_else(|| bad("a loom token is `lp1:loom:<bound>:<execution>`"))?;
                let preemption_bound = match bound {
                    "none" => None,
                    b => Some(
                        b.parse()
                            .map_err(|_| bad(format!("`{b}` is not a preemption bound")))?,
                    ),
                };
                let execution: u64 = exec
                    .parse()
                    .map_err(|_| bad(format!("`{exec}` is not an execution number")))?;
                if execution == 0 {
                    return Err(bad("loom executions are numbered from 1"));
                }
                Ok(ReplayToken::Loom {
                    preemption_bound,
                    execution,
                })
            }
            other => Err(bad(format!(
                "unknown checker `{other}` (expected shuttle, pct, loom or loom-file)"
            ))),
        }
    }
}

/// Checks a shuttle schedule's encoding (hex; magic byte; varints for task-id width, length
/// and seed; then one bit per random step or 1 + width bits per task step) before shuttle
/// decodes it, because shuttle's decoder panics or allocates without bound on corrupt input.
fn valid_schedule(s: &str) -> bool {
    let hex: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return false;
    }
    let mut bytes = Vec::with_capacity(hex.len() / 2);
    for pair in hex.chunks(2) {
        let digit = |c: u8| (c as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => bytes.push((h * 16 + l) as u8),
            _ => return false,
        }
    }
    if bytes.first() != Some(&0x91) {
        return false;
    }
    let mut pos = 1;
    let mut varint = || -> Option<u64> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *bytes.get(pos)?;
            pos += 1;
            value |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    };
    let (Some(width), Some(len), Some(_seed)) = (varint(), varint(), varint()) else {
        return false;
    };
    if !(1..=63).contains(&width) {
        return false;
    }
    let bits = &bytes[pos..];
    let total = bits.len() as u64 * 8;
    let bit = |i: u64| (bits[(i / 8) as usize] >> (i % 8)) & 1 == 1;
    let (mut offset, mut steps) = (0u64, 0u64);
    while steps < len {
        if offset >= total {
            return false;
        }
        offset += if bit(offset) { 1 } else { 1 + width };
        if offset > total {
            return false;
        }
        steps += 1;
    }
    shuttle_engine::scheduler::serialization::deserialize_schedule(s).is_some()
}

/// loom's thread limit (`loom::MAX_THREADS`): a schedule branch has one state per thread.
const LOOM_MAX_THREADS: usize = 5;
/// How many values a load branch of loom's path holds (loom's `MAX_ATOMIC_HISTORY`).
const LOOM_MAX_ATOMIC_HISTORY: usize = 7;

/// Checks the shape and the ranges of a loom checkpoint (loom's serialized execution path),
/// which loom itself trusts: it unwraps the decoding and indexes with the numbers it holds,
/// so a damaged or hand-edited file would make it panic inside its own code, or replay a
/// different execution, instead of saying what is wrong.
fn check_loom_path(json: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    let uint = |v: &Value, what: &str| {
        v.as_u64()
            .ok_or_else(|| format!("{what} is not a non-negative integer"))
    };
    let boolean = |v: &Value, what: &str| {
        v.as_bool()
            .map(|_| ())
            .ok_or_else(|| format!("{what} is not true or false"))
    };
    let path = json.as_object().ok_or("it is not a JSON object")?;
    let field = |name: &str| path.get(name).ok_or_else(|| format!("no `{name}` field"));
    match field("preemption_bound")? {
        Value::Null => {}
        v => {
            if uint(v, "`preemption_bound`")? > u64::from(u8::MAX) {
                return Err("`preemption_bound` is over 255".into());
            }
        }
    }
    for name in ["exploring", "skipping", "exploring_on_start"] {
        boolean(field(name)?, &format!("`{name}`"))?;
    }
    let entries = field("branches")?
        .get("entries")
        .and_then(Value::as_array)
        .ok_or("`branches.entries` is not a list")?;
    let pos = uint(field("pos")?, "`pos`")?;
    if pos > entries.len() as u64 {
        return Err(format!(
            "`pos` is {pos}, past its {} branches",
            entries.len()
        ));
    }
    for (i, entry) in entries.iter().enumerate() {
        let at = |what: &str| format!("branch {i}: {what}");
        let (kind, b) = entry
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
            .filter(|(k, _)| ["Schedule", "Load", "Spurious"].contains(&k.as_str()))
            .ok_or_else(|| at("not one of Schedule, Load or Spurious"))?;
        boolean(
            b.get("exploring").unwrap_or(&Value::Null),
            &at("`exploring`"),
        )?;
        match kind.as_str() {
            "Schedule" => {
                let threads = b
                    .get("threads")
                    .and_then(Value::as_array)
                    .filter(|t| t.len() == LOOM_MAX_THREADS)
                    .ok_or_else(|| at(&format!("`threads` is not a list of {LOOM_MAX_THREADS}")))?;
                for t in threads {
                    let known = ["Disabled", "Skip", "Yield", "Pending", "Active", "Visited"];
                    if !t.as_str().is_some_and(|t| known.contains(&t)) {
                        return Err(at(&format!("unknown thread state {t}")));
                    }
                }
                if uint(
                    b.get("preemptions").unwrap_or(&Value::Null),
                    &at("`preemptions`"),
                )? > u64::from(u8::MAX)
                {
                    return Err(at("`preemptions` is over 255"));
                }
                match b.get("initial_active").unwrap_or(&Value::Null) {
                    Value::Null => {}
                    v => {
                        let t = uint(v, &at("`initial_active`"))?;
                        if t >= LOOM_MAX_THREADS as u64 {
                            return Err(at(&format!(
                                "`initial_active` is thread {t}, and loom has {LOOM_MAX_THREADS}"
                            )));
                        }
                    }
                }
                match b.get("prev").unwrap_or(&Value::Null) {
                    Value::Null => {}
                    v => {
                        let prev =
                            uint(v.get("index").unwrap_or(&Value::Null), &at("`prev.index`"))?;
                        let is_schedule =
                            |j: u64| j < i as u64 && entries[j as usize].get("Schedule").is_some();
                        if !is_schedule(prev) {
                            return Err(at(&format!(
                                "`prev` is branch {prev}, not an earlier schedule branch"
                            )));
                        }
                    }
                }
            }
            "Load" => {
                let values = b
                    .get("values")
                    .and_then(Value::as_array)
                    .filter(|v| v.len() == LOOM_MAX_ATOMIC_HISTORY)
                    .ok_or_else(|| {
                        at(&format!(
                            "`values` is not a list of {LOOM_MAX_ATOMIC_HISTORY}"
                        ))
                    })?;
                for v in values {
                    if uint(v, &at("a value"))? > u64::from(u8::MAX) {
                        return Err(at("a value is over 255"));
                    }
                }
                let len = uint(b.get("len").unwrap_or(&Value::Null), &at("`len`"))?;
                let pos = uint(b.get("pos").unwrap_or(&Value::Null), &at("`pos`"))?;
                if len == 0 || len > LOOM_MAX_ATOMIC_HISTORY as u64 || pos >= len {
                    return Err(at(&format!(
                        "load `pos` {pos} / `len` {len} out of range (1 to {LOOM_MAX_ATOMIC_HISTORY} values)"
                    )));
                }
            }
            "Spurious" => {
                boolean(b.get("spur").unwrap_or(&Value::Null), &at("`spur`"))?;
            }
            other => return Err(at(&format!("unknown branch kind `{other}`"))),
        }
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

impl fmt::Display for ReplayToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayToken::Shuttle { pct, schedule } => {
                write!(f, "lp1:{}:{schedule}", if *pct { "pct" } else { "shuttle" })
            }
            ReplayToken::Loom {
                preemption_bound,
                execution,
            } => match preemption_bound {
                Some(b) => write!(f, "lp1:loom:{b}:{execution}"),
                None => write!(f, "lp1:loom:none:{execution}"),
            },
            ReplayToken::LoomCheckpoint(path) => write!(f, "lp1:loom-file:{}", path.display()),
        }
    }
}

impl ReplayToken {
    /// The checker whose exploration made this token (what a replay of it follows).
    ///
    /// ```
    /// use leakproof::check::{Checker, ReplayToken};
    /// assert_eq!(ReplayToken::parse("lp1:loom:2:5").unwrap().checker(), Checker::Loom);
    /// ```
    pub fn checker(&self) -> super::Checker {
        match self {
            ReplayToken::Shuttle { pct: true, .. } => super::Checker::Pct,
            ReplayToken::Shuttle { pct: false, .. } => super::Checker::Shuttle,
            ReplayToken::Loom { .. } | ReplayToken::LoomCheckpoint(_) => super::Checker::Loom,
        }
    }
}
