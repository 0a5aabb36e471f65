//! `--partition count:K/N` and `hash:K/N`: which trials one machine of a CI matrix runs, as
//! cargo-nextest splits tests. The unit of splitting is a case in a scope with its check-family
//! trials, so a case's requests are made on one shard only; each shard creates the fixtures
//! its cases need. Shards are chosen after the name filter (`FILTER`, `--skip`, `--exact`), so
//! `count:` shards stay even when a filter is given.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// The K-th of every N units, in trial order.
    Count,
    /// Units whose name hashes to K modulo N: stable when cases are added elsewhere.
    Hash,
}

/// Shard `shard` (1-based) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub scheme: Scheme,
    pub shard: u64,
    pub total: u64,
}

impl Partition {
    /// Parses `count:K/N` or `hash:K/N`, 1 ≤ K ≤ N.
    pub fn parse(spec: &str) -> Result<Partition, String> {
        let usage = || format!("{spec:?} is not count:K/N or hash:K/N with 1 <= K <= N");
        let (scheme, rest) = spec.split_once(':').ok_or_else(usage)?;
        let scheme = match scheme {
            "count" => Scheme::Count,
            "hash" => Scheme::Hash,
            _ => return Err(usage()),
        };
        let (k, n) = rest.split_once('/').ok_or_else(usage)?;
        let (shard, total) = match (k.trim().parse::<u64>(), n.trim().parse::<u64>()) {
            (Ok(k), Ok(n)) if k >= 1 && k <= n => (k, n),
            _ => return Err(usage()),
        };
        Ok(Partition {
            scheme,
            shard,
            total,
        })
    }

    /// Whether the unit at `position` (among the units the filter kept) named `unit` is
    /// this shard's.
    pub fn includes(&self, position: usize, unit: &str) -> bool {
        let bucket = match self.scheme {
            Scheme::Count => position as u64 % self.total,
            Scheme::Hash => fnv1a(unit.as_bytes()) % self.total,
        };
        bucket == self.shard - 1
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Count => "count",
            Scheme::Hash => "hash",
        };
        write!(f, "{scheme}:{}/{}", self.shard, self.total)
    }
}

/// FNV-1a, 64 bits: the same on every machine and every Rust release, which std's hasher
/// does not promise.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Whether libtest's name filter keeps `name` (the same rules libtest-mimic applies).
pub fn filter_keeps(args: &libtest_mimic::Arguments, name: &str) -> bool {
    let hit = |pattern: &str| {
        if args.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    };
    args.filter.as_deref().is_none_or(hit) && !args.skip.iter().any(|s| hit(s))
}

/// The items of this shard. Each item is (unit, trial name, value); items of one unit are
/// adjacent. A unit is counted when the filter keeps any of its trials.
pub fn shard<T>(
    partition: Option<&Partition>,
    args: &libtest_mimic::Arguments,
    items: Vec<(String, String, T)>,
) -> Vec<T> {
    let Some(p) = partition else {
        return items.into_iter().map(|(_, _, t)| t).collect();
    };
    // Units in order of first appearance, with whether the filter keeps one of their trials.
    let mut units: Vec<(&str, bool)> = Vec::new();
    for (unit, name, _) in &items {
        let keep = filter_keeps(args, name);
        match units.last_mut() {
            Some((u, k)) if *u == unit.as_str() => *k |= keep,
            _ => units.push((unit, keep)),
        }
    }
    let mut chosen = std::collections::HashSet::new();
    for (position, (unit, _)) in units.iter().filter(|(_, keep)| *keep).enumerate() {
        if p.includes(position, unit) {
            chosen.insert(unit.to_string());
        }
    }
    items
        .into_iter()
        .filter(|(unit, _, _)| chosen.contains(unit))
        .map(|(_, _, t)| t)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(a: &[&str]) -> libtest_mimic::Arguments {
        libtest_mimic::Arguments::parse_from(std::iter::once("x").chain(a.iter().copied()))
    }

    fn items() -> Vec<(String, String, String)> {
        let mut v = Vec::new();
        for unit in ["a::1", "a::2", "b::3", "b::4", "c::5", "c::6", "c::7"] {
            for family in ["case", "envelope"] {
                let name = format!("{family}::{unit}");
                v.push((unit.to_string(), name.clone(), name));
            }
        }
        v
    }

    #[test]
    fn parses_both_schemes_and_refuses_nonsense() {
        let p = Partition::parse("count:2/3").unwrap();
        assert_eq!((p.scheme, p.shard, p.total), (Scheme::Count, 2, 3));
        assert_eq!(p.to_string(), "count:2/3");
        assert_eq!(Partition::parse("hash:1/1").unwrap().scheme, Scheme::Hash);
        for bad in [
            "count:0/3",
            "count:4/3",
            "count:1",
            "mod:1/2",
            "hash:a/2",
            "1/2",
        ] {
            assert!(Partition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_cover_every_unit_once_and_keep_units_whole() {
        for scheme in ["count", "hash"] {
            let mut seen = Vec::new();
            for k in 1..=3 {
                let p = Partition::parse(&format!("{scheme}:{k}/3")).unwrap();
                let shard = shard(Some(&p), &args(&[]), items());
                // Both families of a unit land together.
                for name in &shard {
                    let unit = name.split_once("::").unwrap().1;
                    assert!(shard.contains(&format!("case::{unit}")));
                    assert!(shard.contains(&format!("envelope::{unit}")));
                }
                seen.extend(shard);
            }
            seen.sort();
            let mut all: Vec<String> = items().into_iter().map(|(_, n, _)| n).collect();
            all.sort();
            assert_eq!(seen, all, "{scheme}");
        }
    }

    #[test]
    fn count_is_round_robin_over_what_the_filter_keeps() {
        let p = Partition::parse("count:1/2").unwrap();
        let kept = shard(Some(&p), &args(&["c::"]), items());
        // c::5 and c::7 are the 1st and 3rd units the filter keeps.
        assert_eq!(
            kept,
            [
                "case::c::5",
                "envelope::c::5",
                "case::c::7",
                "envelope::c::7"
            ]
        );
        let all = shard(None, &args(&["c::"]), items());
        assert_eq!(
            all.len(),
            items().len(),
            "no partition: nothing dropped here"
        );
    }

    #[test]
    fn hash_is_stable() {
        // Fixed values: a shard must pick the same trials on every machine and release.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn the_filter_follows_libtest() {
        assert!(filter_keeps(&args(&["pem::"]), "pem::zone::x"));
        assert!(!filter_keeps(&args(&["pem::"]), "schema::zone::x"));
        assert!(!filter_keeps(&args(&["--skip", "zone"]), "pem::zone::x"));
        assert!(filter_keeps(&args(&["--exact", "a"]), "a"));
        assert!(!filter_keeps(&args(&["--exact", "a"]), "ab"));
    }
}
