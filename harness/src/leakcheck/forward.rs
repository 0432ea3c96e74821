//! The dispatcher a leak check installs on its runtime's threads when the caller's subscriber
//! lacks the leak-check layer: a registry with that layer, plus a layer that hands every event
//! on to the subscriber the thread had before, so the user's own subscriber keeps its events.

use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::prelude::*;

/// Hands events on to another dispatcher.
struct Forward {
    to: Dispatch,
}

/// Lets through what the other dispatcher wants: events only.
struct WantedBy {
    to: Dispatch,
}

impl<S> Filter<S> for WantedBy {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        // The other dispatcher is asked in `on_event`, right before it gets the event: its
        // own per-layer filters keep their state in the same thread-local as this registry's.
        meta.is_event()
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if !meta.is_event() {
            return Interest::never();
        }
        // The other dispatcher's interest may change (a reloaded filter): ask each time.
        match self.to.register_callsite(meta) {
            i if i.is_never() => Interest::never(),
            _ => Interest::sometimes(),
        }
    }
}

impl<S: Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if self.to.enabled(event.metadata()) {
            self.to.event(event);
        }
    }
}

/// The registry with the leak-check layer, and the thread's previous subscriber still fed.
pub(crate) fn own_dispatch() -> Dispatch {
    let prev = tracing::dispatcher::get_default(|d| d.clone());
    let forward = if prev.is::<tracing::subscriber::NoSubscriber>() {
        None
    } else {
        Some(Forward { to: prev.clone() }.with_filter(WantedBy { to: prev }))
    };
    Dispatch::new(
        tracing_subscriber::registry()
            .with(super::layer::layer())
            .with(forward),
    )
}
