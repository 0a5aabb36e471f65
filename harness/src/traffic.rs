//! The run's traffic as it happens: which trial the calling thread runs, and the observers
//! that see every exchange the executor completes (drift notices, the HAR file). Observers see
//! each answer once, as it arrives, and keep what they need; nothing here stores traffic.

use std::cell::RefCell;
use std::sync::{Arc, RwLock};

use crate::model::Exchange;

thread_local! {
    static CURRENT_TRIAL: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// Runs `f` as trial `name`: exchanges it sends and rules it verifies are attributed to it.
pub fn in_trial<R>(name: &str, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT_TRIAL.with(|c| c.replace(Some(Arc::from(name))));
    struct Restore(Option<Arc<str>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT_TRIAL.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    f()
}

/// The trial the calling thread runs, if any.
pub fn current_trial() -> Option<Arc<str>> {
    CURRENT_TRIAL.with(|c| c.borrow().clone())
}

/// Something that sees every completed exchange of the run.
pub trait Observer: Send + Sync {
    /// `trial` is the trial that sent it, when known (cleanup sends outside any trial).
    fn exchange(&self, trial: Option<&str>, ex: &Exchange);
}

/// The observers of a run, shared by the session and its executor.
#[derive(Default)]
pub struct Traffic {
    observers: RwLock<Vec<Arc<dyn Observer>>>,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.observers.read().map(|o| o.len()).unwrap_or(0);
        write!(f, "Traffic({n} observers)")
    }
}

impl Traffic {
    pub fn add(&self, observer: Arc<dyn Observer>) {
        self.observers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(observer);
    }

    /// Hands `ex` to every observer.
    pub fn observe(&self, trial: Option<&str>, ex: &Exchange) {
        let observers = self.observers.read().unwrap_or_else(|e| e.into_inner());
        for o in observers.iter() {
            o.exchange(trial, ex);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn the_trial_is_the_callers_and_is_restored() {
        assert_eq!(current_trial(), None);
        in_trial("a", || {
            assert_eq!(current_trial().as_deref(), Some("a"));
            in_trial("b", || assert_eq!(current_trial().as_deref(), Some("b")));
            assert_eq!(current_trial().as_deref(), Some("a"));
        });
        assert_eq!(current_trial(), None);
    }

    #[derive(Default)]
    struct Seen(Mutex<Vec<(Option<String>, u16)>>);
    impl Observer for Seen {
        fn exchange(&self, trial: Option<&str>, ex: &Exchange) {
            self.0
                .lock()
                .unwrap()
                .push((trial.map(String::from), ex.response.status));
        }
    }

    #[test]
    fn observers_see_each_exchange() {
        let t = Traffic::default();
        let seen = Arc::new(Seen::default());
        t.add(seen.clone());
        let ex = crate::model::canned_exchange(
            crate::model::Request::new("GET", "/x"),
            404,
            None,
            "",
            1,
        );
        t.observe(Some("t"), &ex);
        t.observe(None, &ex);
        assert_eq!(
            *seen.0.lock().unwrap(),
            vec![(Some("t".into()), 404), (None, 404)]
        );
    }
}
