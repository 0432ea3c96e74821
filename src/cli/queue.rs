//! The work queue `check` and `corpus` share: items taken in order by `jobs` scoped threads,
//! results returned in the items' order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `f` on every item with at most `jobs` threads at once (at least one); the results come
/// back in the order of `items`, whatever order the threads finished them in.
pub fn run<T: Sync, R: Send>(
    jobs: usize,
    items: &[T],
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else {
                    break;
                };
                let r = f(i, item);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every item was run"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::run;

    #[test]
    fn results_keep_the_items_order_whatever_the_jobs() {
        let items: Vec<u64> = (0..50).collect();
        for jobs in [0, 1, 3, 64] {
            let out = run(jobs, &items, |i, x| {
                // Later items finish first.
                std::thread::sleep(std::time::Duration::from_micros(50 - *x));
                (i, x * x)
            });
            assert_eq!(
                out,
                items
                    .iter()
                    .map(|x| (*x as usize, x * x))
                    .collect::<Vec<_>>()
            );
        }
        assert!(run(2, &[] as &[u8], |_, _| ()).is_empty());
    }
}
