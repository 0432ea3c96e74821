//! Panic plumbing: a quiet panic hook for checked executions, and the one signal a failing
//! execution raises so that loom and shuttle stop it (and record its schedule) exactly once.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, PanicHookInfo};
use std::sync::{Arc, Once};

use super::verdict::FailureKind;
use super::{backend, exec};

/// The payload of the single panic that stops a failing loom or shuttle execution.
/// The checker recognises it and reads the finding from the execution instead.
#[derive(Debug)]
pub(crate) struct FailureSignal;

/// Where the last panic on this thread happened.
#[derive(Clone, Debug)]
pub(crate) struct PanicNote {
    pub location: String,
}

thread_local! {
    static LAST: RefCell<Option<PanicNote>> = const { RefCell::new(None) };
}

/// The text of a panic payload.
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if payload.is::<FailureSignal>() {
        "leakproof stopped the execution".to_string()
    } else {
        "non-string panic payload".to_string()
    }
}

/// The finding for a panic with message `msg` in `who` at `at`: a panic, or a data race
/// when the panic is loom's own causality check failing on a `RaceCell`'s loom cell.
pub(crate) fn finding(msg: &str, who: &str, at: &str) -> exec::Finding {
    if super::verdict::Stop::of_message(msg) == super::verdict::Stop::Causality {
        return exec::Finding {
            kind: FailureKind::Race,
            text: format!(
                "WARNING: DATA RACE found by loom's causality check in {who}: {msg}\n    at {at}"
            ),
        };
    }
    exec::Finding {
        kind: FailureKind::Panic,
        text: format!("panic in {who}: {msg}\n    panicked at {at}"),
    }
}

/// Takes the note the hook left for the last panic on this thread.
pub(crate) fn take_note() -> Option<PanicNote> {
    LAST.with(|l| l.borrow_mut().take())
}

/// A panic hook, as `std::panic::take_hook` hands it back.
type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Send + Sync>;

/// Installs, once per process, a hook that records panics raised inside checked executions
/// (the report shows them) instead of printing each one; other panics print as before.
/// Set `LEAKPROOF_SHOW_PANICS=1` to print them all. A panic for which `silenced` says yes
/// (one the caller turns into a value) prints nothing.
///
/// Shuttle's own hook only sees panics raised inside a shuttle execution: outside one it
/// would print a "Task failed, serializing schedule" banner, naming the failing task
/// "Tried to get ExecutionState, but got the following error: NotSet", in front of every
/// ordinary panic of the process (a failing assertion of a test, a panic on a tokio thread).
pub(crate) fn install_hook(silenced: fn() -> bool) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // The hook shuttle would wrap (the default one unless someone set another): ordinary
        // panics go straight to it.
        let original: Arc<Hook> = Arc::new(panic::take_hook());
        let forward = original.clone();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| forward(info)));
        // Let shuttle install its own hook first, so that ours wraps it rather than the reverse.
        shuttle::Runner::new(
            shuttle::scheduler::RoundRobinScheduler::new(1),
            backend::shuttle_config(),
        )
        .run(|| {});
        let show_all = std::env::var_os("LEAKPROOF_SHOW_PANICS").is_some_and(|v| v != "0");
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if silenced() {
                return; // the caller gets it as a value and reports it
            }
            let in_check = exec::with_current(|e| e.is_some());
            if in_check {
                if info.payload().is::<FailureSignal>() {
                    return;
                }
                let note = PanicNote {
                    location: info
                        .location()
                        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                        .unwrap_or_else(|| "<unknown>".into()),
                };
                LAST.with(|l| *l.borrow_mut() = Some(note));
                if !show_all {
                    return;
                }
            }
            if backend::in_shuttle_execution() {
                previous(info);
            } else {
                original(info);
            }
        }));
    });
}

/// A future that turns a panic while polling `F` into `Err(payload)`.
pub(crate) struct CatchUnwind<F: ?Sized>(pub std::pin::Pin<Box<F>>);

impl<F: std::future::Future + ?Sized> std::future::Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let fut = self.0.as_mut();
        match panic::catch_unwind(panic::AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Err(payload) => std::task::Poll::Ready(Err(payload)),
        }
    }
}

/// Under loom and shuttle, stops the execution now with the one failure signal.
pub(crate) fn raise_if_modelled(exec: Option<&exec::Exec>) {
    if let Some(e) = exec {
        if e.backend != backend::Backend::Tokio {
            e.torn_down
                .store(true, std::sync::atomic::Ordering::Release);
            panic::panic_any(FailureSignal);
        }
    }
}
