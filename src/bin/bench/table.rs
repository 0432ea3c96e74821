//! Markdown tables, medians and number formatting.

use std::fmt::Write as _;
use std::time::Duration;

/// Whether a row meets its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Met {
    Yes,
    No,
    /// Informational row: no target.
    Info,
}

impl Met {
    pub fn from(ok: bool) -> Met {
        if ok {
            Met::Yes
        } else {
            Met::No
        }
    }

    fn cell(self) -> &'static str {
        match self {
            Met::Yes => "yes",
            Met::No => "**NO**",
            Met::Info => "–",
        }
    }
}

/// One measurement: leakproof's figure next to its anchor's.
pub struct Row {
    pub measurement: String,
    pub leakproof: String,
    pub anchor: String,
    pub ratio: String,
    pub target: String,
    pub met: Met,
}

/// One section's table, with the notes that say how to read it.
pub struct Table {
    pub title: String,
    pub intro: String,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(title: &str, intro: &str) -> Table {
        Table {
            title: title.to_string(),
            intro: intro.to_string(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(
        &mut self,
        measurement: impl Into<String>,
        leakproof: impl Into<String>,
        anchor: impl Into<String>,
        ratio: impl Into<String>,
        target: impl Into<String>,
        met: Met,
    ) {
        self.rows.push(Row {
            measurement: measurement.into(),
            leakproof: leakproof.into(),
            anchor: anchor.into(),
            ratio: ratio.into(),
            target: target.into(),
            met,
        });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// How many rows missed their target.
    pub fn missed(&self) -> usize {
        self.rows.iter().filter(|r| r.met == Met::No).count()
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "## {}\n", self.title);
        if !self.intro.is_empty() {
            let _ = writeln!(s, "{}\n", self.intro);
        }
        s.push_str("| measurement | leakproof | anchor | ratio | target | met? |\n");
        s.push_str("|---|---:|---:|---:|---|---|\n");
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&r.measurement),
                cell(&r.leakproof),
                cell(&r.anchor),
                cell(&r.ratio),
                cell(&r.target),
                r.met.cell()
            );
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The median of `v` (the mean of the two middle values for an even count).
pub fn median(v: &[f64]) -> f64 {
    assert!(!v.is_empty(), "median of nothing");
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Half the min–max range, relative to the median: `±3%`.
pub fn spread(v: &[f64]) -> String {
    if v.len() < 2 {
        return String::new();
    }
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let m = median(v);
    if m == 0.0 {
        return String::new();
    }
    format!(" ±{:.0}%", (hi - lo) / 2.0 / m * 100.0)
}

/// `12.3 M/s`, `456 k/s`, `789 /s`.
pub fn rate(per_sec: f64, unit: &str) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M {unit}/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k {unit}/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} {unit}/s")
    }
}

/// A duration in the most readable unit.
pub fn dur(d: Duration) -> String {
    secs(d.as_secs_f64())
}

pub fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else if s >= 1e-6 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.0} ns", s * 1e9)
    }
}

/// `0.85×`
pub fn ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}×")
    } else {
        "–".to_string()
    }
}

/// A count with thousands separators.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let head = match s.len() % 3 {
        0 => 3.min(s.len()),
        r => r,
    };
    let mut out = s[..head].to_string();
    for group in s.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(group).expect("digits"));
    }
    out
}
