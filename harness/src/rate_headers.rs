//! What a target's rate-limit headers say, read from an answer's headers: how long a 429 asks
//! the run to wait (`Retry-After`, else the reset of `x-ratelimit-reset`, `ratelimit-reset` or
//! the IETF `RateLimit` header), and how many requests are left until when (for the pace).
//!
//! Pure functions of the headers (names in lower case) and the wall clock passed in; nothing
//! here sends or waits.

use std::time::Duration;

/// Resets above this many seconds are read as a Unix time (GitHub's `x-ratelimit-reset`), not
/// as seconds from now: no limit resets more than ten years from now.
const EPOCH_FROM: u64 = 10 * 365 * 24 * 3600;

/// How long a 429 asked the run to wait, with the header that said so, as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// A wait in seconds, and the header (`Retry-After: 1`) that asked for it.
    Wait(Duration, String),
    /// A header that asks for a wait the run cannot read (an HTTP date, a word).
    Unreadable(String),
    /// No header says how long.
    Nothing,
}

/// How long the 429 whose `headers` these are asked the run to wait; `now_unix` is the wall
/// clock in seconds, for resets given as a Unix time.
pub fn asked_wait(headers: &[(String, String)], now_unix: u64) -> Asked {
    if let Some(v) = header(headers, "retry-after") {
        let quoted = format!("Retry-After: {v}");
        return match v.parse::<u64>() {
            Ok(secs) => Asked::Wait(Duration::from_secs(secs), quoted),
            Err(_) => Asked::Unreadable(quoted),
        };
    }
    for name in ["x-ratelimit-reset", "ratelimit-reset"] {
        if let Some(v) = header(headers, name) {
            let quoted = format!("{name}: {v}");
            return match reset_secs(v, now_unix) {
                Some(secs) => Asked::Wait(Duration::from_secs(secs), quoted),
                None => Asked::Unreadable(quoted),
            };
        }
    }
    if let Some(v) = header(headers, "ratelimit") {
        let quoted = format!("RateLimit: {v}");
        return match field(v, &["reset", "t"]) {
            Some(secs) => Asked::Wait(Duration::from_secs(secs), quoted),
            None => Asked::Unreadable(quoted),
        };
    }
    Asked::Nothing
}

/// Requests left and the time until they are replenished, when the headers say both
/// (`x-ratelimit-remaining` and `-reset`, `ratelimit-remaining` and `-reset`, or one
/// `RateLimit: remaining=…, reset=…` / `RateLimit: "default";r=…;t=…`).
pub fn budget(headers: &[(String, String)], now_unix: u64) -> Option<(u64, Duration)> {
    for prefix in ["x-ratelimit-", "ratelimit-"] {
        let remaining = header(headers, &format!("{prefix}remaining"));
        let reset = header(headers, &format!("{prefix}reset"));
        if let (Some(r), Some(t)) = (remaining, reset) {
            return Some((
                r.parse().ok()?,
                Duration::from_secs(reset_secs(t, now_unix)?),
            ));
        }
    }
    let v = header(headers, "ratelimit")?;
    Some((
        field(v, &["remaining", "r"])?,
        Duration::from_secs(field(v, &["reset", "t"])?),
    ))
}

/// The spacing that spends `remaining` requests evenly until `reset`, when that is slower than
/// `interval` (the run's own pace); `None` when the run's pace is slow enough.
pub fn slower_pace(remaining: u64, reset: Duration, interval: Duration) -> Option<Duration> {
    let spread = reset / u32::try_from(remaining.max(1)).unwrap_or(u32::MAX);
    (spread > interval).then_some(spread)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Seconds until a reset given as seconds from now or as a Unix time.
fn reset_secs(v: &str, now_unix: u64) -> Option<u64> {
    let n = v.trim().parse::<u64>().ok()?;
    Some(if n > EPOCH_FROM {
        n.saturating_sub(now_unix)
    } else {
        n
    })
}

/// The number of the first of `keys` in a `RateLimit` value, whose items are separated by
/// `,` or `;` (`limit=100, remaining=0, reset=50` or `"default";r=0;t=50`).
fn field(v: &str, keys: &[&str]) -> Option<u64> {
    let items: Vec<(&str, &str)> = v
        .split([',', ';'])
        .filter_map(|item| item.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
        .collect();
    keys.iter().find_map(|key| {
        items
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.parse().ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn the_wait_asked_for_comes_from_retry_after_first_then_the_reset_headers() {
        let secs = Duration::from_secs;
        assert_eq!(
            asked_wait(
                &h(&[("retry-after", "86400"), ("x-ratelimit-reset", "5")]),
                NOW
            ),
            Asked::Wait(secs(86400), "Retry-After: 86400".into())
        );
        assert_eq!(
            asked_wait(&h(&[("retry-after", "Wed, 21 Oct 2099 07:28:00 GMT")]), NOW),
            Asked::Unreadable("Retry-After: Wed, 21 Oct 2099 07:28:00 GMT".into())
        );
        assert_eq!(
            asked_wait(&h(&[("x-ratelimit-reset", "30")]), NOW),
            Asked::Wait(secs(30), "x-ratelimit-reset: 30".into())
        );
        // A Unix time: seconds from now.
        assert_eq!(
            asked_wait(&h(&[("x-ratelimit-reset", &(NOW + 7200).to_string())]), NOW),
            Asked::Wait(secs(7200), format!("x-ratelimit-reset: {}", NOW + 7200))
        );
        assert_eq!(
            asked_wait(
                &h(&[("ratelimit", "limit=100, remaining=0, reset=3600")]),
                NOW
            ),
            Asked::Wait(
                secs(3600),
                "RateLimit: limit=100, remaining=0, reset=3600".into()
            )
        );
        assert_eq!(
            asked_wait(&h(&[("ratelimit", "\"default\";r=0;t=12")]), NOW),
            Asked::Wait(secs(12), "RateLimit: \"default\";r=0;t=12".into())
        );
        assert_eq!(
            asked_wait(&h(&[("ratelimit", "soon")]), NOW),
            Asked::Unreadable("RateLimit: soon".into())
        );
        assert_eq!(
            asked_wait(&h(&[("content-type", "x")]), NOW),
            Asked::Nothing
        );
    }

    #[test]
    fn the_budget_left_comes_from_any_of_the_three_header_styles() {
        let secs = Duration::from_secs;
        assert_eq!(
            budget(
                &h(&[("x-ratelimit-remaining", "4"), ("x-ratelimit-reset", "20")]),
                NOW
            ),
            Some((4, secs(20)))
        );
        assert_eq!(
            budget(
                &h(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "3")]),
                NOW
            ),
            Some((0, secs(3)))
        );
        assert_eq!(
            budget(&h(&[("ratelimit", "limit=10, remaining=2, reset=8")]), NOW),
            Some((2, secs(8)))
        );
        assert_eq!(
            budget(&h(&[("ratelimit", "\"default\";r=50;t=30")]), NOW),
            Some((50, secs(30)))
        );
        assert_eq!(budget(&h(&[("x-ratelimit-remaining", "4")]), NOW), None);
    }

    #[test]
    fn the_pace_slows_only_when_what_is_left_would_run_out_before_the_reset() {
        let ms = Duration::from_millis;
        // 10 requests left for 20 s: one every 2 s, slower than 3 a second.
        assert_eq!(
            slower_pace(10, Duration::from_secs(20), ms(333)),
            Some(ms(2000))
        );
        // None left: the whole time to the reset.
        assert_eq!(
            slower_pace(0, Duration::from_secs(5), ms(333)),
            Some(ms(5000))
        );
        // Plenty left: the run's own pace.
        assert_eq!(slower_pace(1000, Duration::from_secs(60), ms(333)), None);
    }
}
