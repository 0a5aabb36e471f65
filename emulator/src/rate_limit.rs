//! Optional throttling that mimics Cloudflare's per-user fixed window. It only counts: it never
//! sees a request, only the name of the credential to charge.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimit;
use crate::error::ApiError;

pub struct RateLimiter {
    limit: RateLimit,
    windows: Mutex<HashMap<&'static str, Window>>,
}

struct Window {
    started: Instant,
    used: u32,
}

/// What a successful answer tells the client about its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit: u32,
    pub remaining: u32,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Charges one request to `credential`'s window.
    pub fn charge(&self, credential: &'static str) -> Result<Budget, ApiError> {
        self.charge_at(credential, Instant::now())
    }

    fn charge_at(&self, credential: &'static str, now: Instant) -> Result<Budget, ApiError> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let window = windows.entry(credential).or_insert(Window {
            started: now,
            used: 0,
        });
        let elapsed = now.saturating_duration_since(window.started);
        if elapsed >= self.limit.window {
            *window = Window {
                started: now,
                used: 0,
            };
        }
        if window.used >= self.limit.requests {
            let left = self.limit.window.saturating_sub(elapsed);
            return Err(ApiError::RateLimited {
                retry_after_secs: ceil_secs(left).max(1),
                limit: self.limit.requests,
            });
        }
        window.used += 1;
        Ok(Budget {
            limit: self.limit.requests,
            remaining: self.limit.requests - window.used,
        })
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_fills_then_refuses_then_resets() {
        let rl = RateLimiter::new(RateLimit {
            requests: 2,
            window: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        assert_eq!(rl.charge_at("token", t0).unwrap().remaining, 1);
        assert_eq!(rl.charge_at("token", t0).unwrap().remaining, 0);
        // Another credential has its own window.
        assert!(rl.charge_at("email+key", t0).is_ok());
        match rl.charge_at("token", t0 + Duration::from_millis(2500)) {
            Err(ApiError::RateLimited {
                retry_after_secs,
                limit,
            }) => assert_eq!((retry_after_secs, limit), (8, 2)),
            other => panic!("expected 429, got {other:?}"),
        }
        assert_eq!(
            rl.charge_at("token", t0 + Duration::from_secs(10))
                .unwrap()
                .remaining,
            1
        );
    }
}
