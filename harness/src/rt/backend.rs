//! Backend dispatch: the one module that knows loom, shuttle and tokio exist.
//!
//! Every primitive asks [`current`] which backend the running execution uses and builds
//! its loom, shuttle or std/tokio form through the helpers here. Outside any checker
//! (production code on a plain tokio runtime) the backend is tokio and tracking is off.

use std::cell::Cell;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use super::exec;

/// The runtime an execution runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    /// loom's exhaustive model checker (one loom thread per task).
    Loom,
    /// shuttle's randomised scheduler (random or PCT).
    Shuttle,
    /// A real multi-thread tokio runtime, std synchronisation.
    Tokio,
}

/// The backend of the execution running on this thread (tokio outside any checker).
pub(crate) fn current() -> Backend {
    exec::with_current(|e| e.map(|e| e.backend)).unwrap_or(Backend::Tokio)
}

/// A mutual-exclusion lock whose acquisition is a scheduling point under loom and shuttle.
///
/// Every harness primitive keeps its shared state behind one of these, so the model
/// checkers explore the interleavings of the primitives' operations.
///
/// Shuttle's mutex is boxed: it keeps its scheduler state inline (176 bytes beside the
/// value), and a variant that size would make every lock as big, on tokio too, where each
/// task's handle state holds one (a task's bookkeeping went from 296 to 144 bytes).
pub(crate) enum Lock<T> {
    Std(std::sync::Mutex<T>),
    Loom(loom::sync::Mutex<T>),
    Shuttle(Box<shuttle::sync::Mutex<T>>),
    /// Under shuttle, a lock never held across a scheduling point (see [`Lock::new_leaf`]):
    /// one scheduling point, then a std mutex that is never contended.
    ShuttleLeaf(std::sync::Mutex<T>),
    /// Under loom, a lock never held across a scheduling point (see [`Lock::new_leaf`]): one
    /// read-modify-write of a loom atomic (the scheduling point, and the release/acquire
    /// edge that loom's causality checks see), then a std mutex that is never contended.
    /// Unlike loom's mutex it can also be entered without a scheduling point
    /// ([`Lock::quiet`]).
    LoomLeaf(loom::sync::atomic::AtomicUsize, std::sync::Mutex<T>),
}

/// The guard of a [`Lock`].
pub(crate) enum LockGuard<'a, T> {
    Std(std::sync::MutexGuard<'a, T>),
    Loom(loom::sync::MutexGuard<'a, T>),
    Shuttle(shuttle::sync::MutexGuard<'a, T>),
}

impl<T> Lock<T> {
    /// A lock of the current backend's kind.
    pub(crate) fn new(value: T) -> Self {
        match current() {
            Backend::Loom => Lock::Loom(loom::sync::Mutex::new(value)),
            Backend::Shuttle => Lock::Shuttle(Box::new(shuttle::sync::Mutex::new(value))),
            Backend::Tokio => Lock::Std(std::sync::Mutex::new(value)),
        }
    }

    /// A lock of the current backend's kind for state that no task ever holds across a
    /// scheduling point (its critical sections take no other harness lock, touch no backend
    /// atomic, never yield). Under shuttle, acquiring it is one scheduling point and nothing
    /// else: shuttle's own mutex adds a second one at every release and costs a semaphore
    /// each way, and, uncontended by construction, it would explore nothing more. Under loom
    /// it is one atomic step (see [`Lock::LoomLeaf`]), and it can be entered quietly.
    pub(crate) fn new_leaf(value: T) -> Self {
        match current() {
            Backend::Shuttle => Lock::ShuttleLeaf(std::sync::Mutex::new(value)),
            Backend::Loom => Lock::LoomLeaf(
                loom::sync::atomic::AtomicUsize::new(0),
                std::sync::Mutex::new(value),
            ),
            Backend::Tokio => Lock::new(value),
        }
    }

    /// A leaf lock under shuttle (see [`new_leaf`](Lock::new_leaf)) and loom's own mutex
    /// under loom: for state whose operations are many per task (tokio's channels and
    /// semaphores, ported tests doing hundreds of `try_recv`s in one task), where a loom
    /// atomic step per operation would run into loom's branch limit while its mutex does
    /// not, and the shuttle saving is wanted all the same.
    pub(crate) fn new_shuttle_leaf(value: T) -> Self {
        match current() {
            Backend::Shuttle => Lock::ShuttleLeaf(std::sync::Mutex::new(value)),
            Backend::Loom | Backend::Tokio => Lock::new(value),
        }
    }

    /// Under loom, enters a leaf lock *without* a scheduling point; `None` on every other
    /// lock (the caller then takes [`lock`](Lock::lock)).
    ///
    /// Only for a critical section that no other task can tell apart from not having run
    /// yet or having run already: one that changes nothing another task's operation reads
    /// (a sender count that stays above zero), or that reads only what is final once seen
    /// (a value handed to this task, which its hand-over woke it for). loom then need not
    /// interleave it with anything, and every model it explores gets smaller. On shuttle
    /// and tokio every acquisition stays as it was (shuttle's schedules, and the replay
    /// tokens that encode them, do not change).
    #[inline]
    pub(crate) fn quiet(&self) -> Option<LockGuard<'_, T>> {
        match self {
            Lock::LoomLeaf(_, m) => {
                Some(LockGuard::Std(m.lock().unwrap_or_else(|e| e.into_inner())))
            }
            _ => None,
        }
    }

    /// Acquires the lock (a scheduling point under the model checkers).
    #[inline]
    pub(crate) fn lock(&self) -> LockGuard<'_, T> {
        match self {
            Lock::Std(m) => LockGuard::Std(m.lock().unwrap_or_else(|e| e.into_inner())),
            Lock::ShuttleLeaf(m) => {
                shuttle_engine::runtime::thread::continuation::switch();
                LockGuard::Std(m.lock().unwrap_or_else(|e| e.into_inner()))
            }
            Lock::Loom(m) => LockGuard::Loom(m.lock().unwrap_or_else(|e| e.into_inner())),
            Lock::LoomLeaf(point, m) => {
                // SeqCst, as loom's own mutex is: its acquisitions join the SeqCst order.
                point.fetch_add(1, Ordering::SeqCst);
                LockGuard::Std(m.lock().unwrap_or_else(|e| e.into_inner()))
            }
            Lock::Shuttle(m) => LockGuard::Shuttle(m.lock().unwrap_or_else(|e| e.into_inner())),
        }
    }

    /// Acquires the lock from a destructor, or returns `None` when the model checker's
    /// execution is being torn down and calling into it would panic inside a `Drop`.
    pub(crate) fn lock_in_drop(&self) -> Option<LockGuard<'_, T>> {
        match self {
            Lock::Std(_) => Some(self.lock()),
            Lock::Loom(_) | Lock::LoomLeaf(..) | Lock::Shuttle(_) | Lock::ShuttleLeaf(_) => {
                if std::thread::panicking() || !exec::is_live() {
                    None
                } else {
                    Some(self.lock())
                }
            }
        }
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            LockGuard::Std(g) => g,
            LockGuard::Loom(g) => g,
            LockGuard::Shuttle(g) => g,
        }
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match self {
            LockGuard::Std(g) => g,
            LockGuard::Loom(g) => g,
            LockGuard::Shuttle(g) => g,
        }
    }
}

/// What `spawn_raw` hands back: tokio's handle where there is one (for `abort`).
pub(crate) type RawHandle = Option<tokio::task::JoinHandle<()>>;

/// Starts `future` as a new task of the current backend, detached.
pub(crate) fn spawn_raw<F>(task_id: u64, future: F) -> RawHandle
where
    F: Future<Output = ()> + Send + 'static,
{
    match current() {
        Backend::Loom => {
            // Virtual time stands still until the new task has started.
            super::clock::task_spawned();
            loom::thread::spawn(move || {
                set_task_id(Backend::Loom, task_id);
                super::clock::task_started();
                loom_block_on(future)
            });
            None
        }
        Backend::Shuttle => {
            // Dropping shuttle's handle detaches the task; completion goes through ours.
            super::clock::task_spawned();
            drop(shuttle::future::spawn(async move {
                set_task_id(Backend::Shuttle, task_id);
                super::clock::task_started();
                counted(future).await
            }));
            None
        }
        Backend::Tokio => {
            // The tokio checker's spawn hook reads the flag to tell leakproof's tasks from
            // untracked ones (see `check/untracked.rs`).
            struct Reset;
            impl Drop for Reset {
                fn drop(&mut self) {
                    SPAWNING.with(|s| s.set(false));
                }
            }
            SPAWNING.with(|s| s.set(true));
            let _reset = Reset;
            Some(tokio::spawn(TOKIO_TASK.scope(task_id, future)))
        }
    }
}

thread_local! {
    /// Set while `spawn_raw` is inside `tokio::spawn`.
    static SPAWNING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is inside `spawn_raw`'s `tokio::spawn`: the task being spawned is
/// leakproof's own (read by the tokio checker's spawn hook).
#[cfg_attr(not(tokio_unstable), allow(dead_code))]
pub(crate) fn spawning_tracked() -> bool {
    SPAWNING.with(Cell::get)
}

/// Runs `future` to completion on the calling loom thread or shuttle task.
pub(crate) fn block_on<F: Future>(backend: Backend, future: F) -> F::Output {
    match backend {
        Backend::Loom => loom_block_on(future),
        Backend::Shuttle => shuttle::future::block_on(counted(future)),
        Backend::Tokio => unreachable!("tokio executions are driven by their runtime"),
    }
}

/// Wakes a loom thread: notes the wake-up, then unparks the thread.
///
/// The note is what counts: loom keeps an unpark that arrives while the thread runs only
/// until the thread blocks on a contended loom lock (acquiring the lock resets the thread's
/// state), so a task woken just before it takes a channel lock would park and never wake.
struct LoomUnparker {
    thread: loom::thread::Thread,
    /// Set by a wake, cleared by the thread before each poll (a std atomic: loom runs one
    /// thread at a time, and this is bookkeeping, not a modelled access).
    notified: std::sync::atomic::AtomicBool,
}

impl std::task::Wake for LoomUnparker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.notified.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// Drives a future on the current loom thread, parking it while the future is pending and
/// no wake-up arrived since the poll began.
///
/// Unlike `loom::future::block_on`, it holds no loom object of its own: when loom detects
/// a deadlock in this thread and unwinds it, nothing here calls back into loom from a
/// destructor (which would abort the process).
fn loom_block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let unparker = std::sync::Arc::new(LoomUnparker {
        thread: loom::thread::current(),
        notified: std::sync::atomic::AtomicBool::new(false),
    });
    let waker = Waker::from(unparker.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        unparker.notified.store(false, Ordering::SeqCst);
        if let Poll::Ready(v) = super::clock::counted_poll(|| future.as_mut().poll(&mut cx)) {
            return v;
        }
        if !unparker.notified.swap(false, Ordering::SeqCst) {
            loom::thread::park();
        }
    }
}

/// Reports every poll of a shuttle task to the execution's virtual clock.
async fn counted<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| super::clock::counted_poll(|| future.as_mut().poll(cx))).await
}

/// A scheduling point: lets the model checker run another task here. On tokio the task
/// goes to the back of its worker's queue, so that tasks it spawned get to run (a task that
/// just woke itself would run again at once, ahead of them).
pub(crate) async fn yield_now() {
    match current() {
        // loom treats an explicit yield as a hint that the thread spins: it runs others first.
        Backend::Loom => loom::thread::yield_now(),
        Backend::Shuttle => shuttle::thread::yield_now(),
        Backend::Tokio => tokio::task::yield_now().await,
    }
}

/// Whether a shuttle execution runs on this thread (its state is set, borrowed or not).
///
/// Safe to call anywhere, a panic hook included: it never panics and never schedules.
pub(crate) fn in_shuttle_execution() -> bool {
    use shuttle_engine::runtime::execution::{ExecutionState, ExecutionStateBorrowError};
    !matches!(
        ExecutionState::try_with(|_| ()),
        Err(ExecutionStateBorrowError::NotSet)
    )
}

/// A random number from the checker's random source: shuttle's (so that a replay token
/// reproduces every choice), the execution's seeded generator on tokio, and under loom a
/// deterministic sequence per execution (loom explores interleavings, not random draws).
pub(crate) fn random_u64() -> u64 {
    match current() {
        Backend::Shuttle => shuttle::rand::RngCore::next_u64(&mut shuttle::rand::thread_rng()),
        Backend::Loom | Backend::Tokio => {
            static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            let step = |x: u64| {
                x.wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407)
            };
            let prev = exec::with_current(|e| match e {
                Some(e) => e
                    .rng
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x))),
                None => {
                    FALLBACK.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
                }
            })
            .unwrap_or_default();
            // splitmix64 of the state, so that low bits are as random as high ones.
            let mut z = step(prev);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
            z ^ (z >> 31)
        }
    }
}

/// Task id meaning "not inside a harness task".
pub(crate) const NO_TASK: u64 = u64::MAX;

loom::thread_local! {
    static LOOM_TASK: Cell<u64> = Cell::new(NO_TASK);
}
tokio::task_local! {
    static TOKIO_TASK: u64;
}

/// Records which harness task the current loom thread or shuttle task runs.
pub(crate) fn set_task_id(backend: Backend, id: u64) {
    match backend {
        Backend::Loom => LOOM_TASK.with(|t| t.set(id)),
        // Kept by the execution, by shuttle's task id (see `Exec::set_shuttle_task`).
        Backend::Shuttle => {
            let me = usize::from(shuttle::current::me());
            exec::with_current(|e| {
                e.expect("a shuttle task runs inside an execution")
                    .set_shuttle_task(me, id)
            });
        }
        Backend::Tokio => unreachable!("tokio task ids are scoped with `scope_task`"),
    }
}

/// Wraps a future so that it runs as harness task `id` on tokio.
pub(crate) fn scope_task<F: Future>(id: u64, future: F) -> impl Future<Output = F::Output> {
    TOKIO_TASK.scope(id, future)
}

/// The harness id of the task running now, if any.
pub(crate) fn current_task_id() -> u64 {
    exec::with_current(|e| match e.map(|e| (e.backend, e)) {
        Some((Backend::Loom, _)) => LOOM_TASK.try_with(|t| t.get()).unwrap_or(NO_TASK),
        Some((Backend::Shuttle, e)) => shuttle::current::try_get_current_task()
            .map_or(NO_TASK, |me| e.shuttle_task(usize::from(me))),
        Some((Backend::Tokio, _)) | None => TOKIO_TASK.try_with(|t| *t).unwrap_or(NO_TASK),
    })
}

/// Runs `$body` with `$a` bound to whichever backend atomic `$self` holds.
macro_rules! each_atomic {
    ($self:expr, $a:ident => $body:expr) => {
        match $self {
            Self::Std($a) => $body,
            Self::Loom($a) => $body,
            Self::Shuttle($a) => $body,
        }
    };
}

/// Declares an atomic of the current backend's kind: std's on tokio (and outside any
/// checker), loom's under loom (which explores interleavings and weak-memory outcomes of
/// every access), shuttle's under shuttle (each access a scheduling point).
macro_rules! backend_atomic {
    ($name:ident, $t:ty, [$($rmw:ident),*]) => {
        pub(crate) enum $name {
            Std(std::sync::atomic::$name),
            Loom(loom::sync::atomic::$name),
            Shuttle(shuttle::sync::atomic::$name),
        }

        impl $name {
            #[track_caller]
            pub(crate) fn new(v: $t) -> Self {
                match current() {
                    Backend::Loom => Self::Loom(loom::sync::atomic::$name::new(v)),
                    Backend::Shuttle => Self::Shuttle(shuttle::sync::atomic::$name::new(v)),
                    Backend::Tokio => Self::Std(std::sync::atomic::$name::new(v)),
                }
            }

            #[track_caller]
            pub(crate) fn load(&self, order: Ordering) -> $t {
                each_atomic!(self, a => a.load(order))
            }

            #[track_caller]
            pub(crate) fn store(&self, v: $t, order: Ordering) {
                each_atomic!(self, a => a.store(v, order))
            }

            #[track_caller]
            pub(crate) fn swap(&self, v: $t, order: Ordering) -> $t {
                each_atomic!(self, a => a.swap(v, order))
            }

            #[track_caller]
            pub(crate) fn compare_exchange(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                each_atomic!(self, a => a.compare_exchange(current, new, success, failure))
            }

            #[track_caller]
            pub(crate) fn compare_exchange_weak(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                each_atomic!(self, a => a.compare_exchange_weak(current, new, success, failure))
            }

            #[track_caller]
            pub(crate) fn fetch_update(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                f: impl FnMut($t) -> Option<$t>,
            ) -> Result<$t, $t> {
                each_atomic!(self, a => a.fetch_update(set_order, fetch_order, f))
            }

            $(
                #[track_caller]
                pub(crate) fn $rmw(&self, v: $t, order: Ordering) -> $t {
                    each_atomic!(self, a => a.$rmw(v, order))
                }
            )*

            #[track_caller]
            pub(crate) fn into_inner(self) -> $t {
                each_atomic!(self, a => a.into_inner())
            }
        }
    };
}

backend_atomic!(
    AtomicBool,
    bool,
    [fetch_and, fetch_nand, fetch_or, fetch_xor]
);
backend_atomic!(
    AtomicUsize,
    usize,
    [fetch_add, fetch_sub, fetch_and, fetch_nand, fetch_or, fetch_xor, fetch_max, fetch_min]
);
backend_atomic!(
    AtomicU64,
    u64,
    [fetch_add, fetch_sub, fetch_and, fetch_nand, fetch_or, fetch_xor, fetch_max, fetch_min]
);
backend_atomic!(
    AtomicI64,
    i64,
    [fetch_add, fetch_sub, fetch_and, fetch_nand, fetch_or, fetch_xor, fetch_max, fetch_min]
);

/// Whether tasks of the current backend really run in parallel (tokio), rather than one at
/// a time with switches only at scheduling points (loom, shuttle).
pub(crate) fn is_parallel() -> bool {
    current() == Backend::Tokio
}

/// The memory of a `RaceCell`: loom's `UnsafeCell` under loom, so that loom's own causality
/// check sees every access too, and std's elsewhere.
pub(crate) enum RawCell<T> {
    Std(std::cell::UnsafeCell<T>),
    Loom(loom::cell::UnsafeCell<T>),
}

impl<T> RawCell<T> {
    /// A cell of the current backend's kind.
    pub(crate) fn new(value: T) -> Self {
        match current() {
            Backend::Loom => RawCell::Loom(loom::cell::UnsafeCell::new(value)),
            Backend::Shuttle | Backend::Tokio => RawCell::Std(std::cell::UnsafeCell::new(value)),
        }
    }

    /// Reads through a pointer to the value (loom checks the read's causality).
    ///
    /// The caller guarantees that no write to the value runs at the same time.
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        match self {
            RawCell::Std(c) => f(c.get()),
            RawCell::Loom(c) => c.with(f),
        }
    }

    /// Writes through a pointer to the value (loom checks the write's causality).
    ///
    /// The caller guarantees that no other access to the value runs at the same time.
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        match self {
            RawCell::Std(c) => f(c.get()),
            RawCell::Loom(c) => c.with_mut(f),
        }
    }

    /// Consumes the cell and returns the value.
    pub(crate) fn into_inner(self) -> T {
        match self {
            RawCell::Std(c) => c.into_inner(),
            RawCell::Loom(c) => c.into_inner(),
        }
    }
}

/// The shuttle configuration every leakproof runner uses.
pub(crate) fn shuttle_config() -> shuttle::Config {
    let mut config = shuttle::Config::new();
    // leakproof reports the schedule itself, as a replay token.
    config.failure_persistence = shuttle::FailurePersistence::None;
    config.silence_warnings = true;
    config
}
