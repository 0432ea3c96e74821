//! Tasks on the tokio checker's runtime that leakproof did not spawn: a library's own
//! `tokio::spawn` (hyper-util's executor, a client's connection driver), or a call the program
//! makes to tokio itself. The checker can neither name them nor say what they wait on, but it
//! must not ignore them: one still alive once the grace period is over is a leak like any other,
//! and while one is alive, tasks blocked on leakproof's primitives may still be woken by it, so
//! "nothing moved for a while" proves nothing.
//!
//! With `--cfg tokio_unstable` tokio's task hooks give each such task's id and spawn site;
//! without it the runtime's live-task count, less leakproof's own unfinished tasks, gives their
//! number only (the report says how to get the sites).

use std::fmt::Write;

use crate::rt::exec::Exec;

/// What the checker knows of the untracked tasks alive at one moment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Untracked {
    /// How many there are.
    pub count: usize,
    /// Each one's spawn site and tokio task id, when the runtime's task hooks told them
    /// (`--cfg tokio_unstable`); empty otherwise.
    pub sites: Vec<(String, u64)>,
}

impl Untracked {
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The report's section on them: one line per spawn site, or their number and how to get
    /// the sites.
    pub(crate) fn write(&self, r: &mut String) {
        if self.is_empty() {
            return;
        }
        let _ = writeln!(
            r,
            "{} untracked task(s) alive, spawned with tokio's own spawn (by a library, or by a \
             call leakproof::tokio does not stand in for): leakproof knows neither their names \
             nor what they wait on",
            self.count
        );
        if self.sites.is_empty() {
            let _ = writeln!(
                r,
                "    (the runtime counts them; build with RUSTFLAGS=\"--cfg tokio_unstable\" to see \
                 where each one was spawned)"
            );
            return;
        }
        let mut groups: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
        for (site, id) in &self.sites {
            groups.entry(site.as_str()).or_default().push(*id);
        }
        for (site, ids) in groups {
            let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
            let _ = writeln!(
                r,
                "    {} task(s) spawned at {site} (tokio task id {})",
                ids.len(),
                ids.join(", ")
            );
        }
    }
}

#[cfg(tokio_unstable)]
mod hooked {
    use std::collections::HashMap;
    use std::panic::Location;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use crate::rt::backend;

    type Sites = HashMap<tokio::task::Id, &'static Location<'static>>;

    /// The untracked tasks of one run's runtime that its task hooks saw spawned and not yet
    /// terminated (leakproof's own are left out at the spawn hook).
    #[derive(Clone, Default)]
    pub(crate) struct Seen(Arc<(AtomicUsize, Mutex<Sites>)>);

    impl Seen {
        pub(crate) fn install(&self, builder: &mut tokio::runtime::Builder) {
            let (spawned, ended) = (self.clone(), self.clone());
            builder
                .on_task_spawn(move |meta| {
                    if !backend::spawning_tracked() {
                        spawned.sites().insert(meta.id(), meta.spawned_at());
                        spawned.0 .0.fetch_add(1, Ordering::AcqRel);
                    }
                })
                .on_task_terminate(move |meta| {
                    // Only untracked tasks are in the table: most runs never lock it here.
                    // Blocking tasks end here too, with no spawn hook: never in it.
                    if ended.0 .0.load(Ordering::Acquire) > 0
                        && ended.sites().remove(&meta.id()).is_some()
                    {
                        ended.0 .0.fetch_sub(1, Ordering::AcqRel);
                    }
                });
        }

        fn sites(&self) -> std::sync::MutexGuard<'_, Sites> {
            self.0 .1.lock().unwrap_or_else(|e| e.into_inner())
        }

        pub(crate) fn count(&self) -> usize {
            self.0 .0.load(Ordering::Acquire)
        }

        pub(crate) fn untracked(&self) -> super::Untracked {
            let mut sites: Vec<(String, u64)> = self
                .sites()
                .iter()
                .map(|(id, site)| (site.to_string(), id.to_string().parse().unwrap_or(0)))
                .collect();
            sites.sort_by_key(|(_, id)| *id);
            super::Untracked {
                count: sites.len(),
                sites,
            }
        }
    }
}

/// Watches one run's runtime for tasks leakproof did not spawn.
#[derive(Clone, Default)]
pub(crate) struct RuntimeTasks {
    #[cfg(tokio_unstable)]
    seen: hooked::Seen,
}

impl RuntimeTasks {
    /// Installs what the watch needs on the run's runtime builder (the task hooks, where tokio
    /// has them).
    pub(crate) fn install(&self, builder: &mut tokio::runtime::Builder) {
        #[cfg(tokio_unstable)]
        self.seen.install(builder);
        #[cfg(not(tokio_unstable))]
        let _ = builder;
    }

    /// Whether an untracked task is alive now on `runtime`, whose leakproof tasks are `exec`'s
    /// (cheap: the checker asks on every look).
    pub(crate) fn any(&self, runtime: &tokio::runtime::Handle, exec: &Exec) -> bool {
        #[cfg(tokio_unstable)]
        {
            let _ = (runtime, exec);
            self.seen.count() > 0
        }
        #[cfg(not(tokio_unstable))]
        {
            !self.untracked(runtime, exec).is_empty()
        }
    }

    /// The untracked tasks alive now on `runtime`, whose leakproof tasks are `exec`'s.
    pub(crate) fn untracked(&self, runtime: &tokio::runtime::Handle, exec: &Exec) -> Untracked {
        #[cfg(tokio_unstable)]
        {
            let _ = (runtime, exec);
            self.seen.untracked()
        }
        #[cfg(not(tokio_unstable))]
        {
            // A leakproof task that has just finished may still be counted by the runtime for
            // a moment: the checker only acts on a count that lasts.
            let alive = runtime.metrics().num_alive_tasks();
            Untracked {
                count: alive.saturating_sub(exec.unfinished_count() as usize),
                sites: Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Untracked;

    #[test]
    fn the_report_section_groups_sites_or_says_how_to_get_them() {
        let mut r = String::new();
        Untracked::default().write(&mut r);
        assert!(r.is_empty());
        Untracked {
            count: 3,
            sites: vec![
                ("src/a.rs:1:2".into(), 7),
                ("src/b.rs:3:4".into(), 9),
                ("src/a.rs:1:2".into(), 8),
            ],
        }
        .write(&mut r);
        assert!(r.starts_with("3 untracked task(s) alive"), "{r}");
        assert!(
            r.contains("    2 task(s) spawned at src/a.rs:1:2 (tokio task id 7, 8)"),
            "{r}"
        );
        assert!(
            r.contains("    1 task(s) spawned at src/b.rs:3:4 (tokio task id 9)"),
            "{r}"
        );
        let mut counted = String::new();
        Untracked {
            count: 2,
            sites: Vec::new(),
        }
        .write(&mut counted);
        assert!(counted.contains("2 untracked task(s)"), "{counted}");
        assert!(counted.contains("--cfg tokio_unstable"), "{counted}");
    }
}
