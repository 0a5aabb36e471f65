//! The HTML page as a person sees it, in headless Chromium: the page of a failing run (the
//! emulator with a fault switch) and of a passing run are rendered, and the assertions are on
//! what is visible (WebDriver's Get Element Text and Is Element Displayed): the verdict, the
//! matrix with its failing cell, a failure's `curl` and rerun lines, the coverage table, and
//! no console error. The pages and full-page screenshots are left under `target/browser/`
//! for a person to open. Both pages also pass `tidy -errors` and the held-back credential
//! scan.
//!
//! Needs Debian's `chromium`, `chromium-driver` and `tidy`: `bash .ci/install` installs them
//! (CI runs it). WebDriver is spoken over plain HTTP with `reqwest`; `chromedriver` is started
//! on a free port and stopped when the test ends.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use csr_conformance::model::Credentials;
use csr_conformance::record::readable::scan_readable;
use csr_conformance::record::redact::Secrets;
use csr_emulator::{Config, Emulator, Fault};
use serde_json::{Value, json};
use support::{Creds, harness_command, run_harness};

/// The seed of both runs.
const SEED: &str = "3";

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What to do when a tool is missing.
const INSTALL: &str =
    "run `bash .ci/install` (it installs Debian's chromium, chromium-driver and tidy; CI runs it)";

/// `target/browser/`: where the pages and screenshots are left.
fn out_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(&tmp).join("browser");
    std::fs::create_dir_all(&dir).expect("create target/browser");
    dir
}

/// A program on the PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

fn need(names: &[&str]) -> PathBuf {
    names.iter().find_map(|n| on_path(n)).unwrap_or_else(|| {
        panic!(
            "{} is not installed, and the browser test needs it: {INSTALL}",
            names[0]
        )
    })
}

/// The two pages, made once for every test here.
struct Pages {
    failing: PathBuf,
    passing: PathBuf,
    /// (family, scope) of each trial the failing run failed.
    failed: BTreeSet<(String, String)>,
}

fn pages() -> &'static Pages {
    static PAGES: OnceLock<Pages> = OnceLock::new();
    PAGES.get_or_init(|| {
        let dir = out_dir();
        let failing = dir.join("failing.html");
        let emu = Emulator::start(Config {
            faults: vec![Fault::TruncateSans],
            ..Config::default()
        })
        .expect("start the emulator");
        let run = run_harness(
            &emu.base_url(),
            &Creds::of_emulator(emu.config()),
            &["--seed", SEED, "--html", failing.to_str().unwrap()],
        );
        assert_eq!(run.code, 1, "the faulty emulator fails\n{}", run.summary());
        let failed = run
            .failed_trials
            .iter()
            .filter_map(|t| {
                let mut parts = t.split("::");
                Some((parts.next()?.to_string(), parts.next()?.to_string()))
            })
            .collect();
        let passing = dir.join("passing.html");
        let out = harness_command(&Creds::default())
            .args(["--seed", SEED, "--html", passing.to_str().unwrap()])
            .arg("--junit")
            .arg(dir.join("passing.xml"))
            .output()
            .expect("run csr-conformance");
        assert!(
            out.status.success(),
            "the embedded emulator passes\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Pages {
            failing,
            passing,
            failed,
        }
    })
}

/// `chromedriver` on a free port, stopped on drop.
struct Driver {
    child: Child,
    base: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    log: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its log is kept only when the test failed.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

impl Driver {
    fn start() -> Driver {
        need(&["chromium", "chromium-browser"]);
        let chromedriver = need(&["chromedriver"]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = out_dir().join(format!("chromedriver-{}.log", std::process::id()));
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("create the chromedriver log"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start chromedriver ({e}): {INSTALL}"));
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            http: reqwest::Client::new(),
            log,
        };
        let started = Instant::now();
        loop {
            if let Ok(v) = driver.call(reqwest::Method::GET, "/status", None)
                && v["ready"] == true
            {
                return driver;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start within 30 s: {}",
                std::fs::read_to_string(&driver.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One WebDriver command: its `value`, or the error WebDriver named.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let mut req = self
                .http
                .request(method, &url)
                .timeout(Duration::from_secs(60));
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.map_err(|e| format!("{path}: {e}"))?;
            let v: Value = resp.json().await.map_err(|e| format!("{path}: {e}"))?;
            let value = v.get("value").cloned().unwrap_or(Value::Null);
            match value.get("error").and_then(Value::as_str) {
                Some(e) => Err(format!(
                    "{e}: {}",
                    value.get("message").and_then(Value::as_str).unwrap_or("")
                )),
                None => Ok(value),
            }
        })
    }

    fn session(&self) -> Session<'_> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": need(&["chromium", "chromium-browser"]),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1600"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let v = self
            .call(reqwest::Method::POST, "/session", Some(caps))
            .unwrap_or_else(|e| panic!("Chromium did not start ({e}): {INSTALL}"));
        Session {
            driver: self,
            id: v["sessionId"].as_str().expect("a session id").to_string(),
        }
    }
}

/// A browser window, closed on drop.
struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self.call(reqwest::Method::DELETE, "", None);
    }
}

impl Session<'_> {
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn open(&self, page: &Path) {
        let url = format!("file://{}", page.canonicalize().unwrap().display());
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Every element `css` selects, under `under` or the document.
    fn all(&self, css: &str, under: Option<&str>) -> Vec<String> {
        let path = match under {
            Some(el) => format!("/element/{el}/elements"),
            None => "/elements".to_string(),
        };
        self.call(
            reqwest::Method::POST,
            &path,
            Some(json!({"using": "css selector", "value": css})),
        )
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e[ELEMENT].as_str().map(String::from))
        .collect()
    }

    fn first(&self, css: &str, under: Option<&str>) -> Option<String> {
        self.all(css, under).into_iter().next()
    }

    /// The element's text as rendered: empty when it is not visible.
    fn text(&self, el: &str) -> String {
        self.call(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    fn displayed(&self, el: &str) -> bool {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{el}/displayed"),
            None,
        )
        .is_ok_and(|v| v == true)
    }

    fn attribute(&self, el: &str, name: &str) -> Option<String> {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{el}/attribute/{name}"),
            None,
        )
        .ok()
        .and_then(|v| v.as_str().map(String::from))
    }

    /// The browser's console: (level, message) since the last call.
    fn console(&self) -> Vec<(String, String)> {
        self.call(
            reqwest::Method::POST,
            "/se/log",
            Some(json!({"type": "browser"})),
        )
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["level"].as_str().unwrap_or("").to_string(),
                e["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
    }

    /// The whole page as a PNG (beyond the window, through the DevTools protocol; the window
    /// alone if that is not offered).
    fn screenshot(&self, to: &Path) {
        let whole = self
            .call(
                reqwest::Method::POST,
                "/goog/cdp/execute",
                Some(json!({"cmd": "Page.captureScreenshot",
                            "params": {"format": "png", "captureBeyondViewport": true}})),
            )
            .ok()
            .and_then(|v| v["data"].as_str().map(String::from));
        let data = whole.unwrap_or_else(|| {
            self.call(reqwest::Method::GET, "/screenshot", None)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .expect("a screenshot")
        });
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("a base64 screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(to, png).expect("write the screenshot");
    }
}

/// What a person must see on a run's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Failing,
    Passing,
}

/// What was seen.
#[derive(Debug, Default)]
struct Seen {
    verdict: String,
    failing_cells: Vec<(String, String)>,
    curl: String,
    rerun: String,
    coverage_rows: usize,
}

/// Looks at `page` as a person would, naming everything that is missing or not visible.
fn look(s: &Session, page: &Path, run: Run) -> Result<Seen, Vec<String>> {
    s.open(page);
    let mut seen = Seen::default();
    let mut problems = Vec::new();
    let visible = |css: &str, what: &str, problems: &mut Vec<String>| -> Option<String> {
        match s.first(css, None) {
            Some(el) if s.displayed(&el) => Some(el),
            Some(_) => {
                problems.push(format!("{what} ({css}) is on the page but not visible"));
                None
            }
            None => {
                problems.push(format!("no {what} ({css})"));
                None
            }
        }
    };

    // The verdict first.
    if let Some(el) = visible("section#verdict", "verdict", &mut problems) {
        seen.verdict = s.text(&el);
        let first = seen
            .verdict
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let ok = match run {
            Run::Failing => {
                first.starts_with("FAILED: ")
                    && first.contains(" failed, ")
                    && first.contains(" passed, ")
                    && first.contains(" errored")
                    && !first.starts_with("FAILED: 0 failed")
            }
            Run::Passing => first.starts_with("PASSED"),
        };
        if !ok {
            problems.push(format!("the verdict reads {first:?}"));
        }
    }
    visible("section#warnings", "warnings section", &mut problems);
    visible("section#drift", "drift section", &mut problems);

    // The matrix, and its failing cell linking to its trials.
    if let Some(matrix) = visible("table#matrix", "matrix", &mut problems) {
        let cells = s.all("td.cell", Some(&matrix));
        if cells.is_empty() {
            problems.push("the matrix has no cell".into());
        }
        for cell in s.all("td.cell.fail", Some(&matrix)) {
            let family = s.attribute(&cell, "data-family").unwrap_or_default();
            let scope = s.attribute(&cell, "data-scope").unwrap_or_default();
            if !s.displayed(&cell) || s.text(&cell).trim().is_empty() {
                problems.push(format!("the failing {family}/{scope} cell shows nothing"));
            }
            match s.first("a[href^='#']", Some(&cell)) {
                Some(a) => {
                    let target = s.attribute(&a, "href").unwrap_or_default();
                    let id = target.rsplit('#').next().unwrap_or("");
                    if s.first(&format!("[id='{id}']"), None).is_none() {
                        problems.push(format!(
                            "the failing {family}/{scope} cell links to #{id}, which is not there"
                        ));
                    }
                }
                None => problems.push(format!(
                    "the failing {family}/{scope} cell links to no trial"
                )),
            }
            seen.failing_cells.push((family, scope));
        }
        match run {
            Run::Failing if seen.failing_cells.is_empty() => {
                problems.push("no failing cell (td.cell.fail) in the matrix".into())
            }
            Run::Passing if !seen.failing_cells.is_empty() => problems.push(format!(
                "failing cells on a passing run's page: {:?}",
                seen.failing_cells
            )),
            _ => {}
        }
    }

    // A failure's curl and rerun lines, as they show.
    if run == Run::Failing {
        let failures = s.all("section#failures article.failure", None);
        if failures.is_empty() {
            problems.push("no failure (section#failures article.failure)".into());
        }
        let shown = |css: &str| {
            failures
                .iter()
                .flat_map(|f| s.all(css, Some(f)))
                .map(|el| s.text(&el))
                .find(|t| !t.trim().is_empty())
                .unwrap_or_default()
        };
        seen.curl = shown("pre.curl");
        seen.rerun = shown("pre.rerun");
        if !(seen.curl.starts_with("curl ") && seen.curl.contains("$CLOUDFLARE_API_TOKEN")) {
            problems.push(format!(
                "no visible curl line with $CLOUDFLARE_API_TOKEN in a failure: {:?}",
                seen.curl
            ));
        }
        if !(seen.rerun.starts_with("csr-conformance ") && seen.rerun.contains("--exact")) {
            problems.push(format!(
                "no visible rerun line in a failure: {:?}",
                seen.rerun
            ));
        }
    }

    // The coverage table: a row per documented rule, each marked.
    if let Some(table) = visible("table#coverage", "coverage table", &mut problems) {
        let rows = s.all("tr[data-rule]", Some(&table));
        seen.coverage_rows = rows.len();
        let documented = csr_conformance::rules::RULES.len();
        if rows.len() != documented {
            problems.push(format!(
                "the coverage table has {} rule rows, not the {documented} documented rules",
                rows.len()
            ));
        }
        if let Some(row) = rows.first() {
            let rule = s.attribute(row, "data-rule").unwrap_or_default();
            let class = s.attribute(row, "class").unwrap_or_default();
            if !s.text(row).contains(&rule) {
                problems.push(format!("the coverage row of {rule} does not show its id"));
            }
            if !["held", "violated", "unverified"].contains(&class.as_str()) {
                problems.push(format!("the coverage row of {rule} is marked {class:?}"));
            }
        }
    }

    // No console error.
    for (level, message) in s.console() {
        if level == "SEVERE" {
            problems.push(format!("console error: {message}"));
        }
    }
    if problems.is_empty() {
        Ok(seen)
    } else {
        Err(problems)
    }
}

#[test]
fn a_person_sees_the_verdict_matrix_failures_and_coverage() {
    let pages = pages();
    let driver = Driver::start();
    let s = driver.session();

    let seen = look(&s, &pages.failing, Run::Failing)
        .unwrap_or_else(|p| panic!("the failing run's page:\n  {}", p.join("\n  ")));
    s.screenshot(&out_dir().join("failing.png"));
    // The failing cells are those of the failed trials, no more, no fewer.
    let cells: BTreeSet<(String, String)> = seen.failing_cells.into_iter().collect();
    assert_eq!(cells, pages.failed);

    look(&s, &pages.passing, Run::Passing)
        .unwrap_or_else(|p| panic!("the passing run's page:\n  {}", p.join("\n  ")));
    s.screenshot(&out_dir().join("passing.png"));
}

#[test]
fn the_look_fails_when_the_verdict_the_failing_cell_or_the_coverage_is_gone_or_hidden() {
    let html = std::fs::read_to_string(&pages().failing).unwrap();
    let driver = Driver::start();
    let s = driver.session();
    let dir = out_dir();

    // Taken out of the page.
    let gone = html
        .replace("<section id=\"verdict\"", "<section id=\"gone-verdict\"")
        .replace("<td class=\"cell fail\"", "<td class=\"cell pass\"")
        .replace("<table id=\"coverage\"", "<table id=\"gone-coverage\"");
    assert_ne!(gone, html);
    let path = dir.join("broken-gone.html");
    std::fs::write(&path, gone).unwrap();
    let problems = look(&s, &path, Run::Failing).expect_err("a page without them fails");
    let said = problems.join("\n");
    for missing in [
        "no verdict (section#verdict)",
        "no failing cell (td.cell.fail) in the matrix",
        "no coverage table (table#coverage)",
    ] {
        assert!(said.contains(missing), "{missing:?} not in:\n{said}");
    }

    // On the page, but not to be seen.
    let hidden = html.replacen(
        "</head>",
        "<style>#verdict, #coverage, pre.curl { display: none }</style></head>",
        1,
    );
    let path = dir.join("broken-hidden.html");
    std::fs::write(&path, hidden).unwrap();
    let problems = look(&s, &path, Run::Failing).expect_err("a page hiding them fails");
    let said = problems.join("\n");
    for hidden in [
        "verdict (section#verdict) is on the page but not visible",
        "coverage table (table#coverage) is on the page but not visible",
        "no visible curl line",
    ] {
        assert!(said.contains(hidden), "{hidden:?} not in:\n{said}");
    }
}

#[test]
fn both_pages_pass_tidy_and_the_held_back_credential_scan() {
    let Pages {
        failing, passing, ..
    } = pages();
    let tidy = need(&["tidy"]);
    let config = Config::default();
    let secrets = Secrets::from_credentials(&Credentials {
        token: Some(config.token.clone()),
        email: Some(config.email.clone()),
        api_key: Some(config.api_key.clone()),
    });
    for page in [failing, passing] {
        let out = Command::new(&tidy)
            .args(["-errors", "-q"])
            .arg(page)
            .output()
            .expect("run tidy");
        let said = String::from_utf8_lossy(&out.stderr);
        // tidy exits 2 on errors, 1 on warnings only (which -errors does not print).
        assert!(
            out.status.code().is_some_and(|c| c < 2) && said.trim().is_empty(),
            "tidy finds errors in {}:\n{said}",
            page.display()
        );
        let html = std::fs::read_to_string(page).unwrap();
        let leaks = scan_readable(&html, &secrets);
        assert!(leaks.is_empty(), "{}: {leaks:?}", page.display());
        assert!(!html.contains(&config.token) && !html.contains(&config.api_key));
    }
}
