//! Who may send requests to a scope at the same time. A trial holds a scope for each case
//! (or setup, or teardown), saying how it uses the scope; holds whose uses cannot disturb
//! each other run side by side, and the others wait their turn in the order they asked.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

/// How a case uses the scope it holds, which decides what may run beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Touches only CSRs it creates, and ids no CSR has (a valid create, got and deleted; a
    /// refused create; a get of a made-up id): disturbs nobody, and nothing but `Alone`
    /// disturbs it.
    Own,
    /// Lists the scope and judges every CSR listed by the schema (hand-written cases, list
    /// parameters): must not see what `Odd` leaves there for a moment.
    Lists,
    /// Makes CSRs the contract says nothing about (a 500-character locality, a country
    /// "USA") and deletes them again: never beside `Lists`.
    Odd,
    /// Judges everything the scope holds (a model-based sequence, a list walk that counts
    /// every CSR once): nothing beside it.
    Alone,
}

impl Use {
    /// Whether a hold of this use and one of `other` can be had at the same time.
    pub fn beside(self, other: Use) -> bool {
        !matches!(
            (self, other),
            (Use::Alone, _) | (_, Use::Alone) | (Use::Lists, Use::Odd) | (Use::Odd, Use::Lists)
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

const USES: [Use; 4] = [Use::Own, Use::Lists, Use::Odd, Use::Alone];

#[derive(Default)]
struct State {
    /// Holds had now, per use.
    held: [usize; 4],
    /// Holds asked for and not yet had, oldest first: (ticket, use).
    waiting: VecDeque<(u64, Use)>,
    next_ticket: u64,
}

impl State {
    /// Whether the hold with `ticket` can be had now: its use goes beside every hold had,
    /// and beside every older request still waiting (so that a stream of compatible holds
    /// cannot keep a waiting `Alone` or `Lists` out for ever).
    fn may_take(&self, ticket: u64, want: Use) -> bool {
        USES.iter()
            .all(|u| self.held[u.index()] == 0 || want.beside(*u))
            && self
                .waiting
                .iter()
                .take_while(|(t, _)| *t < ticket)
                .all(|(_, u)| want.beside(*u))
    }
}

/// One scope's holds.
#[derive(Default)]
pub struct ScopeLock {
    state: Mutex<State>,
    changed: Condvar,
}

impl ScopeLock {
    pub fn new() -> ScopeLock {
        ScopeLock::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A trial that panicked while changing the counts cannot leave them half changed
        // (each change is one statement), so a poisoned lock is still right.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a hold of `want` can be had, and has it until the hold is dropped.
    pub fn hold(&self, want: Use) -> ScopeHold<'_> {
        let mut s = self.state();
        let ticket = s.next_ticket;
        s.next_ticket += 1;
        s.waiting.push_back((ticket, want));
        while !s.may_take(ticket, want) {
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.waiting.retain(|(t, _)| *t != ticket);
        s.held[want.index()] += 1;
        drop(s);
        // Those behind this request may have been waiting only for it to be served.
        self.changed.notify_all();
        ScopeHold {
            lock: self,
            use_: want,
        }
    }
}

/// A hold on one scope (see [`ScopeLock::hold`]); let go when dropped.
pub struct ScopeHold<'a> {
    lock: &'a ScopeLock,
    use_: Use,
}

impl Drop for ScopeHold<'_> {
    fn drop(&mut self) {
        let mut s = self.lock.state();
        s.held[self.use_.index()] -= 1;
        drop(s);
        self.lock.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// Whether a hold of `want` is had within a moment while `first` is held.
    fn had_beside(first: Use, want: Use) -> bool {
        let lock = ScopeLock::new();
        let _first = lock.hold(first);
        let had = AtomicBool::new(false);
        std::thread::scope(|t| {
            let waiter = t.spawn(|| {
                let _h = lock.hold(want);
                had.store(true, Ordering::SeqCst);
            });
            std::thread::sleep(Duration::from_millis(80));
            let now = had.load(Ordering::SeqCst);
            drop(_first);
            waiter.join().unwrap();
            assert!(
                had.load(Ordering::SeqCst),
                "{want:?} never had after {first:?}"
            );
            now
        })
    }

    #[test]
    fn uses_that_cannot_disturb_each_other_go_side_by_side() {
        use Use::*;
        for (a, b, together) in [
            (Own, Own, true),
            (Own, Lists, true),
            (Own, Odd, true),
            (Lists, Lists, true),
            (Odd, Odd, true),
            (Lists, Odd, false),
            (Odd, Lists, false),
            (Alone, Own, false),
            (Own, Alone, false),
            (Alone, Alone, false),
            (Lists, Alone, false),
        ] {
            assert_eq!(a.beside(b), together, "{a:?} beside {b:?}");
            assert_eq!(had_beside(a, b), together, "{b:?} while {a:?} is held");
        }
    }

    #[test]
    fn a_waiting_hold_is_not_overtaken_by_later_ones_it_cannot_go_beside() {
        // An Odd is held; a Lists waits for it; an Odd asked later must wait behind the
        // Lists (else a stream of Odd would keep it out), while an Own still goes ahead.
        let lock = ScopeLock::new();
        let odd = lock.hold(Use::Odd);
        let lists_had = AtomicBool::new(false);
        let late_odd_had = AtomicBool::new(false);
        std::thread::scope(|t| {
            let lists = t.spawn(|| {
                let h = lock.hold(Use::Lists);
                lists_had.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(50));
                // The late Odd cannot have come in while this Lists is held.
                assert!(!late_odd_had.load(Ordering::SeqCst));
                drop(h);
            });
            std::thread::sleep(Duration::from_millis(50));
            let late = t.spawn(|| {
                let _h = lock.hold(Use::Odd);
                late_odd_had.store(true, Ordering::SeqCst);
            });
            std::thread::sleep(Duration::from_millis(50));
            assert!(
                !late_odd_had.load(Ordering::SeqCst),
                "the late Odd overtook"
            );
            let own = lock.hold(Use::Own);
            drop(own);
            assert!(!lists_had.load(Ordering::SeqCst));
            drop(odd);
            lists.join().unwrap();
            late.join().unwrap();
        });
        assert!(lists_had.load(Ordering::SeqCst) && late_odd_had.load(Ordering::SeqCst));
    }
}
