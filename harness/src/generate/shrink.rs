//! Shrinking a failure within a number of re-runs: the machinery, not the policy.
//!
//! A failing case is re-run with simpler candidates, each costing one re-run (for a valid
//! create: a create, a get and a delete), until the property's bound (`shrink_runs`) is spent.
//! The bound counts re-runs, never seconds, so a slow or rate-limited target gets the same
//! minimal input as a fast one.
//!
//! When a finding names a field of the input (its JSON pointer, `/result/organization`), the
//! input kind's [`Shrink::targeted`] shrinks that field first; otherwise its [`Shrink::generic`]
//! shrinks field by field, or, for kinds without one, proptest's own shrinking does (random
//! inputs; fixed ones are then reported as they were). What is simplest for
//! each kind of input lives with the kind (`shrinkers.rs`); here are the pieces every kind
//! shares: the bound ([`Reruns`]), what counts as the same failure ([`Signature`]), and the
//! three ways of making a sequence simpler ([`replace_whole`], [`remove_chunks`],
//! [`simplify_items`]).

use std::fmt::Debug;

use crate::model::Finding;

use super::declare::Generator;

/// What one re-run of a candidate showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rerun {
    /// It fails the way the original did: the candidate is kept.
    Fails,
    /// It passes, or fails some other way: the candidate is dropped.
    Passes,
    /// It could not be judged (transport trouble): shrinking ends.
    Stop,
}

/// Re-runs within a bound: each [`Reruns::fails`] costs one.
pub struct Reruns<'a, T> {
    limit: u32,
    used: u32,
    stopped: bool,
    run: &'a mut dyn FnMut(&T) -> Rerun,
}

impl<'a, T> Reruns<'a, T> {
    pub fn new(limit: u32, run: &'a mut dyn FnMut(&T) -> Rerun) -> Self {
        Reruns {
            limit,
            used: 0,
            stopped: false,
            run,
        }
    }

    /// Re-runs spent so far.
    pub fn used(&self) -> u32 {
        self.used
    }

    /// Whether the bound was reached (or a re-run could not be judged).
    pub fn exhausted(&self) -> bool {
        self.stopped || self.used >= self.limit
    }

    /// Whether `candidate` fails the same way; `None` when no re-run is left.
    pub fn fails(&mut self, candidate: &T) -> Option<bool> {
        if self.exhausted() {
            return None;
        }
        self.used += 1;
        match (self.run)(candidate) {
            Rerun::Fails => Some(true),
            Rerun::Passes => Some(false),
            Rerun::Stop => {
                self.stopped = true;
                None
            }
        }
    }
}

/// How an input kind is shrunk. Every method has a default: a kind without a shrinker of its
/// own is shrunk by proptest alone (random inputs) or reported as it was (fixed inputs).
pub trait Shrink: Clone + Debug {
    /// The field of this input that one of `findings` names, as [`pointer_field`] reads it,
    /// with that finding's rule: what targeted shrinking works on.
    fn named_field(
        &self,
        _generator: Generator,
        _findings: &[Finding],
    ) -> Option<(String, String)> {
        None
    }

    /// Shrinks `field` first, every other field set to its simplest value, staying in the
    /// generator's class; `None` when this kind has no targeted shrinking.
    fn targeted(
        &self,
        _generator: Generator,
        _field: &str,
        _runs: &mut Reruns<'_, Self>,
    ) -> Option<Self> {
        None
    }

    /// Shrinks when no finding names a field; `fixed`: no strategy made the input, so
    /// proptest cannot shrink it. `None` leaves a random input to proptest and reports a fixed
    /// one as it was.
    fn generic(
        &self,
        _generator: Generator,
        _fixed: bool,
        _runs: &mut Reruns<'_, Self>,
    ) -> Option<Self> {
        None
    }

    /// Whether a candidate proptest's shrinking offers is still of `self`'s class (for an
    /// invalid body: breaking the same constraint); one that is not is never sent.
    fn same_class(&self, _candidate: &Self) -> bool {
        true
    }
}

/// The field of the object a finding points into: `/result/organization` and
/// `/result/sans/3` name `organization` and `sans`; `status` or `/result` name none.
pub fn pointer_field(pointer: &str) -> Option<String> {
    let rest = pointer.strip_prefix("/result/")?;
    let segment = rest.split('/').next().filter(|s| !s.is_empty())?;
    Some(segment.replace("~1", "/").replace("~0", "~"))
}

/// What makes a re-run "the same failure": a finding of the same rule, and when the original
/// named a field, about that field. A candidate that fails some other way is not kept, or the
/// minimal input would reproduce another failure than the one reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub rule: String,
    pub field: Option<String>,
}

impl Signature {
    /// The signature of a failure of `input`: its named field's finding, else its first.
    pub fn of<T: Shrink>(input: &T, generator: Generator, findings: &[Finding]) -> Signature {
        match input.named_field(generator, findings) {
            Some((rule, field)) => Signature {
                rule,
                field: Some(field),
            },
            None => Signature {
                rule: findings.first().map(|f| f.rule.clone()).unwrap_or_default(),
                field: None,
            },
        }
    }

    pub fn matches(&self, findings: &[Finding]) -> bool {
        findings.iter().any(|f| {
            f.rule == self.rule && (self.field.is_none() || pointer_field(&f.pointer) == self.field)
        })
    }
}

/// Removes chunks of `items`, halves first, then quarters, down to single items, keeping each
/// removal after which the candidate still fails. `valid` turns candidates away unsent (they
/// would leave the generator's class). Ends early, with what was kept, when re-runs run out.
pub fn remove_chunks<E: Clone>(
    items: Vec<E>,
    valid: &dyn Fn(&[E]) -> bool,
    fails: &mut dyn FnMut(&[E]) -> Option<bool>,
) -> Vec<E> {
    let mut kept = items;
    let mut chunk = kept.len().div_ceil(2);
    while chunk >= 1 {
        let mut at = 0;
        while at < kept.len() {
            let end = (at + chunk).min(kept.len());
            let mut candidate = kept.clone();
            candidate.drain(at..end);
            if !valid(&candidate) {
                at += chunk;
                continue;
            }
            match fails(&candidate) {
                None => return kept,
                // The next chunk has moved to `at`.
                Some(true) => kept = candidate,
                Some(false) => at += chunk,
            }
        }
        if chunk == 1 {
            break;
        }
        chunk = (chunk / 2).min(kept.len().div_ceil(2)).max(1);
    }
    kept
}

/// `simplest` instead of `items` when it still fails (one re-run), else `items`.
pub fn replace_whole<E: PartialEq>(
    items: Vec<E>,
    simplest: Vec<E>,
    fails: &mut dyn FnMut(&[E]) -> Option<bool>,
) -> Vec<E> {
    if simplest != items && fails(&simplest) == Some(true) {
        simplest
    } else {
        items
    }
}

/// Replaces each item in turn with the first of `simpler(item)` after which the candidate
/// still fails (simplest first), leaving it as it is when none does.
pub fn simplify_items<E: Clone + PartialEq>(
    items: Vec<E>,
    simpler: &dyn Fn(usize, &E) -> Vec<E>,
    valid: &dyn Fn(&[E]) -> bool,
    fails: &mut dyn FnMut(&[E]) -> Option<bool>,
) -> Vec<E> {
    let mut kept = items;
    for at in 0..kept.len() {
        for s in simpler(at, &kept[at]) {
            if s == kept[at] {
                continue;
            }
            let mut candidate = kept.clone();
            candidate[at] = s;
            if !valid(&candidate) {
                continue;
            }
            match fails(&candidate) {
                None => return kept,
                Some(true) => {
                    kept = candidate;
                    break;
                }
                Some(false) => {}
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `remove_chunks` then `simplify_items` over characters, with a re-run counter.
    fn shrink_text(
        text: &str,
        limit: u32,
        fails: impl Fn(&str) -> bool,
        simpler: &dyn Fn(char) -> Vec<char>,
    ) -> (String, u32) {
        let mut used = 0;
        let mut run = |c: &[char]| {
            if used >= limit {
                return None;
            }
            used += 1;
            Some(fails(&c.iter().collect::<String>()))
        };
        let valid = |c: &[char]| c.iter().any(|c| !c.is_whitespace());
        let kept = remove_chunks(text.chars().collect(), &valid, &mut run);
        let kept = simplify_items(kept, &|_, c| simpler(*c), &valid, &mut run);
        (kept.into_iter().collect(), used)
    }

    #[test]
    fn one_character_of_a_long_value_is_found_in_a_few_re_runs() {
        let simpler = |_: char| vec!['a', '&'];
        for at in [0, 1, 17, 31, 32, 45, 63] {
            let mut text: Vec<char> = "Zq9 ,é中xY".chars().cycle().take(64).collect();
            text[at] = '!';
            let text: String = text.into_iter().collect();
            let (min, used) = shrink_text(&text, 40, |t| t.contains(['!', '&']), &simpler);
            assert_eq!(min, "&", "{text}");
            assert!(used <= 16, "{used} re-runs for the '!' at {at}");
        }
    }

    #[test]
    fn what_a_failure_needs_stays_and_the_bound_is_kept() {
        // Two characters in order.
        let needs = |t: &str| t.find('x').zip(t.rfind('y')).is_some_and(|(x, y)| x < y);
        let (min, _) = shrink_text("abxcdefgyh", 40, needs, &|_| vec!['a']);
        assert_eq!(min, "xy");
        // Out of re-runs: what was kept so far, and never more re-runs than allowed.
        let (min, used) = shrink_text(&"k!".repeat(40), 3, |t| t.contains('!'), &|_| vec![]);
        assert_eq!(used, 3);
        assert!(min.contains('!') && min.len() <= 20, "{min}");
        // A candidate that is only whitespace is never sent.
        let (min, _) = shrink_text("  \u{20}a ", 40, |t| t.contains(' '), &|_| vec![]);
        assert_eq!(min.trim(), "a");
    }

    #[test]
    fn reruns_count_and_stop() {
        let mut seen = 0;
        let mut run = |n: &u32| {
            seen += 1;
            if *n == 3 { Rerun::Stop } else { Rerun::Fails }
        };
        let mut runs = Reruns::new(10, &mut run);
        assert_eq!(runs.fails(&1), Some(true));
        assert_eq!(runs.fails(&3), None);
        assert_eq!(runs.fails(&1), None, "nothing after a stop");
        assert_eq!(runs.used(), 2);
        assert_eq!(seen, 2);
    }

    #[test]
    fn pointers_name_fields() {
        assert_eq!(
            pointer_field("/result/organization").as_deref(),
            Some("organization")
        );
        assert_eq!(pointer_field("/result/sans/3").as_deref(), Some("sans"));
        assert_eq!(pointer_field("/result/a~1b").as_deref(), Some("a/b"));
        assert_eq!(pointer_field("/result"), None);
        assert_eq!(pointer_field("status"), None);
        let f = |rule: &str, pointer: &str| Finding::new(rule, pointer, "", "", "");
        let sig = Signature {
            rule: "pem.subject".into(),
            field: Some("organization".into()),
        };
        assert!(sig.matches(&[f("pem.subject", "/result/organization")]));
        assert!(!sig.matches(&[f("pem.subject", "/result/state")]));
        assert!(!sig.matches(&[f("property.echo", "/result/organization")]));
    }
}
