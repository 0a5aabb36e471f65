//! `csr-emulator`: serves the Custom CSR API emulator until Ctrl-C or SIGTERM. The command line
//! only: flags and environment into a `Config`; it never answers a request itself.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use csr_emulator::{Config, Fault, RateLimit, Reading, app};

#[derive(Parser, Debug)]
#[command(
    name = "csr-emulator",
    version,
    about = "Reference emulator of Cloudflare's Custom CSR API"
)]
struct Cli {
    /// Address to listen on; port 0 picks a free port (the printed line says which).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// API token accepted as `Authorization: Bearer <token>` [default: the SDK test token]
    #[arg(long, env = "CSR_EMULATOR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Email accepted with --api-key as X-Auth-Email [default: user@example.com]
    #[arg(long, env = "CSR_EMULATOR_EMAIL", hide_env_values = true)]
    email: Option<String>,
    /// Global API key accepted with --email as X-Auth-Key [default: the SDK test key]
    #[arg(long, env = "CSR_EMULATOR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Throttle each credential to N requests per SECS seconds, e.g. 1200/300 (Cloudflare's)
    #[arg(long, value_name = "N/SECS")]
    rate_limit: Option<RateLimit>,
    /// Delay every answer by this many milliseconds
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// How many RSA-2048 keys to keep pre-generated (0: generate each on demand)
    #[arg(long, value_name = "N")]
    key_pool: Option<usize>,
    /// Make at most N distinct keys of each type (RSA-2048, P-256), then sign new CSRs with
    /// those in turn (for load tests: no client can see a key) [default: a new key for every CSR]
    #[arg(long, value_name = "N", default_value_t = 0, alias = "reuse-rsa-keys")]
    reuse_keys: usize,
    /// CSRs each account and zone already holds on first sight, created before start-up
    /// (varied subjects, both key types; name and description in accounts)
    #[arg(long, value_name = "N", default_value_t = 0)]
    preload: usize,
    /// Break the contract on purpose (repeatable), to see a harness catch it: one of
    /// common-name-limit-off-by-one, escape-dn-specials, truncate-sans, list-deleted,
    /// drop-creates-when-full, racy-creates, ignore-direction, crash-on-id-shape,
    /// crash-on-large-per-page, delete-ignores-scope, created-at-future, ignore-sort-value,
    /// loose-credentials, pem-subject-drops-chars
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<Fault>,
    /// Serve the SDKs' generated test suites as Prism does: the spec's example CSR exists in
    /// every account and zone and comes back after a delete; SANs under example.com are accepted
    #[arg(long)]
    sdk_suite: bool,
    /// Forward every request that is not a Custom CSR route, unchanged, to this server (e.g. a
    /// Prism serving Cloudflare's whole spec) and return its answer unchanged
    #[arg(long, value_name = "URL", value_parser = fallback_url)]
    fallback: Option<String>,
    /// How to answer what Cloudflare's documentation leaves open: lenient accepts all it does
    /// not forbid, strict refuses all it does not allow, default is the emulator's own choices
    #[arg(
        long,
        value_name = "READING",
        default_value = "default",
        value_parser = PossibleValuesParser::new(Reading::ALL.map(Reading::name))
            .try_map(|name| name.parse::<Reading>()),
    )]
    reading: Reading,
}

fn fallback_url(url: &str) -> Result<String, String> {
    csr_emulator::check_fallback(url).map(|()| url.to_owned())
}

impl Cli {
    fn config(self) -> Config {
        let defaults = Config::default();
        Config {
            token: self.token.unwrap_or(defaults.token),
            email: self.email.unwrap_or(defaults.email),
            api_key: self.api_key.unwrap_or(defaults.api_key),
            rate_limit: self.rate_limit,
            latency: self.latency_ms.map(Duration::from_millis),
            key_pool_size: self.key_pool.unwrap_or(defaults.key_pool_size),
            reuse_keys: self.reuse_keys,
            preload: self.preload,
            sdk_suite: self.sdk_suite,
            fallback: self.fallback,
            faults: self.faults,
            reading: self.reading,
            ..defaults
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let listen = cli.listen;
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("csr-emulator: cannot listen on {listen}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("csr-emulator: cannot read the bound address: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let router = app(cli.config());
    {
        // Harnesses parse this line to find the port, so it must go out before serving.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "csr-emulator listening on http://{addr}/client/v4");
        let _ = out.flush();
    }
    let serve =
        axum::serve(listener, router.into_make_service()).with_graceful_shutdown(shutdown_signal());
    // A client that keeps its connection busy must not stop the process from exiting.
    let deadline = async {
        shutdown_signal().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    tokio::select! {
        result = serve => match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("csr-emulator: server error: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        () = deadline => std::process::ExitCode::SUCCESS,
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_onto_the_config_and_defaults_stay_the_sdk_ones() {
        let cfg = Cli::try_parse_from(["csr-emulator"]).unwrap().config();
        assert_eq!(cfg.token, csr_emulator::SDK_TEST_TOKEN);
        assert!(cfg.rate_limit.is_none() && cfg.latency.is_none());
        assert!(!cfg.sdk_suite && cfg.fallback.is_none());
        assert_eq!(cfg.reading, Reading::Default);

        let cli = Cli::try_parse_from([
            "csr-emulator",
            "--listen",
            "127.0.0.1:0",
            "--token",
            "t",
            "--rate-limit",
            "1200/300",
            "--latency-ms",
            "25",
            "--key-pool",
            "0",
            "--reuse-keys",
            "3",
            "--preload",
            "4",
            "--sdk-suite",
            "--fallback",
            "http://127.0.0.1:4011",
            "--fault",
            "racy-creates",
        ])
        .unwrap();
        assert_eq!(cli.listen.port(), 0);
        let cfg = cli.config();
        assert_eq!(cfg.token, "t");
        assert_eq!(cfg.rate_limit, Some(RateLimit::CLOUDFLARE));
        assert_eq!(cfg.latency, Some(Duration::from_millis(25)));
        assert_eq!(cfg.key_pool_size, 0);
        assert_eq!(cfg.reuse_keys, 3);
        // The flag's first name still works.
        let old = Cli::try_parse_from(["csr-emulator", "--reuse-rsa-keys", "2"]).unwrap();
        assert_eq!(old.config().reuse_keys, 2);
        assert_eq!(cfg.preload, 4);
        assert!(cfg.sdk_suite);
        assert_eq!(cfg.fallback.as_deref(), Some("http://127.0.0.1:4011"));
        assert!(Cli::try_parse_from(["csr-emulator", "--fallback", "localhost:4010"]).is_err());
        assert_eq!(cfg.faults, vec![Fault::RacyCreates]);
        assert!(Cli::try_parse_from(["csr-emulator", "--fault", "nope"]).is_err());
        assert!(Cli::try_parse_from(["csr-emulator", "--rate-limit", "fast"]).is_err());
    }

    #[test]
    fn reading_takes_the_three_names_and_nothing_else() {
        for (name, reading) in [
            ("lenient", Reading::Lenient),
            ("default", Reading::Default),
            ("strict", Reading::Strict),
        ] {
            let cli = Cli::try_parse_from(["csr-emulator", "--reading", name]).unwrap();
            assert_eq!(cli.config().reading, reading);
        }
        for bad in ["bogus", "Strict", ""] {
            let err = Cli::try_parse_from(["csr-emulator", "--reading", bad]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue, "{bad:?}");
        }
    }
}
