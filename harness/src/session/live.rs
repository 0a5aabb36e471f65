//! The connection to a target, made on first use: one runtime, one executor under the run's
//! limits, the embedded emulator when there is no remote target, and Ctrl-C. Also whether an
//! answer can be judged at all. Never builds a request and never judges the contract.

use std::sync::Arc;

use tokio::runtime::Runtime;

use crate::executor::{Executor, ExecutorConfig, TransportError};
use crate::limits::Limits;
use crate::model::{Credentials, Exchange};
use crate::traffic::Traffic;

use super::settings::{EMBEDDED_KEYS, EMBEDDED_PRELOAD, Settings, TargetSpec};

/// The connection to a target, made on first use so that `--list` touches nothing.
pub struct Live {
    pub rt: Arc<Runtime>,
    pub executor: Arc<Executor>,
    // Held so the embedded emulator lives as long as the run.
    _emulator: Option<csr_emulator::Emulator>,
}

impl Live {
    /// Connects to the target `settings` name, under `limits`.
    pub fn connect(
        settings: &Settings,
        limits: &Arc<Limits>,
        traffic: &Arc<Traffic>,
    ) -> Result<Live, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let (base_url, credentials, emulator) = match &settings.target {
            TargetSpec::Remote {
                base_url,
                credentials,
            } => (base_url.clone(), credentials.clone(), None),
            TargetSpec::Embedded => {
                // Scopes start with CSRs of their own, as real accounts do, so that reads
                // (and --read-only runs) have something the harness did not write.
                let config = csr_emulator::Config {
                    preload: EMBEDDED_PRELOAD,
                    reuse_keys: EMBEDDED_KEYS,
                    ..csr_emulator::Config::default()
                };
                // On the client's runtime: one runtime, and an answer wakes no other threads.
                let emulator = csr_emulator::Emulator::start_in(rt.handle(), config)
                    .map_err(|e| format!("cannot start the embedded emulator: {e}"))?;
                let c = emulator.config();
                let credentials = Credentials {
                    token: Some(c.token.clone()),
                    email: Some(c.email.clone()),
                    api_key: Some(c.api_key.clone()),
                };
                (emulator.base_url(), credentials, Some(emulator))
            }
        };
        let executor = Arc::new(
            Executor::new(ExecutorConfig {
                base_url,
                credentials: credentials.clone(),
                timeout: settings.timeout,
                retries_on_429: 3,
            })?
            .with_limits(limits.clone())
            .with_traffic(traffic.clone()),
        );
        // Ctrl-C stops the run: what is in flight ends at once, the unfinished trials are
        // reported as errors, and the cleanup and the report follow as usual. A second
        // Ctrl-C gives up on all that.
        let limits = limits.clone();
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("csr-conformance: interrupted; cleaning up and writing the report (Ctrl-C again to quit now)");
                limits.stop.trip(crate::limits::INTERRUPTED);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
        Ok(Live {
            rt: Arc::new(rt),
            executor,
            _emulator: emulator,
        })
    }
}

/// Why an answer cannot be judged against the contract, if so: the API never redirects (and
/// redirects are not followed), and a success that is not JSON leaves nothing to compare.
/// A generated request's exchange, or why it cannot be judged, as for hand-written cases.
pub fn judgeable(ex: Exchange) -> Result<Exchange, TransportError> {
    match unjudgeable(&ex) {
        Some(why) => Err(TransportError::Unjudgeable(why)),
        None => Ok(ex),
    }
}

/// How much of an unjudgeable answer's body a case run keeps. Its reason is worded (with the
/// body's full size) before it is cut, and reports quote only the first few hundred
/// characters: a target that answers every request with megabytes that cannot be judged must
/// not make the run hold all of them until it ends.
pub const KEPT_OF_UNJUDGEABLE: usize = 64 * 1024;

/// Why `ex` cannot be judged, as [`unjudgeable`] says, with its body cut to
/// [`KEPT_OF_UNJUDGEABLE`] bytes when so: what a case run keeps of such an answer.
pub fn set_aside(ex: &mut Exchange) -> Option<String> {
    let why = unjudgeable(ex)?;
    if ex.response.body.len() > KEPT_OF_UNJUDGEABLE {
        // A copy: truncating in place would keep the whole allocation.
        ex.response.body = ex.response.body[..KEPT_OF_UNJUDGEABLE].to_vec();
    }
    Some(why)
}

pub fn unjudgeable(ex: &Exchange) -> Option<String> {
    let r = &ex.response;
    let line = ex.request.line();
    if (300..400).contains(&r.status) {
        return Some(format!(
            "{line} answered {} (redirect to {:?}): the API never redirects, and redirects are not followed",
            r.status,
            r.header("location").unwrap_or("nowhere")
        ));
    }
    // serde_json skips over the bytes of strings it ignores, so UTF-8 is checked first.
    if (200..300).contains(&r.status)
        && (std::str::from_utf8(&r.body).is_err()
            || serde_json::from_slice::<serde::de::IgnoredAny>(&r.body).is_err())
    {
        let what = if std::str::from_utf8(&r.body).is_err() {
            "is not UTF-8"
        } else {
            "is not JSON"
        };
        return Some(format!(
            "{line} answered {} with a body that {what} ({}, {} bytes), so there is nothing to judge",
            r.status,
            r.header("content-type").unwrap_or("no content type"),
            r.body.len()
        ));
    }
    None
}
