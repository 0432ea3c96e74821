//! The user's own `tracing` subscriber inside a check: a layer that forwards every event and
//! span of the user's code, from the body and every task, to the dispatcher that was the
//! default when the check started, so that the checker's own dispatcher (which feeds the
//! tracking layer) composes with the user's subscriber instead of hiding it.
//!
//! What is forwarded: everything the user's subscriber is interested in, except the harness's
//! own events (target `harness`) and the model checkers' internals (targets `loom`,
//! `shuttle`, `shuttle_engine`); [`Check::trace`](super::Check::trace) prints those.
//! Spans keep their nesting: the user's subscriber gets its own span ids, kept in each span's
//! extensions. An event with an explicit `parent:` is forwarded with its parent as the
//! checker's dispatcher knows it (tracing gives no way to rebuild the event with another
//! parent id); contextual events and spans, the usual kind, are exact. A span the user's
//! dispatcher created before the check started should not be dropped inside the checked body
//! (a registry closes a span's parent through the thread's current default dispatcher, which
//! is the checker's there).
//!
//! The user's subscriber is asked whether it wants an event or span right before it gets it,
//! never while the checker's registry runs its own filters: `tracing_subscriber`'s per-layer
//! filters keep their state in one thread-local shared by every registry of the thread, so a
//! nested filtering pass would mix the two registries' filter bits. That is also why this
//! layer goes last (outermost) in the checker's registry: its callbacks then run after every
//! other layer has taken its filter bit.

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{Interest, NoSubscriber};
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::track::TrackingLayer;

/// Forwards the user's events and spans to the dispatcher they were written for.
pub(crate) struct Forward {
    to: Dispatch,
}

/// The user's id of a span, kept in the span's extensions in the checker's registry.
struct UserId(Id);

/// Targets that are the checkers' business, never forwarded.
fn internal(target: &str) -> bool {
    let top = target.split("::").next().unwrap_or(target);
    matches!(top, "harness" | "loom" | "shuttle" | "shuttle_engine")
}

/// The user's dispatcher: the thread's default when a check starts, unless it is none. Inside
/// a checker's own dispatcher (a check started from a checked body), the user's dispatcher
/// that one forwards to.
pub(crate) fn user_dispatch() -> Option<Dispatch> {
    tracing::dispatcher::get_default(|d| {
        if d.is::<NoSubscriber>() {
            None
        } else if d.downcast_ref::<TrackingLayer>().is_some() {
            d.downcast_ref::<Forward>().map(|f| f.to.clone())
        } else {
            Some(d.clone())
        }
    })
}

impl Forward {
    /// A layer that forwards to `to`.
    pub(crate) fn new(to: Dispatch) -> Forward {
        Forward { to }
    }

    /// The per-layer filter to put on this layer: anything but the internals.
    pub(crate) fn filter(&self) -> ForwardFilter {
        ForwardFilter
    }

    fn user_id<S>(&self, id: &Id, ctx: &Context<'_, S>) -> Option<Id>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        ctx.span(id)?
            .extensions()
            .get::<UserId>()
            .map(|u| u.0.clone())
    }
}

impl<S> Layer<S> for Forward
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !self.to.enabled(attrs.metadata()) {
            return;
        }
        let user = match attrs.parent() {
            Some(parent) => {
                let parent = self.user_id(parent, &ctx);
                let attrs = match parent {
                    Some(p) => Attributes::child_of(p, attrs.metadata(), attrs.values()),
                    None => Attributes::new_root(attrs.metadata(), attrs.values()),
                };
                self.to.new_span(&attrs)
            }
            None => self.to.new_span(attrs),
        };
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(UserId(user));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(user) = self.user_id(id, &ctx) {
            self.to.record(&user, values);
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        if let (Some(a), Some(b)) = (self.user_id(id, &ctx), self.user_id(follows, &ctx)) {
            self.to.record_follows_from(&a, &b);
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if self.to.enabled(event.metadata()) {
            self.to.event(event);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(user) = self.user_id(id, &ctx) {
            self.to.enter(&user);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(user) = self.user_id(id, &ctx) {
            self.to.exit(&user);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(user) = self.user_id(&id, &ctx) {
            // A registry closes a span's parent through the thread's default dispatcher: make
            // that the user's, or the user's parent id would reach the checker's registry.
            tracing::dispatcher::with_default(&self.to, || self.to.try_close(user));
        }
    }
}

/// Everything but the checkers' internals; the user's dispatcher is asked by [`Forward`]
/// itself, right before it gets an event or span (see the module's documentation).
pub(crate) struct ForwardFilter;

impl<S> Filter<S> for ForwardFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        !internal(meta.target())
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if internal(meta.target()) {
            Interest::never()
        } else {
            // The user's subscriber may be scoped to some threads: decide per event.
            Interest::sometimes()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::check::{Check, FailureKind};
    use crate::{chan, task};

    /// A user's layer: keeps "message inside span1 > span2" for every event of target `app`.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S> Layer<S> for Seen
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            if event.metadata().target() != "app" {
                return;
            }
            struct Msg(String);
            impl tracing::field::Visit for Msg {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut m = Msg(String::new());
            event.record(&mut m);
            let spans: Vec<String> = ctx
                .event_scope(event)
                .map(|s| s.from_root().map(|s| s.name().to_string()).collect())
                .unwrap_or_default();
            self.0
                .lock()
                .unwrap()
                .push(format!("{} inside {}", m.0, spans.join(">")));
        }
    }

    async fn body() {
        let (tx, rx) = chan::bounded::<u8>(0);
        let span = tracing::info_span!(target: "app", "request");
        let _g = span.enter();
        tracing::info!(target: "app", "in the body");
        task::spawn(tracing::Instrument::instrument(
            async move {
                tracing::info!(target: "app", "in a task");
                tx.send(1).await.unwrap();
            },
            tracing::info_span!(target: "app", "worker"),
        ));
        assert_eq!(rx.recv().await, Some(1));
    }

    #[test]
    fn a_users_subscriber_sees_the_checked_code_under_every_checker() {
        for (name, check) in [
            ("loom", Check::new("fwd-loom").loom()),
            ("shuttle", Check::new("fwd-shuttle").shuttle(3)),
            ("pct", Check::new("fwd-pct").pct(3, 2)),
            ("tokio", Check::new("fwd-tokio").tokio(1)),
        ] {
            let seen = Seen::default();
            let subscriber = tracing_subscriber::registry().with(seen.clone());
            tracing::subscriber::with_default(subscriber, || check.run(body).unwrap());
            let seen = seen.0.lock().unwrap();
            // (tokio, built with tokio_unstable, adds its own `runtime.spawn` span around the
            // body, as it does for a user's own runtime.)
            let inside = |event: &str, spans: &str| {
                seen.iter().any(|s| {
                    s.strip_prefix(event)
                        .and_then(|rest| rest.strip_prefix(" inside "))
                        .is_some_and(|path| {
                            path == spans || path == format!("runtime.spawn>{spans}")
                        })
                })
            };
            assert!(inside("in the body", "request"), "{name}: {seen:?}");
            assert!(inside("in a task", "request>worker"), "{name}: {seen:?}");
            // Nothing of the checkers' own machinery reaches the user.
            assert!(
                seen.iter().all(|s| s.starts_with("in ")),
                "{name}: {seen:?}"
            );
        }
    }

    #[test]
    fn tracking_still_works_under_a_users_subscriber() {
        for check in [
            Check::new("fwd-leak-loom").loom(),
            Check::new("fwd-leak-shuttle").shuttle(5),
            Check::new("fwd-leak-pct").pct(5, 2),
        ] {
            let seen = Seen::default();
            let subscriber = tracing_subscriber::registry().with(seen.clone());
            let failure = tracing::subscriber::with_default(subscriber, || {
                check
                    .run(|| async {
                        let (tx, rx) = chan::bounded::<u8>(0);
                        task::spawn_named("stuck", async move {
                            tracing::info!(target: "app", "about to block");
                            let _ = tx.send(1).await;
                        });
                        std::mem::forget(rx);
                    })
                    .unwrap_err()
            });
            assert_eq!(failure.kind, FailureKind::Leak, "{failure}");
            assert!(failure.report.contains("\"stuck\""), "{failure}");
            assert!(seen
                .0
                .lock()
                .unwrap()
                .iter()
                .any(|s| s.starts_with("about to block")));
        }
    }

    #[test]
    fn a_users_per_layer_filters_keep_working() {
        // tracing_subscriber keeps every registry's per-layer filter state in one thread-local:
        // the user's filters must not mix with those of the checkers' registry.
        use tracing_subscriber::filter::LevelFilter;
        for check in [
            Check::new("fwd-filters-loom").loom(),
            Check::new("fwd-filters-shuttle").shuttle(3),
        ] {
            let seen = Seen::default();
            let subscriber = tracing_subscriber::registry()
                .with(seen.clone().with_filter(LevelFilter::INFO))
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_test_writer()
                        .with_filter(LevelFilter::WARN),
                );
            tracing::subscriber::with_default(subscriber, || {
                check
                    .run(|| async {
                        tracing::debug!(target: "app", "below the user's filter");
                        body().await;
                    })
                    .unwrap()
            });
            let seen = seen.0.lock().unwrap();
            assert!(
                seen.iter().any(|s| s == "in the body inside request"),
                "{seen:?}"
            );
            assert!(
                seen.iter().any(|s| s == "in a task inside request>worker"),
                "{seen:?}"
            );
            assert!(!seen.iter().any(|s| s.starts_with("below")), "{seen:?}");
        }
    }

    #[test]
    fn no_subscriber_means_nothing_to_forward() {
        assert!(tracing::dispatcher::with_default(&Dispatch::none(), user_dispatch).is_none());
        let d = Dispatch::new(tracing_subscriber::registry());
        assert!(tracing::dispatcher::with_default(&d, user_dispatch).is_some());
    }
}
