//! The shrinker's shuttle scheduler: it follows a candidate schedule where it can, runs some
//! runnable task where it cannot (shuttle's own replay scheduler stops the execution when a
//! step names a task that is not runnable), and records every decision it takes, so that
//! the shrinker counts the preemptions of what actually ran, not of what it asked for.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use shuttle::scheduler::{DataSource, RandomDataSource, Schedule, Scheduler, Task, TaskId};

/// One scheduling decision of an execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Decision {
    /// The task that ran last (`None` before the first step).
    pub current: Option<usize>,
    /// How many steps `current` had taken before this decision: with `current`, it names the
    /// point of that task's own code where the decision happens, whatever the other tasks did.
    pub local: usize,
    /// The tasks that could run.
    pub runnable: Vec<usize>,
    /// Whether `current` asked to yield (a switch away from it is then no preemption).
    pub yielding: bool,
    /// The task that ran.
    pub chosen: usize,
}

impl Decision {
    /// A switch away from a task that could have continued: a preemption.
    pub fn is_preemption(&self) -> bool {
        match self.current {
            Some(c) => c != self.chosen && !self.yielding && self.runnable.contains(&c),
            None => false,
        }
    }

    /// Any switch to another task (a preemption, or a switch away from a task that blocked,
    /// finished or yielded).
    pub fn is_switch(&self) -> bool {
        self.current.is_some_and(|c| c != self.chosen)
    }

    /// The point of the running task's code where this decision happens.
    fn key(&self) -> Option<(usize, usize)> {
        self.current.map(|c| (c, self.local))
    }
}

/// How many preemptions and context switches an execution's decisions hold.
pub(super) fn count(trace: &[Decision]) -> (usize, usize) {
    let preemptions = trace.iter().filter(|d| d.is_preemption()).count();
    let switches = trace.iter().filter(|d| d.is_switch()).count();
    (preemptions, switches)
}

/// What the scheduler follows.
#[derive(Clone, Debug)]
pub(super) enum Plan {
    /// These tasks, one per decision, in order: a recorded schedule's task steps.
    Steps(Vec<usize>),
    /// Keep the running task running unless a switch says otherwise.
    Switches(Switches),
}

/// Where the running task hands over: at the point of a task's code (the task and how many
/// steps it has taken), the task to run instead.
#[derive(Clone, Debug, Default)]
pub(super) struct Switches {
    /// The task to run first.
    first: Option<usize>,
    /// (task, its steps so far) -> the task to switch to, and whether the switch is a
    /// preemption.
    at: HashMap<(usize, usize), (usize, bool)>,
}

impl Switches {
    /// The switches of a recorded execution, without the decisions whose index is in `drop`.
    pub fn of(trace: &[Decision], drop: &HashSet<usize>) -> Switches {
        let mut s = Switches {
            first: trace.first().map(|d| d.chosen),
            at: HashMap::new(),
        };
        for (i, d) in trace.iter().enumerate() {
            // A yielding task that went on is kept too: without a switch the scheduler runs
            // another task when the running one yields.
            if (d.is_switch() || d.yielding) && !drop.contains(&i) {
                if let Some(key) = d.key() {
                    s.at.insert(key, (d.chosen, d.is_preemption()));
                }
            }
        }
        s
    }

    /// The canonical schedule of a recorded execution: the same first task, no switch of
    /// its own (the running task goes on while it can; when it cannot, the lowest other
    /// runnable task runs).
    pub fn canonical(trace: &[Decision]) -> Switches {
        Switches {
            first: trace.first().map(|d| d.chosen),
            at: HashMap::new(),
        }
    }

    /// Adds a preemption where `at` was decided: the task running there hands over to `to`
    /// at that point of its own code.
    pub fn preempt(&mut self, at: &Decision, to: usize) {
        if let Some(key) = at.key() {
            self.at.insert(key, (to, true));
        }
    }
}

/// A shuttle scheduler that follows a [`Plan`] for one execution and records its decisions.
pub(super) struct Guided {
    plan: Plan,
    seed: u64,
    data: RandomDataSource,
    started: bool,
    /// Steps taken by each task so far.
    steps: HashMap<usize, usize>,
    trace: Arc<Mutex<Vec<Decision>>>,
}

impl Guided {
    /// A scheduler for one execution along `plan`, whose random values come from `seed` (the
    /// seed of the schedule being shrunk, so that a recorded schedule replays with shuttle's
    /// own replay scheduler); the decisions it takes go to `trace`.
    pub fn new(plan: Plan, seed: u64, trace: Arc<Mutex<Vec<Decision>>>) -> Guided {
        Guided {
            plan,
            seed,
            data: RandomDataSource::initialize(seed),
            started: false,
            steps: HashMap::new(),
            trace,
        }
    }

    fn pick(&self, runnable: &[usize], current: Option<usize>, yielding: bool) -> usize {
        let can_run = |t: usize| runnable.contains(&t);
        let current_can_go_on = current.filter(|c| can_run(*c) && !yielding);
        let wanted = match &self.plan {
            Plan::Steps(steps) => {
                let at = self.trace.lock().unwrap_or_else(|e| e.into_inner()).len();
                steps.get(at).copied()
            }
            Plan::Switches(s) => match current {
                None => s.first,
                Some(c) => match s.at.get(&(c, self.steps.get(&c).copied().unwrap_or(0))) {
                    // A switch that was no preemption where it was recorded (the task had
                    // blocked or yielded) must not become one here: the task goes on.
                    Some((_, false)) if current_can_go_on.is_some() => current_can_go_on,
                    Some((to, _)) => Some(*to),
                    // No switch here: the running task goes on if it can.
                    None => current_can_go_on,
                },
            },
        };
        if let Some(t) = wanted.filter(|t| can_run(*t)) {
            return t;
        }
        // The plan names a task that cannot run (or nothing): never add a preemption, and
        // never spin on a task that yields while another could run.
        if let Some(c) = current_can_go_on {
            return c;
        }
        runnable
            .iter()
            .copied()
            .find(|t| Some(*t) != current)
            .unwrap_or(runnable[0])
    }
}

impl Scheduler for Guided {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.started {
            return None;
        }
        self.started = true;
        // The schedule records this seed, and shuttle's replay scheduler draws the random
        // values from it in the same order.
        self.data = RandomDataSource::initialize(self.seed);
        Some(Schedule::new(self.data.reinitialize()))
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let ids: Vec<usize> = runnable.iter().map(|t| usize::from(t.id())).collect();
        let current = current.map(usize::from);
        let chosen = self.pick(&ids, current, is_yielding);
        let local = current
            .map(|c| self.steps.get(&c).copied().unwrap_or(0))
            .unwrap_or(0);
        *self.steps.entry(chosen).or_insert(0) += 1;
        self.trace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Decision {
                current,
                local,
                runnable: ids,
                yielding: is_yielding,
                chosen,
            });
        Some(TaskId::from(chosen))
    }

    fn next_u64(&mut self) -> u64 {
        self.data.next_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(current: Option<usize>, local: usize, runnable: &[usize], chosen: usize) -> Decision {
        Decision {
            current,
            local,
            runnable: runnable.to_vec(),
            yielding: false,
            chosen,
        }
    }

    #[test]
    fn a_switch_away_from_a_runnable_task_is_a_preemption_and_others_are_not() {
        assert!(d(Some(0), 3, &[0, 1], 1).is_preemption());
        // task 0 blocked: switching is forced
        assert!(!d(Some(0), 3, &[1], 1).is_preemption());
        assert!(d(Some(0), 3, &[1], 1).is_switch());
        // going on is no switch at all
        assert!(!d(Some(0), 3, &[0, 1], 0).is_switch());
        // a yielding task asked for the switch
        let mut y = d(Some(0), 3, &[0, 1], 1);
        y.yielding = true;
        assert!(!y.is_preemption() && y.is_switch());
        // the first step is neither
        assert!(!d(None, 0, &[0], 0).is_switch());
        let trace = [
            d(None, 0, &[0], 0),
            d(Some(0), 1, &[0, 1], 1),
            d(Some(1), 1, &[1], 1),
            d(Some(1), 2, &[0], 0),
        ];
        assert_eq!(count(&trace), (1, 2));
    }

    #[test]
    fn switches_are_keyed_by_the_running_task_and_its_own_steps() {
        let trace = [
            d(None, 0, &[0], 0),
            d(Some(0), 1, &[0, 1], 1),
            d(Some(1), 1, &[0, 1], 1),
            d(Some(1), 2, &[0], 0),
        ];
        let all = Switches::of(&trace, &HashSet::new());
        assert_eq!(all.first, Some(0));
        assert_eq!(all.at.get(&(0, 1)), Some(&(1, true)));
        assert_eq!(all.at.get(&(1, 2)), Some(&(0, false)));
        assert_eq!(all.at.len(), 2);
        let without_preemption = Switches::of(&trace, &[1].into_iter().collect());
        assert_eq!(without_preemption.at.get(&(0, 1)), None);
        assert_eq!(without_preemption.at.len(), 1);
    }

    #[test]
    fn the_guided_scheduler_never_preempts_without_a_switch_and_never_picks_a_blocked_task() {
        let trace = Arc::new(Mutex::new(Vec::new()));
        let g = Guided::new(Plan::Switches(Switches::default()), 1, trace.clone());
        // task 0 and 1 runnable, 0 running: it goes on
        assert_eq!(g.pick(&[0, 1], Some(0), false), 0);
        // 0 yields: another task runs
        assert_eq!(g.pick(&[0, 1], Some(0), true), 1);
        // 0 blocked: some runnable task runs
        assert_eq!(g.pick(&[1, 2], Some(0), false), 1);
        // a plan of steps naming a task that cannot run: the running task goes on
        let g = Guided::new(Plan::Steps(vec![2]), 1, trace.clone());
        assert_eq!(g.pick(&[0, 1], Some(1), false), 1);
        // a switch recorded where task 0 had blocked is no preemption where 0 can go on
        let recorded = [d(None, 0, &[0], 0), d(Some(0), 1, &[1], 1)];
        let plan = Plan::Switches(Switches::of(&recorded, &HashSet::new()));
        let mut g = Guided::new(plan, 1, trace);
        g.steps.insert(0, 1);
        assert_eq!(g.pick(&[0, 1], Some(0), false), 0);
        assert_eq!(g.pick(&[1], Some(0), false), 1);
    }
}
