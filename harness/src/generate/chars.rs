//! Strings of weighted character classes, as one value tree per string.
//!
//! `proptest::collection::vec(char strategy, ..)` makes a value tree per character (a union
//! tree holding a lazy tree per alternative), so a body with 150 SANs and 128-character subject
//! fields cost thousands of allocations to make and to drop: at `--cases 10000` generation was
//! a sixth of the run's CPU. [`Chars`] draws the same distribution into one `Vec<char>` and
//! shrinks it the way proptest shrinks a vector of characters: it first removes characters
//! (each in turn, down to the shortest length allowed), then makes each remaining character
//! the simplest one (the first character of the first class) or else the first of its own
//! class, undoing every step that made the failure go away.

use std::ops::RangeInclusive;

use proptest::prelude::{Rng, RngExt};
use proptest::strategy::{NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// Characters drawn from: an inclusive range, or a set.
#[derive(Debug, Clone, Copy)]
pub enum Class {
    Range(char, char),
    Set(&'static [char]),
}

impl Class {
    fn pick(self, rng: &mut impl Rng) -> char {
        match self {
            Class::Range(lo, hi) => {
                // Neither range used here crosses the surrogate gap; a draw inside one would
                // fall back to `lo`.
                char::from_u32(rng.random_range(lo as u32..=hi as u32)).unwrap_or(lo)
            }
            Class::Set(set) => set[rng.random_range(0..set.len())],
        }
    }

    pub fn first(self) -> char {
        match self {
            Class::Range(lo, _) => lo,
            Class::Set(set) => set[0],
        }
    }
}

/// The first character of the first of `classes` that `c` belongs to (`c` itself if none).
pub fn first_of_class(classes: &[(u32, Class)], c: char) -> char {
    classes
        .iter()
        .map(|(_, class)| *class)
        .find(|class| match class {
            Class::Range(lo, hi) => (*lo..=*hi).contains(&c),
            Class::Set(set) => set.contains(&c),
        })
        .map_or(c, Class::first)
}

/// Between `len.start()` and `len.end()` characters, each from a class picked by weight.
#[derive(Debug, Clone)]
pub struct Chars {
    classes: &'static [(u32, Class)],
    len: RangeInclusive<usize>,
}

impl Chars {
    /// `classes` must not be empty, nor all weights 0, nor any set empty.
    pub fn new(classes: &'static [(u32, Class)], len: RangeInclusive<usize>) -> Chars {
        assert!(classes.iter().any(|(w, _)| *w > 0), "no class to draw from");
        Chars { classes, len }
    }

    fn pick(&self, rng: &mut impl Rng) -> char {
        let total: u32 = self.classes.iter().map(|(w, _)| w).sum();
        let mut at = rng.random_range(0..total);
        for (weight, class) in self.classes {
            if at < *weight {
                return class.pick(rng);
            }
            at -= weight;
        }
        self.classes[0].1.first()
    }
}

impl Strategy for Chars {
    type Tree = CharsTree;
    type Value = Vec<char>;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let rng = runner.rng();
        let len = rng.random_range(self.len.clone());
        let chars = (0..len).map(|_| self.pick(rng)).collect();
        Ok(CharsTree {
            chars,
            min_len: *self.len.start(),
            classes: self.classes,
            step: Step::Remove(0),
            undo: None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    /// Next, try without the character at this index.
    Remove(usize),
    /// Next, try the simplest character at the first index from here that is not it already.
    Simplify(usize),
    /// The simplest character did not do at this index: try the first of its own class.
    ClassFirst(usize),
}

#[derive(Debug, Clone, Copy)]
enum Undo {
    Removed(usize, char),
    /// The index, the character that was there, and whether the simplest character (not the
    /// first of its class) replaced it.
    Replaced(usize, char, bool),
}

/// The value tree of [`Chars`].
#[derive(Debug, Clone)]
pub struct CharsTree {
    chars: Vec<char>,
    min_len: usize,
    classes: &'static [(u32, Class)],
    step: Step,
    undo: Option<Undo>,
}

impl CharsTree {
    fn simplest(&self) -> char {
        self.classes[0].1.first()
    }

    fn class_first(&self, c: char) -> char {
        first_of_class(self.classes, c)
    }

    /// Makes the next simpler candidate from where the steps stand; false when there is none
    /// (the value is then the last one kept).
    fn advance(&mut self) -> bool {
        loop {
            match self.step {
                Step::Remove(i) if i < self.chars.len() && self.chars.len() > self.min_len => {
                    // Stays at `i`: if this removal is kept, the next character is at `i` now.
                    self.undo = Some(Undo::Removed(i, self.chars.remove(i)));
                    return true;
                }
                Step::Remove(_) => self.step = Step::Simplify(0),
                Step::Simplify(from) => {
                    let simplest = self.simplest();
                    let Some(i) = (from..self.chars.len()).find(|&i| self.chars[i] != simplest)
                    else {
                        self.undo = None;
                        return false;
                    };
                    self.undo = Some(Undo::Replaced(i, self.chars[i], true));
                    self.chars[i] = simplest;
                    self.step = Step::Simplify(i + 1);
                    return true;
                }
                Step::ClassFirst(i) => {
                    self.step = Step::Simplify(i + 1);
                    let first = self.class_first(self.chars[i]);
                    if first != self.chars[i] {
                        self.undo = Some(Undo::Replaced(i, self.chars[i], false));
                        self.chars[i] = first;
                        return true;
                    }
                }
            }
        }
    }
}

impl ValueTree for CharsTree {
    type Value = Vec<char>;

    fn current(&self) -> Vec<char> {
        self.chars.clone()
    }

    fn simplify(&mut self) -> bool {
        // The last candidate still failed: it is kept.
        self.undo = None;
        self.advance()
    }

    /// Puts back what the last candidate changed and goes straight on to the next candidate,
    /// so the runner never re-sends the value it already knows fails; false when there is no
    /// next one, with the value back at the last that failed.
    fn complicate(&mut self) -> bool {
        match self.undo.take() {
            None => false,
            Some(Undo::Removed(i, c)) => {
                self.chars.insert(i, c);
                self.step = Step::Remove(i + 1);
                self.advance()
            }
            Some(Undo::Replaced(i, c, simplest)) => {
                self.chars[i] = c;
                if simplest {
                    self.step = Step::ClassFirst(i);
                }
                self.advance()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::{Config, RngSeed, TestError};

    const CLASSES: &[(u32, Class)] = &[
        (6, Class::Range('a', 'z')),
        (2, Class::Range('0', '9')),
        (1, Class::Set(&['é', '中', '😀'])),
    ];

    fn runner(seed: u64) -> TestRunner {
        TestRunner::new(Config {
            rng_seed: RngSeed::Fixed(seed),
            failure_persistence: None,
            ..Config::default()
        })
    }

    #[test]
    fn draws_lengths_in_range_from_every_class_only() {
        let s = Chars::new(CLASSES, 2..=12);
        let mut r = runner(1);
        let (mut lengths, mut seen) = (std::collections::BTreeSet::new(), [false; 3]);
        for _ in 0..2000 {
            let v = s.new_tree(&mut r).unwrap().current();
            assert!((2..=12).contains(&v.len()), "{v:?}");
            lengths.insert(v.len());
            for c in v {
                let class = if c.is_ascii_lowercase() {
                    0
                } else if c.is_ascii_digit() {
                    1
                } else {
                    assert!(['é', '中', '😀'].contains(&c), "{c:?}");
                    2
                };
                seen[class] = true;
            }
        }
        assert_eq!(lengths.len(), 11, "every length drawn: {lengths:?}");
        assert_eq!(seen, [true; 3]);
    }

    #[test]
    fn the_same_seed_draws_the_same_strings() {
        let s = Chars::new(CLASSES, 0..=30);
        let draw = |seed| {
            let mut r = runner(seed);
            (0..50)
                .map(|_| s.new_tree(&mut r).unwrap().current())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    /// The minimal failing string proptest's runner shrinks to, for `fails`.
    fn minimal(min_len: usize, fails: impl Fn(&[char]) -> bool) -> String {
        let s = Chars::new(CLASSES, min_len..=40);
        let mut r = TestRunner::new(Config {
            rng_seed: RngSeed::Fixed(3),
            failure_persistence: None,
            cases: 5000,
            ..Config::default()
        });
        match r.run(&s, |v| {
            proptest::prop_assert!(!fails(&v));
            Ok(())
        }) {
            Err(TestError::Fail(_, v)) => v.into_iter().collect(),
            other => panic!("no failure found: {other:?}"),
        }
    }

    #[test]
    fn shrinks_to_the_characters_that_matter_and_no_more() {
        assert_eq!(minimal(0, |v| v.contains(&'中')), "中");
        assert_eq!(minimal(0, |v| v.len() >= 5), "aaaaa");
        // Two characters in order, with everything else gone; the digit made the class's first.
        let ordered = |v: &[char]| {
            let digit = v.iter().position(|c| c.is_ascii_digit());
            let accent = v.iter().rposition(|c| *c == 'é');
            matches!((digit, accent), (Some(d), Some(a)) if d < a)
        };
        assert_eq!(minimal(0, ordered), "0é");
        // Never shorter than allowed.
        let digit = minimal(3, |v| v.iter().any(|c| c.is_ascii_digit()));
        assert_eq!(digit.len(), 3);
        assert_eq!(digit.replace('0', ""), "aa", "{digit}");
    }

    /// Shrinks by hand as proptest's runner does, counting the values tried.
    fn shrink(tree: &mut CharsTree, fails: impl Fn(&[char]) -> bool) -> (Vec<char>, usize) {
        let mut last_failing = tree.current();
        let mut tried = 0;
        if tree.simplify() {
            loop {
                let v = tree.current();
                assert_ne!(v, last_failing, "re-tried the value known to fail");
                tried += 1;
                if fails(&v) {
                    last_failing = v;
                    if !tree.simplify() {
                        break;
                    }
                } else if !tree.complicate() {
                    break;
                }
            }
        }
        assert_eq!(
            tree.current(),
            last_failing,
            "the tree ends on the last failure"
        );
        (last_failing, tried)
    }

    #[test]
    fn ends_on_the_last_failure_and_never_retries_the_known_failure() {
        let s = Chars::new(CLASSES, 1..=20);
        let mut r = runner(11);
        for _ in 0..200 {
            let mut t = s.new_tree(&mut r).unwrap();
            let start = t.current();
            // Fails while it holds a digit: one digit is left, as '0'.
            if start.iter().any(|c| c.is_ascii_digit()) {
                let (end, tried) = shrink(&mut t, |v| v.iter().any(|c| c.is_ascii_digit()));
                assert_eq!(end, vec!['0']);
                // At most: each removal, each replacement, each class-first once.
                assert!(tried <= 3 * start.len(), "{tried} tries for {start:?}");
            }
            // Nothing fails: every candidate is undone and the start is what is left.
            let mut t = s.new_tree(&mut r).unwrap();
            let start = t.current();
            let (end, _) = shrink(&mut t, |v| v == start.as_slice());
            assert_eq!(end, start);
        }
    }
}
