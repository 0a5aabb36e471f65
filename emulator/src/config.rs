//! The emulator's configuration (`Config`, `RateLimit`) and the SDK suites' default
//! credentials. Plain data with defaults: it never reads the command line or the environment
//! (the binary does).

use std::time::Duration;

use crate::fault::Fault;
use crate::reading::Reading;

/// Credentials of Cloudflare's SDK test suites, so those suites run against the emulator unchanged.
pub const SDK_TEST_TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
pub const SDK_TEST_EMAIL: &str = "user@example.com";
pub const SDK_TEST_API_KEY: &str = "144c9defac04969c7bfad8efaa8ea194";

/// How the emulator behaves: which credentials it accepts, which realism it adds, and how far
/// it lets its state grow.
#[derive(Debug, Clone)]
pub struct Config {
    /// Accepted as `Authorization: Bearer <token>`.
    pub token: String,
    /// Accepted together with `api_key` as `X-Auth-Email` + `X-Auth-Key`.
    pub email: String,
    pub api_key: String,
    /// Off by default: tests should not trip over throttling they did not ask for.
    pub rate_limit: Option<RateLimit>,
    /// Added before every answer; off by default.
    pub latency: Option<Duration>,
    /// Pre-generated RSA-2048 keys kept ready; 0 generates every key on demand.
    pub key_pool_size: usize,
    /// Above 0: at most this many distinct keys of each type (RSA-2048, P-256) are made, then
    /// handed out again in turn, for load where key generation would be most of the work. 0
    /// (the default): every CSR gets a key of its own, as on the real API.
    pub reuse_keys: usize,
    /// Beyond this many CSRs in one account or zone, create answers 400 (code 1421).
    pub max_csrs_per_scope: usize,
    /// Beyond this many CSRs in all scopes together, create answers 400 (code 1421).
    pub max_csrs_total: usize,
    /// CSRs each account and zone already holds when a request first reaches it, created
    /// before start-up; 0 (the default) starts every scope empty.
    pub preload: usize,
    /// The SDK-suite profile: the spec's example CSR exists everywhere and the example values
    /// the SDKs' generated tests send are accepted. Off by default.
    pub sdk_suite: bool,
    /// Where requests for routes other than Custom CSRs are forwarded, unchanged (e.g. a Prism
    /// serving Cloudflare's whole spec). None: they get the 7003 route error.
    pub fallback: Option<String>,
    /// Deliberate contract breaks, for showing that a harness catches them; none by default.
    pub faults: Vec<Fault>,
    /// How the questions Cloudflare's documentation leaves open are answered (see
    /// [`Reading`]); [`Reading::Default`] unless asked.
    pub reading: Reading,
}

impl Config {
    pub fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: SDK_TEST_TOKEN.to_owned(),
            email: SDK_TEST_EMAIL.to_owned(),
            api_key: SDK_TEST_API_KEY.to_owned(),
            rate_limit: None,
            latency: None,
            key_pool_size: 8,
            reuse_keys: 0,
            max_csrs_per_scope: 1_000,
            max_csrs_total: 20_000,
            preload: 0,
            sdk_suite: false,
            fallback: None,
            faults: Vec::new(),
            reading: Reading::Default,
        }
    }
}

/// A fixed window per credential: `requests` answers per `window`, then 429 until it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

impl RateLimit {
    /// Cloudflare's documented client API limit: 1200 requests per 5 minutes per user.
    pub const CLOUDFLARE: RateLimit = RateLimit {
        requests: 1200,
        window: Duration::from_secs(300),
    };
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    /// Parses `N/SECS`, e.g. `1200/300`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, secs) = s
            .split_once('/')
            .ok_or_else(|| format!("expected N/SECS (e.g. 1200/300), got {s:?}"))?;
        let requests: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("request count {n:?} is not a whole number"))?;
        let secs: u64 = secs
            .trim()
            .parse()
            .map_err(|_| format!("window {secs:?} is not a whole number of seconds"))?;
        if requests == 0 || secs == 0 {
            return Err("both the request count and the window must be at least 1".into());
        }
        Ok(RateLimit {
            requests,
            window: Duration::from_secs(secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_parses_count_and_seconds() {
        let rl: RateLimit = "1200/300".parse().unwrap();
        assert_eq!(rl, RateLimit::CLOUDFLARE);
        assert!("1200".parse::<RateLimit>().is_err());
        assert!("0/10".parse::<RateLimit>().is_err());
        assert!("x/10".parse::<RateLimit>().is_err());
    }

    #[test]
    fn defaults_are_the_sdk_test_credentials_with_realism_off() {
        let c = Config::default();
        assert_eq!(c.token, SDK_TEST_TOKEN);
        assert_eq!(c.email, "user@example.com");
        assert_eq!(c.api_key, "144c9defac04969c7bfad8efaa8ea194");
        assert!(c.rate_limit.is_none() && c.latency.is_none());
        assert_eq!(c.preload, 0, "scopes start empty unless asked");
        assert!(!c.sdk_suite && c.fallback.is_none());
        assert!(c.faults.is_empty(), "no fault unless asked");
        assert_eq!(c.reading, Reading::Default);
    }
}
