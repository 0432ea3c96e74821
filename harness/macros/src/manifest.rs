//! Finds the name under which the calling package depends on the package `leakproof`, from
//! its `Cargo.toml`, as the proc-macro-crate crate does (a minimal reader of the few TOML
//! forms a dependency line takes, so that the macro crate keeps no dependencies).
//!
//! The forms read, in `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]` and
//! their `[target.….dependencies]` variants: `NAME = "…"` or `NAME = { … }` (the package is
//! NAME unless `package = "…"` says otherwise), the dotted `NAME.package = "…"`, a table
//! `[dependencies.NAME]` with its `package = "…"` line, and `NAME = { workspace = true }` /
//! `NAME.workspace = true`, whose package is read from `[workspace.dependencies]` of the
//! nearest enclosing `Cargo.toml` that has a `[workspace]`. Inside the package `leakproof`
//! itself (its doc examples, its tests) the name is `leakproof`. Anything else: pass
//! `crate = "path::to::tokio"`.

use std::path::{Path, PathBuf};

/// The package whose library the expansion names.
const PACKAGE: &str = "leakproof";

/// The crate name that reaches the package `leakproof` from the package being compiled.
pub(crate) fn library_name() -> Result<String, String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or("CARGO_MANIFEST_DIR is not set: pass `crate = \"path::to::tokio\"`")?;
    let path = Path::new(&dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {}: {e}; pass `crate = \"path::to::tokio\"`",
            path.display()
        )
    })?;
    let workspace = || workspace_manifest(Path::new(&dir));
    find(&text, &workspace).ok_or_else(|| {
        format!(
            "{} does not depend on the package `{PACKAGE}`: add it, or pass `crate = \"path::to::tokio\"`",
            path.display()
        )
    })
}

/// The text of the nearest `Cargo.toml` at or above `dir` that declares `[workspace]`.
fn workspace_manifest(dir: &Path) -> Option<String> {
    let mut at: Option<PathBuf> = Some(dir.to_path_buf());
    while let Some(d) = at {
        if let Ok(text) = std::fs::read_to_string(d.join("Cargo.toml")) {
            if text.lines().any(|l| l.trim() == "[workspace]") {
                return Some(text);
            }
        }
        at = d.parent().map(Path::to_path_buf);
    }
    None
}

/// One dependency as the manifest declares it.
#[derive(Debug, Default)]
struct Dep {
    key: String,
    package: Option<String>,
    workspace: bool,
}

/// The crate name (with `-` as `_`) of the dependency on `leakproof` in `manifest`, or
/// `leakproof` when `manifest` is the package `leakproof` itself.
fn find(manifest: &str, workspace: &dyn Fn() -> Option<String>) -> Option<String> {
    let mut section = String::new();
    let mut deps: Vec<Dep> = Vec::new();
    for raw in manifest.lines() {
        let line = strip_comment(raw).trim();
        if line.starts_with('[') {
            section = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string();
            if let Some(key) = dependency_table_key(&section) {
                deps.push(Dep {
                    key,
                    ..Dep::default()
                });
            }
            continue;
        }
        let Some((lhs, rhs)) = line.split_once('=') else {
            continue;
        };
        let (lhs, rhs) = (lhs.trim().trim_matches('"'), rhs.trim());
        if section == "package" && lhs == "name" && unquote(rhs) == Some(PACKAGE) {
            return Some(PACKAGE.to_string());
        }
        if dependency_table_key(&section).is_some() {
            // Inside `[dependencies.NAME]`: the table's own keys.
            let dep = deps.last_mut().expect("pushed with the header");
            match lhs {
                "package" => dep.package = unquote(rhs).map(str::to_string),
                "workspace" => dep.workspace = rhs == "true",
                _ => {}
            }
        } else if is_dependency_section(&section) {
            let (key, field) = match lhs.split_once('.') {
                Some((k, f)) => (k.trim().trim_matches('"'), Some(f.trim())),
                None => (lhs, None),
            };
            let i = match deps.iter().position(|d| d.key == key) {
                Some(i) => i,
                None => {
                    deps.push(Dep {
                        key: key.to_string(),
                        ..Dep::default()
                    });
                    deps.len() - 1
                }
            };
            let dep = &mut deps[i];
            match field {
                Some("package") => dep.package = unquote(rhs).map(str::to_string),
                Some("workspace") => dep.workspace = rhs == "true",
                Some(_) => {}
                None => {
                    dep.package = inline_field(rhs, "package").map(str::to_string);
                    dep.workspace = inline_field(rhs, "workspace") == Some("true");
                }
            }
        }
    }
    let mut ws_text: Option<Option<String>> = None;
    deps.iter()
        .find(|d| {
            let package = match (&d.package, d.workspace) {
                (Some(p), _) => p.clone(),
                (None, false) => d.key.clone(),
                (None, true) => {
                    let ws = ws_text.get_or_insert_with(workspace);
                    ws.as_deref()
                        .and_then(|w| workspace_package(w, &d.key))
                        .unwrap_or_else(|| d.key.clone())
                }
            };
            package == PACKAGE
        })
        .map(|d| d.key.replace('-', "_"))
}

/// The package of `key` in `[workspace.dependencies]`, if renamed there.
fn workspace_package(manifest: &str, key: &str) -> Option<String> {
    let mut section = String::new();
    for raw in manifest.lines() {
        let line = strip_comment(raw).trim();
        if line.starts_with('[') {
            section = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string();
            continue;
        }
        let Some((lhs, rhs)) = line.split_once('=') else {
            continue;
        };
        let (lhs, rhs) = (lhs.trim(), rhs.trim());
        if section == "workspace.dependencies" && lhs == key {
            return inline_field(rhs, "package").map(str::to_string);
        }
        if section == "workspace.dependencies" && lhs == format!("{key}.package") {
            return unquote(rhs).map(str::to_string);
        }
        if section == format!("workspace.dependencies.{key}") && lhs == "package" {
            return unquote(rhs).map(str::to_string);
        }
    }
    None
}

/// Whether a section lists dependencies one per line.
fn is_dependency_section(section: &str) -> bool {
    let last = section.rsplit('.').next().unwrap_or(section);
    matches!(
        last,
        "dependencies" | "dev-dependencies" | "build-dependencies"
    ) && (section == last || section.starts_with("target."))
}

/// NAME, when the section is one dependency's table (`dependencies.NAME`).
fn dependency_table_key(section: &str) -> Option<String> {
    let (table, key) = section.rsplit_once('.')?;
    is_dependency_section(table).then(|| key.trim_matches('"').to_string())
}

/// The line without a `#` comment (outside strings).
fn strip_comment(line: &str) -> &str {
    let mut in_str = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '#' if !in_str => return &line[..i],
            _ => {}
        }
    }
    line
}

/// The contents of a `"…"` string.
fn unquote(s: &str) -> Option<&str> {
    s.trim().strip_prefix('"')?.strip_suffix('"')
}

/// The value of `field` in an inline table `{ a = "x", field = value, … }` (a string's
/// contents, or the bare value).
fn inline_field<'a>(table: &'a str, field: &str) -> Option<&'a str> {
    let body = table.trim().strip_prefix('{')?.strip_suffix('}')?;
    body.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == field).then(|| {
            let v = v.trim();
            unquote(v).unwrap_or(v)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::find;

    fn name(manifest: &str) -> Option<String> {
        find(manifest, &|| None)
    }

    #[test]
    fn a_plain_dependency_is_named_leakproof() {
        let m = "[package]\nname = \"app\"\n\n[dependencies]\nleakproof = { path = \"../lp\" }\n";
        assert_eq!(name(m).as_deref(), Some("leakproof"));
        let m = "[dev-dependencies]\nleakproof = \"0.1\" # pinned\n";
        assert_eq!(name(m).as_deref(), Some("leakproof"));
    }

    #[test]
    fn a_renamed_dependency_is_named_by_its_key() {
        let m = "[dependencies]\nharness = { package = \"leakproof\", path = \"harness\" }\n";
        assert_eq!(name(m).as_deref(), Some("harness"));
        let m = "[dev-dependencies]\nlp-1 = { path = \"x\", package = \"leakproof\" }\n";
        assert_eq!(name(m).as_deref(), Some("lp_1"));
        let m = "[target.'cfg(unix)'.dependencies]\nlp.package = \"leakproof\"\nlp.path = \"x\"\n";
        assert_eq!(name(m).as_deref(), Some("lp"));
        let m = "[dependencies.lp]\npath = \"x\"\npackage = \"leakproof\"\n\n[features]\nx = []\n";
        assert_eq!(name(m).as_deref(), Some("lp"));
    }

    #[test]
    fn the_package_itself_is_leakproof() {
        let m = "[package]\nname = \"leakproof\"\n\n[dependencies]\nharness-macros = { path = \"macros\" }\n";
        assert_eq!(name(m).as_deref(), Some("leakproof"));
    }

    #[test]
    fn a_workspace_dependency_is_resolved_in_the_workspace() {
        let m = "[dependencies]\nharness = { workspace = true }\n";
        let ws = "[workspace]\n[workspace.dependencies]\nharness = { package = \"leakproof\", path = \"h\" }\n";
        assert_eq!(
            find(m, &|| Some(ws.to_string())).as_deref(),
            Some("harness")
        );
        let m = "[dependencies]\nleakproof.workspace = true\n";
        assert_eq!(
            find(m, &|| Some("[workspace]\n".into())).as_deref(),
            Some("leakproof")
        );
    }

    #[test]
    fn other_packages_are_not_taken_for_leakproof() {
        let m = "[package]\nname = \"leakproof-cli\"\n[dependencies]\nleakproof-x = \"1\"\nharness = { path = \"h\" }\n";
        assert_eq!(name(m), None);
        // A `package = "leakproof"` of another section (a feature list, a table) is not a dependency.
        let m = "[features]\npackage = \"leakproof\"\n[dependencies]\nserde = \"1\"\n";
        assert_eq!(name(m), None);
    }
}
