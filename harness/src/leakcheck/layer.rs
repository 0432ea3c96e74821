//! The leak check's tracing layer: reads tokio's own `runtime.spawn` and `runtime.resource`
//! spans into a table of live tasks (name, spawn site, kind) and of what each one waits on.
//!
//! tokio emits these spans at TRACE level only when built with `--cfg tokio_unstable` and its
//! `tracing` feature. [`layer`] carries its own per-layer filter, so it receives them whatever
//! the other layers of the subscriber (a user's `fmt` layer at `info`, console...) let through,
//! and it never sees anything else.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use dashmap::DashMap;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, FilterFn, Filtered};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::watch::{self, Shared};

/// What tokio's `runtime.spawn` span says about one task.
pub(crate) struct TaskSpan {
    /// tokio's task id (`task.id`).
    pub id: u64,
    /// `task::Builder::name`, empty when the task has none.
    pub name: String,
    /// `task`, `local`, `blocking` or `block_on`.
    pub kind: String,
    /// `file:line:col` of the spawn call.
    pub site: Option<String>,
    /// When the span was created (the task was spawned).
    pub spawned: Instant,
    /// The instrumented operations this task has polled and that have not completed.
    pub waits: Mutex<Vec<Wait>>,
}

/// One pending operation on a resource tokio instruments (`runtime.resource.async_op`).
#[derive(Clone)]
pub(crate) struct Wait {
    op: u64,
    /// The resource the operation is on.
    pub resource: Arc<Resource>,
    /// The operation, as tokio names it (`Receiver::await`, `Mutex::lock`...).
    pub source: String,
}

/// A resource tokio instruments (`runtime.resource`): a oneshot, Mutex, RwLock, Semaphore,
/// Barrier, Sleep or Interval.
pub(crate) struct Resource {
    /// `concrete_type` (`Sleep`, `Interval`, `Mutex`, `Sender|Receiver`...).
    pub concrete_type: String,
    /// `file:line:col` where it was created.
    pub site: Option<String>,
}

/// Tasks seen through their `runtime.spawn` span, by tokio task id (ids are unique across
/// runtimes, so parallel tests share the table without seeing each other's tasks: each check
/// looks up only the ids its own runtime's hooks reported).
pub(crate) fn tasks() -> &'static DashMap<u64, Arc<TaskSpan>> {
    static TASKS: OnceLock<DashMap<u64, Arc<TaskSpan>>> = OnceLock::new();
    TASKS.get_or_init(DashMap::new)
}

static OPS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The tasks being polled on this thread, innermost last.
    static POLLING: RefCell<Vec<Arc<TaskSpan>>> = const { RefCell::new(Vec::new()) };
}

/// The layer itself; [`layer`] gives it with its filter.
pub struct TokioTaskLayer {
    _private: (),
}

struct TaskExt {
    task: Arc<TaskSpan>,
    /// For `spawn_blocking` tasks: the check of the runtime that spawned it.
    owner: Option<Weak<Shared>>,
}
struct ResourceExt(Arc<Resource>);
struct OpExt {
    key: u64,
    resource: Arc<Resource>,
    source: String,
    waiter: Mutex<Option<Arc<TaskSpan>>>,
}

#[derive(Default)]
struct Fields {
    name: String,
    kind: String,
    id: Option<u64>,
    file: Option<String>,
    line: Option<u64>,
    col: Option<u64>,
    concrete_type: String,
    source: String,
}

impl Fields {
    fn site(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(format!(
            "{file}:{}:{}",
            self.line.unwrap_or(0),
            self.col.unwrap_or(0)
        ))
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = || format!("{value:?}").trim_matches('"').to_string();
        match field.name() {
            "task.name" => self.name = text(),
            "kind" => self.kind = text(),
            "concrete_type" => self.concrete_type = text(),
            "source" => self.source = text(),
            "loc.file" => self.file = Some(text()),
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "task.name" => self.name = value.to_string(),
            "kind" => self.kind = value.to_string(),
            "concrete_type" => self.concrete_type = value.to_string(),
            "source" => self.source = value.to_string(),
            "loc.file" => self.file = Some(value.to_string()),
            _ => {}
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "task.id" => self.id = Some(value),
            "loc.line" => self.line = Some(value),
            "loc.col" => self.col = Some(value),
            _ => {}
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_u64(field, value.max(0) as u64)
    }
}

/// The tracking layer for tokio's instrumentation, with the per-layer filter that lets through
/// tokio's TRACE spans and nothing else. Add it to your own subscriber to keep it (then the
/// leak check uses yours instead of installing its own on the runtime's threads):
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_filter(tracing_subscriber::filter::LevelFilter::INFO))
///     .with(leakproof::leakcheck::layer());
/// tracing::subscriber::with_default(subscriber, || tracing::info!("the fmt layer still prints this"));
/// ```
pub fn layer<S>() -> Filtered<TokioTaskLayer, FilterFn, S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    TokioTaskLayer { _private: () }.with_filter(filter_fn(tokio_spans as fn(&Metadata<'_>) -> bool))
}

/// tokio's task and resource spans, nothing else.
fn tokio_spans(meta: &Metadata<'_>) -> bool {
    meta.is_span() && meta.target().starts_with("tokio") && meta.name().starts_with("runtime.")
}

impl<S> Layer<S> for TokioTaskLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let name = attrs.metadata().name();
        let mut fields = Fields::default();
        match name {
            "runtime.spawn" => {
                attrs.record(&mut fields);
                let Some(task_id) = fields.id else { return };
                let task = Arc::new(TaskSpan {
                    id: task_id,
                    site: fields.site(),
                    name: fields.name,
                    kind: fields.kind,
                    spawned: Instant::now(),
                    waits: Mutex::new(Vec::new()),
                });
                let mut owner = None;
                if task.kind == "blocking" {
                    // tokio's own: the multi-thread runtime's workers run as blocking tasks.
                    let internal = task
                        .site
                        .as_deref()
                        .is_some_and(|s| s.contains("tokio") && s.contains("runtime/scheduler"));
                    if !internal {
                        owner = watch::current().map(|shared| {
                            shared.blocking_spawned(task.clone());
                            Arc::downgrade(&shared)
                        });
                    }
                } else if task.kind != "block_on" {
                    tasks().insert(task_id, task.clone());
                }
                span.extensions_mut().insert(TaskExt { task, owner });
            }
            "runtime.resource" => {
                attrs.record(&mut fields);
                span.extensions_mut().insert(ResourceExt(Arc::new(Resource {
                    site: fields.site(),
                    concrete_type: fields.concrete_type,
                })));
            }
            "runtime.resource.async_op" => {
                attrs.record(&mut fields);
                let Some(parent) = span.parent() else { return };
                let resource = match parent.extensions().get::<ResourceExt>() {
                    Some(r) => r.0.clone(),
                    None => return,
                };
                span.extensions_mut().insert(OpExt {
                    key: OPS.fetch_add(1, Ordering::Relaxed),
                    resource,
                    source: fields.source,
                    waiter: Mutex::new(None),
                });
            }
            _ => {}
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        match span.name() {
            "runtime.spawn" => {
                if let Some(ext) = span.extensions().get::<TaskExt>() {
                    let task = ext.task.clone();
                    POLLING.with(|p| p.borrow_mut().push(task));
                }
            }
            "runtime.resource.async_op.poll" => {
                let Some(op_span) = span.parent() else { return };
                let ext = op_span.extensions();
                let Some(op) = ext.get::<OpExt>() else { return };
                let Some(task) = POLLING.with(|p| p.borrow().last().cloned()) else {
                    return;
                };
                let mut waiter = op.waiter.lock().unwrap_or_else(|e| e.into_inner());
                if waiter.as_ref().is_some_and(|w| Arc::ptr_eq(w, &task)) {
                    return;
                }
                if let Some(old) = waiter.take() {
                    old.waits
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .retain(|w| w.op != op.key);
                }
                task.waits
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Wait {
                        op: op.key,
                        resource: op.resource.clone(),
                        source: op.source.clone(),
                    });
                *waiter = Some(task);
            }
            _ => {}
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if span.name() != "runtime.spawn" {
            return;
        }
        if let Some(ext) = span.extensions().get::<TaskExt>() {
            POLLING.with(|p| {
                let mut p = p.borrow_mut();
                if let Some(i) = p.iter().rposition(|t| Arc::ptr_eq(t, &ext.task)) {
                    p.remove(i);
                }
            });
        };
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        if let Some(t) = ext.get::<TaskExt>() {
            tasks().remove_if(&t.task.id, |_, v| Arc::ptr_eq(v, &t.task));
            if let Some(owner) = t.owner.as_ref().and_then(Weak::upgrade) {
                owner.blocking_ended(t.task.id);
            }
        } else if let Some(op) = ext.get::<OpExt>() {
            if let Some(w) = op.waiter.lock().unwrap_or_else(|e| e.into_inner()).take() {
                w.waits
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|x| x.op != op.key);
            }
        }
    }
}
