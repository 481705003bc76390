//! `imspec client-test [PATH…] --driver CMD`: client cases against the client a driver runs.
//!
//! Exit codes as `imspec run`: 0 every case passed (non-strict, skip, xfail allowed), 1 a case
//! failed, 2 a scenario, profile or usage error. A driver that cannot start, hangs or dies fails
//! its case (with the tail of its stderr), so a broken adapter is exit 1, not 3.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use imspec_harness::report::{html, human, json, junit, pcap};
use imspec_harness::runner::{Profile, RunOptions};
use imspec_harness::scenario::{self, Scenario};

use imspec_harness::client::run::{builtin_command, run_all};

/// The arguments of `imspec client-test`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Client case files or directories (default: scenarios/clients/).
    pub paths: Vec<PathBuf>,
    /// The driver: a shell command (run with `sh -c` once per case), or `builtin` for the
    /// reference clients. Protocol: docs/driver-protocol.md.
    #[arg(long, value_name = "CMD")]
    pub driver: String,
    /// Target profile (params, capabilities, baseline), as for `imspec run`.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Run only cases whose id matches this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub only: Vec<String>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report (one object per case) here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the HTML report (index and one page per case, with its sequence diagram) into
    /// this directory, as `imspec run --html` does.
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
    /// Write every connection of every case, driver included, as one pcapng file (open it in
    /// Wireshark or tshark), as `imspec run --pcap` does.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Cases run concurrently (each starts its own driver).
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Multiply every step timeout (a real client may need more than the default 5 s).
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    pub timeout_scale: f64,
    /// Print every case's verdict, not only failures.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Runs `imspec client-test`; returns the exit code.
pub fn main(args: &Args, default_root: &Path) -> u8 {
    match run(args, default_root) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("imspec client-test: {e}");
            2
        }
    }
}

/// Loads the client cases under `paths` (default `<root>/clients`); a scenario error is printed.
pub fn load(paths: &[PathBuf], default_root: &Path) -> Result<Vec<Scenario>, String> {
    let paths = if paths.is_empty() {
        vec![default_root.join("clients")]
    } else {
        paths.to_vec()
    };
    let files = scenario::discover(&paths).map_err(|e| e.to_string())?;
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match scenario::load(&f) {
            Ok(s) if s.is_client_case() => cases.push(s),
            Ok(_) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    if let Err(conflicts) = scenario::rules::catalog(&cases) {
        return Err(conflicts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"));
    }
    if cases.is_empty() {
        return Err("no client cases (scenarios/clients/…) under the given paths".into());
    }
    Ok(cases)
}

fn run(args: &Args, default_root: &Path) -> Result<u8, String> {
    if !(args.timeout_scale > 0.0 && args.timeout_scale.is_finite()) {
        return Err("--timeout-scale must be a positive number".into());
    }
    let mut cases = load(&args.paths, default_root)?;
    if !args.only.is_empty() {
        let mut b = globset::GlobSetBuilder::new();
        for p in &args.only {
            b.add(globset::Glob::new(p).map_err(|e| format!("bad glob `{p}`: {e}"))?);
        }
        let set = b.build().map_err(|e| e.to_string())?;
        cases.retain(|c| set.is_match(&c.id));
    }
    let profile = match &args.profile {
        Some(p) => Profile::load(p).map_err(|e| e.to_string())?,
        None => Profile::default(),
    };
    let driver = if args.driver == "builtin" {
        let exe = std::env::current_exe().map_err(|e| format!("locating imspec itself: {e}"))?;
        builtin_command(&exe, None)
    } else {
        args.driver.clone()
    };
    let opts = RunOptions {
        timeout_scale: args.timeout_scale,
        profile: Arc::new(profile),
        capture: args.json.is_some() || args.html.is_some() || args.pcap.is_some(),
        // Every service of a client case is one of its own listeners.
        ..RunOptions::default()
    };
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let cases: Vec<Arc<Scenario>> = cases.into_iter().map(Arc::new).collect();
    let (tty, verbose) = (std::io::stderr().is_terminal(), args.verbose);
    let mut failed = 0;
    let results = rt.block_on(run_all(
        cases,
        &opts,
        &driver,
        args.jobs,
        |r, done, total| {
            if r.verdict.fails_run() {
                failed += 1;
            }
            if verbose {
                println!("{}", human::case_line(r));
            } else if tty {
                eprint!("\r\x1b[2K{}", human::progress(done, total, failed));
                if done == total {
                    eprintln!();
                }
            }
        },
    ));
    let color = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| e.to_string();
    for r in &results {
        if matches!(
            r.verdict,
            imspec_harness::runner::Verdict::Fail
                | imspec_harness::runner::Verdict::Xpass
                | imspec_harness::runner::Verdict::NonStrict
        ) {
            writeln!(out, "\n{}", human::failure_text(r, color)).map_err(io)?;
        }
    }
    writeln!(
        out,
        "{}",
        human::summary(&results, started.elapsed().as_millis())
    )
    .map_err(io)?;
    if let Some(p) = &args.json {
        std::fs::write(p, json::render(&results))
            .map_err(|e| format!("writing {}: {e}", p.display()))?;
    }
    if let Some(p) = &args.junit {
        let xml = junit::render(&results).map_err(|e| format!("rendering JUnit: {e}"))?;
        std::fs::write(p, xml).map_err(|e| format!("writing {}: {e}", p.display()))?;
    }
    if let Some(d) = &args.html {
        html::write(&results, d)
            .map_err(|e| format!("writing the HTML report into {}: {e}", d.display()))?;
    }
    if let Some(p) = &args.pcap {
        std::fs::write(p, pcap::render(&results))
            .map_err(|e| format!("writing {}: {e}", p.display()))?;
    }
    Ok(u8::from(results.iter().any(|r| r.verdict.fails_run())))
}
