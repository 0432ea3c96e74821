//! Drawing a failing execution the way people draw it by hand in bug reports: one lane per
//! task, one row per harness operation, matched send/receive pairs marked with the message
//! they carry, and the operations still stuck at the bottom. As text for the terminal, or
//! as an SVG picture.

use std::collections::HashMap;
use std::fmt::Write;

use harness::track::{LogEvent, Snapshot};

/// One row of the picture: something `task` did.
struct Row {
    task: u64,
    text: String,
    /// A message sent (`Some((msg, true))`) or received (`Some((msg, false))`).
    message: Option<(u64, bool)>,
    stuck: bool,
}

fn resource_name(snap: &Snapshot, res: u64, op: &str) -> String {
    match snap.resource(res) {
        Some(r) if r.kind == "channel" => format!("ch#{res}"),
        Some(r) => format!("{}#{res}", r.kind),
        None if op == "join" => format!("task {res}"),
        None => format!("#{res}"),
    }
}

fn rows(snap: &Snapshot) -> Vec<Row> {
    let senders: HashMap<u64, u64> = snap
        .log
        .iter()
        .filter_map(|e| match e.event {
            LogEvent::Sent { msg, .. } => Some((msg, e.task)),
            _ => None,
        })
        .collect();
    let name = |id: u64| {
        snap.task(id)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| format!("task {id}"))
    };
    let mut rows = Vec::new();
    for e in &snap.log {
        let (task, text, message) = match &e.event {
            LogEvent::Spawned { parent: Some(p) } => (*p, format!("go {}", name(e.task)), None),
            LogEvent::Spawned { parent: None } => (e.task, "start".to_string(), None),
            LogEvent::Waiting { res, op, .. } => (
                e.task,
                format!("wait {op} {}", resource_name(snap, *res, op)),
                None,
            ),
            LogEvent::Sent { res, msg } => (
                e.task,
                format!("send ch#{res} m{msg} ->"),
                Some((*msg, true)),
            ),
            LogEvent::Received { res, msg } => {
                let from = senders
                    .get(msg)
                    .map(|s| format!(" <- {}", name(*s)))
                    .unwrap_or_default();
                (
                    e.task,
                    format!("recv ch#{res} m{msg}{from}"),
                    Some((*msg, false)),
                )
            }
            LogEvent::Closed { res } => (e.task, format!("close ch#{res}"), None),
            LogEvent::Ended { how } => (
                e.task,
                match how.as_str() {
                    "ok" => "end".to_string(),
                    other => other.to_uppercase(),
                },
                None,
            ),
        };
        rows.push(Row {
            task,
            text,
            message,
            stuck: false,
        });
    }
    for w in &snap.waits {
        rows.push(Row {
            task: w.task,
            text: format!(
                "STUCK {} {} {}:{}",
                w.op,
                resource_name(snap, w.resource, &w.op),
                short_file(w.site.file),
                w.site.line
            ),
            message: None,
            stuck: true,
        });
    }
    rows
}

/// How many rows the drawing of this execution has (its operations, then the stuck ones).
pub fn row_count(snap: &Snapshot) -> usize {
    rows(snap).len()
}

fn short_file(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

fn lanes_of(snap: &Snapshot) -> Vec<(u64, String)> {
    snap.tasks
        .iter()
        .map(|t| (t.id, format!("{} {}", t.id, t.name)))
        .collect()
}

fn fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        format!("{s:width$}")
    } else {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}~")
    }
}

/// The execution as terminal lanes; empty-handed if the log was not recorded.
pub fn lanes(snap: &Snapshot) -> String {
    let mut out = String::new();
    if snap.log.is_empty() {
        out.push_str("(no execution log: replay with the log on to draw it)\n");
        return out;
    }
    let lanes = lanes_of(snap);
    let width = 30;
    let col: HashMap<u64, usize> = lanes
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .map(|c| fit(c, width))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let header: Vec<String> = lanes.iter().map(|(_, n)| n.clone()).collect();
    let _ = writeln!(out, "{}", line(&header).trim_end());
    let _ = writeln!(out, "{}", vec!["-".repeat(width); lanes.len()].join("-+-"));
    let rows = rows(snap);
    let mut stuck_started = false;
    for r in &rows {
        if r.stuck && !stuck_started {
            stuck_started = true;
            let _ = writeln!(out, "{}", vec!["=".repeat(width); lanes.len()].join("=+="));
        }
        let mut cells = vec![String::new(); lanes.len()];
        if let Some(&c) = col.get(&r.task) {
            cells[c] = r.text.clone();
        }
        let _ = writeln!(out, "{}", line(&cells).trim_end());
    }
    if !stuck_started {
        let _ = writeln!(out, "(nothing stuck at the end)");
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The execution as an SVG picture: lanes, rows, arrows from each send to its receive, and
/// the stuck operations in red at the bottom.
pub fn svg(snap: &Snapshot) -> String {
    let lanes = lanes_of(snap);
    let rows = rows(snap);
    let (lane_w, row_h, top, left) = (230.0_f64, 24.0_f64, 60.0_f64, 20.0_f64);
    let width = left * 2.0 + lane_w * lanes.len().max(1) as f64;
    let height = top + row_h * (rows.len() as f64 + 1.0) + 20.0;
    let col: HashMap<u64, usize> = lanes
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let x_of = |task: u64| left + lane_w * (*col.get(&task).unwrap_or(&0) as f64) + lane_w / 2.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"monospace\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"8\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#2a6\"/></marker></defs>"
    );
    for (i, (id, name)) in lanes.iter().enumerate() {
        let x = x_of(*id);
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            top - 25.0,
            xml(name)
        );
        let _ = writeln!(
            s,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>",
            top - 15.0,
            height - 10.0
        );
        let _ = i;
    }
    let mut sent_at: HashMap<u64, (f64, f64)> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        if let Some((msg, true)) = r.message {
            sent_at.insert(msg, (x_of(r.task), y));
        }
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        if let Some((msg, false)) = r.message {
            if let Some(&(sx, sy)) = sent_at.get(&msg) {
                let _ = writeln!(
                    s,
                    "<line x1=\"{sx}\" y1=\"{sy}\" x2=\"{}\" y2=\"{y}\" stroke=\"#2a6\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>",
                    x_of(r.task)
                );
            }
        }
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let x = x_of(r.task);
        let color = if r.stuck { "#c00" } else { "#000" };
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"{color}\" rx=\"3\"/>",
            x - lane_w / 2.0 + 6.0,
            y - 13.0,
            lane_w - 12.0,
            18.0,
            if r.stuck { "#fee" } else { "#f7f7f7" }
        );
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" fill=\"{color}\">{}</text>",
            xml(&fit(&r.text, 32))
        );
    }
    s.push_str("</svg>\n");
    s
}
