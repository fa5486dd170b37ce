//! Button work, one way for every button: a Leptos `Action` whose input is the work itself (a
//! boxed future). One `Action` type for the whole app keeps its cost in the first load to one
//! copy; `pending()` is the busy flag and `problem()` the last failure, which
//! [`crate::components::problem_view`] shows.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use leptos::prelude::*;

use crate::api::Problem;

type Work = Pin<Box<dyn Future<Output = Result<(), Problem>>>>;

/// The work of one click, taken out when the action runs it.
#[derive(Clone)]
pub struct Job(Rc<RefCell<Option<Work>>>);

/// What a button runs: at most one failure is kept, the last.
#[derive(Clone, Copy)]
pub struct Task {
    action: Action<Job, Option<Problem>>,
}

impl Default for Task {
    fn default() -> Self {
        Self::new()
    }
}

impl Task {
    /// A task owned by the current component.
    pub fn new() -> Self {
        Self {
            action: Action::new_local(|job: &Job| {
                let work = job.0.borrow_mut().take();
                async move {
                    match work {
                        Some(work) => work.await.err(),
                        None => None,
                    }
                }
            }),
        }
    }

    /// Runs `work`; its `Err` becomes [`Task::problem`], an `Ok` clears it.
    pub fn run(&self, work: impl Future<Output = Result<(), Problem>> + 'static) {
        self.action
            .dispatch_local(Job(Rc::new(RefCell::new(Some(Box::pin(work))))));
    }

    /// Shows `problem` without running anything (a check that failed before any work).
    pub fn fail(&self, problem: Problem) {
        self.run(async move { Err(problem) });
    }

    /// True while the work runs (the busy flag of the button).
    pub fn pending(&self) -> bool {
        self.action.pending().get()
    }

    /// The last run's failure, if it failed; none while a new run is under way.
    pub fn problem(&self) -> Option<Problem> {
        if self.pending() {
            return None;
        }
        self.action.value().get().flatten()
    }
}
