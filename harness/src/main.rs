//! The `imspec` command line: clap → library → exit code (anyhow only here).
//!
//! Exit codes of `imspec run`: 0 all passed (non-strict, skip, xfail allowed), 1 a case failed
//! or xpassed, 2 a scenario/profile/usage error (`file:line:column: message`), 3 a target could
//! not be reached.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use imspec::report::{human, json, junit};
use imspec::runner::{self, Profile, RunOptions, Verdict};
use imspec::scenario::{self, Scenario};
use imspec::server::{self, Server, ServerConfig};
use imspec::transport::gateway::{self, Gateway};
use imspec::transport::{Connector, tcp::Tcp};
use imspec_codec::Status;

#[derive(Parser)]
#[command(
    name = "imspec",
    version,
    about = "Conformance test suite, reference server and fuzzer for IM protocols (Fetion SIP-C, MSNP 21-24)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against a target (default: the embedded reference server).
    ///
    /// Exit codes: 0 all passed (non-strict, skip and xfail allowed), 1 a case failed or a
    /// baseline case passed (xpass), 2 a scenario, profile or usage error, 3 a target could not
    /// be reached. Scenario language: scenarios/README.md.
    Run(RunArgs),
    /// Run one scenario as a load: many instances on a schedule, latency percentiles.
    ///
    /// Each instance is a whole run of the scenario by the runner. With --rate the schedule is
    /// open (instances start on time whether or not earlier ones finished) and latency counts
    /// from the scheduled start. Loopback targets only. Exit codes: 0 every instance passed, 1
    /// one failed, 2 a scenario, profile or usage error, 3 a target could not be reached.
    Load(LoadArgs),
    /// List case ids with the rules they check.
    List {
        /// Scenario files or directories (default: scenarios/).
        paths: Vec<PathBuf>,
    },
    /// Decode every frame of a capture and print one JSON object per frame.
    Decode {
        /// How to read the input.
        #[arg(long, value_enum)]
        protocol: DecodeProtocol,
        /// LeanCloud only: `binary` (the whole input is one `lc.protobuf2` frame) or `base64`
        /// (each non-empty line is one `lc.proto2base64` text frame).
        #[arg(long, value_enum, default_value = "binary")]
        framing: LeanCloudFraming,
        /// Input file, or `-` for stdin (the default).
        file: Option<PathBuf>,
    },
    /// Fuzz a server over the network: replay scenarios with one message mutated per round.
    ///
    /// Watches for crashes (refused connections), unresponsiveness (a liveness scenario
    /// between rounds), hangs and frames the codec rejects, and writes each finding as a
    /// scenario under --out that `imspec run` replays. Loopback targets only. Exit codes: 0
    /// nothing found, 1 findings, 2 a usage or scenario error, 3 a target cannot be reached.
    Fuzz(FuzzArgs),
    /// Run the reference server until SIGTERM/SIGINT.
    Serve(server::ServeArgs),
    /// Run the suite against the clean reference server and every mutant; print the matrix.
    ///
    /// Exits 1 if the clean server fails a case or a mutant survives every case, 2 if the
    /// suite cannot be loaded or a server cannot start.
    Selftest {
        /// Scenario files or directories (default: scenarios/).
        paths: Vec<PathBuf>,
        /// Only these mutants (repeatable; default: every mutant).
        #[arg(long, value_name = "NAME")]
        mutant: Vec<server::Mutant>,
        /// Cases run concurrently over all servers.
        #[arg(long, default_value_t = 16)]
        jobs: usize,
        /// Multiply every step timeout.
        #[arg(long, default_value_t = 0.5, value_name = "F")]
        timeout_scale: f64,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario files or directories (default: scenarios/).
    paths: Vec<PathBuf>,
    /// A target service: NAME=HOST:PORT (names: fetion, fetion-chat, msnp, msnp-gateway, sip,
    /// msrp, leancloud — WebSocket, `ws://HOST:PORT/`).
    /// Repeatable. With msnp-gateway, every MSNP case also runs over the HTTP gateway (as
    /// `<id>@gateway`). Without any, an embedded reference server is started and MSNP cases
    /// run over both TCP and the gateway.
    #[arg(long = "target", value_name = "NAME=HOST:PORT")]
    targets: Vec<String>,
    /// Target profile (accounts, capabilities, params, baseline). Default: the reference
    /// server's test accounts.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Run only cases whose id matches this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    only: Vec<String>,
    /// Skip cases whose id matches this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    skip: Vec<String>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a JSON report (one object per case) here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Cases run concurrently.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// Run the K-th of N slices of the cases (1-based), e.g. 2/4.
    #[arg(long, value_name = "K/N")]
    partition: Option<String>,
    /// Multiply every step timeout (default 5 s per step).
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    timeout_scale: f64,
    /// Split every send into 1-7 byte writes and coalesce consecutive sends into one write.
    #[arg(long)]
    chop: bool,
    /// Print every case's verdict, not only failures.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(clap::Args)]
struct LoadArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Most instances.
    #[arg(long, default_value_t = 100, value_name = "N")]
    count: u64,
    /// Instances started per second (open model); without it, a closed loop.
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// Most instances in flight.
    #[arg(long, default_value_t = 64, value_name = "C")]
    concurrency: usize,
    /// Stop scheduling after this many seconds.
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    /// A target service on a loopback address, as in `run` (default: the embedded server).
    #[arg(long = "target", value_name = "NAME=HOST:PORT")]
    targets: Vec<String>,
    /// Target profile, as in `run`.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Multiply every step timeout.
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    timeout_scale: f64,
    /// Write the report as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write per-second figures as CSV here.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
}

#[derive(clap::Args)]
struct FuzzArgs {
    /// Scenario files or directories to replay (default: scenarios/).
    scenarios: Vec<PathBuf>,
    /// A target service on a loopback address: NAME=HOST:PORT (names: fetion, fetion-chat,
    /// msnp). Repeatable. Without any, an embedded reference server is fuzzed.
    #[arg(long = "target", value_name = "NAME=HOST:PORT")]
    targets: Vec<String>,
    /// Start the embedded server with this mutant (the `selftest` ones, or the fuzz-only
    /// fetion-crash-on-long-call-id).
    #[arg(long, value_name = "NAME")]
    mutant: Option<server::Mutant>,
    /// Most rounds.
    #[arg(long, default_value_t = 500, value_name = "N")]
    rounds: u64,
    /// Most seconds.
    #[arg(long, default_value_t = 60.0, value_name = "S")]
    seconds: f64,
    /// Seed of every random choice (default: from the clock; printed either way).
    #[arg(long, value_name = "X")]
    seed: Option<u64>,
    /// Write findings here.
    #[arg(long, default_value = "fuzz-findings", value_name = "DIR")]
    out: PathBuf,
    /// Step timeout, and how long a request may go unanswered before it is a hang.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    timeout_ms: u64,
    /// Stop after this many findings.
    #[arg(long, default_value_t = 10, value_name = "N")]
    max_findings: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum DecodeProtocol {
    Fetion,
    Msnp,
    Msgr,
    Leancloud,
}

#[derive(Clone, Copy, ValueEnum)]
enum LeanCloudFraming {
    Binary,
    Base64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List { paths } => exit(list(&paths)),
        Command::Decode {
            protocol,
            framing,
            file,
        } => exit(decode(protocol, framing, file.as_deref())),
        Command::Run(args) => exit(run(args)),
        Command::Load(args) => exit(load(args)),
        Command::Fuzz(args) => exit(fuzz(args)),
        Command::Serve(args) => {
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("imspec serve: {e}");
                    return ExitCode::from(1);
                }
            };
            match rt.block_on(server::serve(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("imspec serve: {e}");
                    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
                }
            }
        }
        Command::Selftest {
            paths,
            mutant,
            jobs,
            timeout_scale,
        } => {
            let paths = if paths.is_empty() {
                vec![default_scenarios()]
            } else {
                paths
            };
            let opts = imspec::selftest::Options {
                paths,
                mutants: mutant,
                jobs,
                timeout_scale,
            };
            let outcome = tokio::runtime::Runtime::new()
                .map_err(anyhow::Error::from)
                .and_then(|rt| Ok(rt.block_on(imspec::selftest::selftest(&opts))?));
            match outcome {
                Ok(matrix) => {
                    print!("{}", matrix.render());
                    if matrix.ok() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("imspec selftest: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn fuzz(args: FuzzArgs) -> anyhow::Result<u8> {
    if !(args.seconds > 0.0 && args.seconds.is_finite()) {
        anyhow::bail!("--seconds must be a positive number");
    }
    let mut targets = std::collections::BTreeMap::new();
    for t in &args.targets {
        let (name, addr) = t
            .split_once('=')
            .with_context(|| format!("--target `{t}`: expected NAME=HOST:PORT"))?;
        if server::Service::from_name(name).is_none() {
            anyhow::bail!("--target `{t}`: unknown service `{name}`");
        }
        let sa: SocketAddr = addr
            .to_socket_addrs()
            .with_context(|| format!("--target `{t}`: cannot resolve `{addr}`"))?
            .next()
            .with_context(|| format!("--target `{t}`: no address for `{addr}`"))?;
        targets.insert(name.to_owned(), sa);
    }
    let seed = args.seed.unwrap_or_else(server::driver::now_ms);
    let opts = imspec::fuzz::Options {
        targets,
        mutant: args.mutant,
        scenarios: if args.scenarios.is_empty() {
            vec![default_scenarios()]
        } else {
            args.scenarios
        },
        rounds: args.rounds,
        duration: Duration::from_secs_f64(args.seconds),
        seed,
        out: args.out,
        timeout: Duration::from_millis(args.timeout_ms.max(1)),
        max_findings: args.max_findings,
    };
    eprintln!("imspec fuzz: seed {seed}");
    let rt = tokio::runtime::Runtime::new()?;
    let report = match rt.block_on(imspec::fuzz::fuzz(&opts, |line| eprintln!("{line}"))) {
        Ok(r) => r,
        Err(imspec::fuzz::net::Error::Unreachable(m)) => {
            eprintln!("imspec fuzz: {m}");
            return Ok(3);
        }
        Err(e) => {
            eprintln!("imspec fuzz: {e}");
            return Ok(2);
        }
    };
    println!(
        "{} rounds in {:.1} s ({}), {} finding(s), {} duplicate(s) not written",
        report.rounds,
        report.elapsed.as_secs_f64(),
        report.stopped,
        report.findings.len(),
        report.duplicates
    );
    // The reproductions run against the server that showed the problem.
    let against = match (opts.targets.is_empty(), opts.mutant) {
        (false, _) => " --target NAME=HOST:PORT …".to_owned(),
        (true, None) => String::new(),
        (true, Some(m)) => format!(" --target … (against `imspec serve --mutant {m}`)"),
    };
    for f in &report.findings {
        println!(
            "  {} {} (round {}): {}\n    {}\n    reproduce: imspec run{against} {}{}",
            f.kind.name(),
            f.case,
            f.round,
            f.mutation,
            f.detail,
            f.path.display(),
            match f.reproduced {
                Some(true) => " (checked: fails as found)",
                Some(false) => " (checked: did NOT reproduce)",
                None => " (not checked: the target is down)",
            }
        );
    }
    Ok(u8::from(!report.findings.is_empty()))
}

fn exit(r: anyhow::Result<u8>) -> ExitCode {
    match r {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("imspec: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Loads cases; a scenario error is printed and becomes exit code 2.
fn load_cases(paths: &[PathBuf]) -> Result<Vec<Scenario>, u8> {
    let paths = if paths.is_empty() {
        vec![default_scenarios()]
    } else {
        paths.to_vec()
    };
    let files = scenario::discover(&paths).map_err(|e| {
        eprintln!("{e}");
        2
    })?;
    let mut cases = Vec::new();
    let mut errors = 0;
    for f in files {
        match scenario::load(&f) {
            Ok(s) => cases.push(s),
            Err(e) => {
                eprintln!("{e}");
                errors += 1;
            }
        }
    }
    if errors > 0 { Err(2) } else { Ok(cases) }
}

fn default_scenarios() -> PathBuf {
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }
}

fn list(paths: &[PathBuf]) -> anyhow::Result<u8> {
    let cases = match load_cases(paths) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let mut out = std::io::stdout().lock();
    for c in &cases {
        writeln!(out, "{}  {}", c.id, c.title)?;
        for r in &c.rules {
            writeln!(
                out,
                "    {} ({}, evidence {}) [{}]",
                r.id, r.level, r.evidence, r.source
            )?;
        }
    }
    Ok(0)
}

fn decode(
    protocol: DecodeProtocol,
    framing: LeanCloudFraming,
    file: Option<&Path>,
) -> anyhow::Result<u8> {
    let mut input = Vec::new();
    match file {
        None => std::io::stdin().read_to_end(&mut input)?,
        Some(p) if p == Path::new("-") => std::io::stdin().read_to_end(&mut input)?,
        Some(p) => {
            input = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            input.len()
        }
    };
    let mut out = std::io::stdout().lock();
    if let DecodeProtocol::Msgr = protocol {
        return match imspec_codec::msnp::msgr::parse_document_bytes(&input, &Default::default()) {
            Ok(doc) => {
                let v = serde_json::json!({ "offset": 0, "length": input.len(), "document": doc });
                writeln!(out, "{v}")?;
                Ok(0)
            }
            Err(e) => {
                eprintln!("error at byte {}: {}", e.offset(), e.kind());
                Ok(1)
            }
        };
    }
    if let DecodeProtocol::Leancloud = protocol {
        return decode_leancloud(&input, framing, &mut out);
    }
    let mut at = 0;
    while at < input.len() {
        let rest = &input[at..];
        let parsed = match protocol {
            DecodeProtocol::Fetion => imspec_codec::sipc::parse(rest)
                .map(|s| s.map(|(m, n)| (serde_json::to_value(&m).unwrap_or_default(), n))),
            _ => imspec_codec::msnp::parse(rest)
                .map(|s| s.map(|(c, n)| (serde_json::to_value(&c).unwrap_or_default(), n))),
        };
        match parsed {
            Ok(Status::Complete((frame, n))) => {
                let v = serde_json::json!({ "offset": at, "length": n, "frame": frame });
                writeln!(out, "{v}")?;
                at += n;
            }
            Ok(Status::Incomplete(_)) => {
                eprintln!(
                    "error at byte {}: the input ends inside a frame that starts at byte {at}",
                    input.len()
                );
                return Ok(1);
            }
            Err(e) => {
                eprintln!("error at byte {}: {}", at + e.offset(), e.kind());
                return Ok(1);
            }
        }
    }
    Ok(0)
}

/// LeanCloud frames are whole WebSocket messages: a binary capture is one frame, a base64
/// capture one text frame per line. Prints `{offset, length, frame}` per frame, the frame in
/// its readable form (imspec_codec::leancloud::message).
fn decode_leancloud(
    input: &[u8],
    framing: LeanCloudFraming,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    use imspec_codec::leancloud::{self, Format};
    let frames: Vec<(usize, &[u8], Format)> = match framing {
        LeanCloudFraming::Binary => vec![(0, input, Format::Protobuf2)],
        LeanCloudFraming::Base64 => {
            let mut frames = Vec::new();
            let mut at = 0;
            for line in input.split_inclusive(|&b| b == b'\n') {
                let text = line.strip_suffix(b"\n").unwrap_or(line);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                if !text.is_empty() {
                    frames.push((at, text, Format::Proto2Base64));
                }
                at += line.len();
            }
            frames
        }
    };
    for (at, frame, format) in frames {
        match leancloud::decode(frame, format) {
            Ok(cmd) => {
                let v = serde_json::json!({ "offset": at, "length": frame.len(), "frame": cmd });
                writeln!(out, "{v}")?;
            }
            Err(e) => {
                eprintln!("error at byte {}: {}", at + e.offset(), e.kind());
                return Ok(1);
            }
        }
    }
    Ok(0)
}

fn run(args: RunArgs) -> anyhow::Result<u8> {
    let cases = match load_cases(&args.paths) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    // MSNP cases run over TCP when `msnp` is a target, over the gateway when `msnp-gateway`
    // is; both against the embedded server.
    let named = |n: &str| {
        args.targets
            .iter()
            .any(|t| t.split_once('=').is_some_and(|(k, _)| k == n))
    };
    let (over_tcp, over_gateway) = if args.targets.is_empty() {
        (true, true)
    } else {
        (named("msnp"), named(gateway::SERVICE))
    };
    let mut cases = gateway::with_twins(cases, over_tcp, over_gateway);
    let glob_set = |patterns: &[String]| -> anyhow::Result<Option<globset::GlobSet>> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut b = globset::GlobSetBuilder::new();
        for p in patterns {
            b.add(globset::Glob::new(p).with_context(|| format!("bad glob `{p}`"))?);
        }
        Ok(Some(b.build()?))
    };
    let only = glob_set(&args.only)?;
    let skip = glob_set(&args.skip)?;
    cases.retain(|c| {
        only.as_ref().is_none_or(|g| g.is_match(&c.id))
            && !skip.as_ref().is_some_and(|g| g.is_match(&c.id))
    });
    if let Some(p) = &args.partition {
        let (k, n) = p
            .split_once('/')
            .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
            .filter(|&(k, n)| n > 0 && (1..=n).contains(&k))
            .with_context(|| format!("--partition `{p}`: expected K/N with 1 <= K <= N"))?;
        cases = cases
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, c)| c)
            .collect();
    }
    let (targets, profile) =
        match target_setup(&args.targets, args.profile.as_deref(), args.timeout_scale)? {
            Ok(v) => v,
            Err(code) => return Ok(code),
        };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let (connector, embedded) = match connect_targets(targets, args.timeout_scale).await? {
            Ok(v) => v,
            Err(code) => return Ok(code),
        };
        let opts = RunOptions {
            timeout_scale: args.timeout_scale,
            chop: args.chop,
            profile: Arc::new(profile),
        };
        let started = Instant::now();
        let tty = std::io::stderr().is_terminal();
        let verbose = args.verbose;
        let mut failed = 0;
        let cases: Vec<Arc<Scenario>> = cases.into_iter().map(Arc::new).collect();
        let results = runner::run_all(cases, &opts, connector, args.jobs, |r, done, total| {
            if r.verdict.fails_run() {
                failed += 1;
            }
            if verbose {
                if tty {
                    eprint!("\r\x1b[2K");
                }
                println!("{}", human::case_line(r));
            }
            if tty {
                eprint!("\r\x1b[2K{}", human::progress(done, total, failed));
                if done == total {
                    eprintln!();
                }
            }
        })
        .await;
        if let Some(server) = embedded {
            server.shutdown().await;
        }
        let color = std::io::stdout().is_terminal();
        let mut out = std::io::stdout().lock();
        for r in &results {
            if matches!(
                r.verdict,
                Verdict::Fail | Verdict::Xpass | Verdict::NonStrict
            ) {
                writeln!(out, "\n{}", human::failure_text(r, color))?;
            }
        }
        writeln!(
            out,
            "{}",
            human::summary(&results, started.elapsed().as_millis())
        )?;
        let parity = gateway::Parity::of(&results);
        if !parity.pairs.is_empty() {
            writeln!(out, "{parity}")?;
        }
        if let Some(p) = &args.json {
            std::fs::write(p, json::render(&results))
                .with_context(|| format!("writing {}", p.display()))?;
        }
        if let Some(p) = &args.junit {
            let xml = junit::render(&results).context("rendering the JUnit report")?;
            std::fs::write(p, xml).with_context(|| format!("writing {}", p.display()))?;
        }
        Ok(if results.iter().any(|r| r.unreachable) {
            3
        } else if results.iter().any(|r| r.verdict.fails_run()) {
            1
        } else {
            0
        })
    })
}

/// What `run` and `load` check before connecting: the timeout scale, the profile (an error
/// in it is printed and becomes `Err(2)`) and the targets.
type TargetSetup = Result<(BTreeMap<String, SocketAddr>, Profile), u8>;

fn target_setup(
    targets: &[String],
    profile: Option<&Path>,
    timeout_scale: f64,
) -> anyhow::Result<TargetSetup> {
    if !(timeout_scale > 0.0 && timeout_scale.is_finite()) {
        anyhow::bail!("--timeout-scale must be a positive number");
    }
    let profile = match profile {
        Some(p) => match Profile::load(p) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return Ok(Err(2));
            }
        },
        None => Profile::default(),
    };
    Ok(Ok((parse_targets(targets)?, profile)))
}

/// `--target NAME=HOST:PORT` values by service name.
fn parse_targets(targets: &[String]) -> anyhow::Result<BTreeMap<String, SocketAddr>> {
    let mut out = BTreeMap::new();
    for t in targets {
        let (name, addr) = t
            .split_once('=')
            .with_context(|| format!("--target `{t}`: expected NAME=HOST:PORT"))?;
        // `sip` and `msrp` are also client-side names: a real SIP server is a target before
        // (or without) the reference server serving them.
        if server::Service::from_name(name).is_none() && !["sip", "msrp"].contains(&name) {
            anyhow::bail!(
                "--target `{t}`: unknown service `{name}` (expected one of {})",
                server::cli::service_names().join(", ")
            );
        }
        let sa: SocketAddr = addr
            .to_socket_addrs()
            .with_context(|| format!("--target `{t}`: cannot resolve `{addr}`"))?
            .next()
            .with_context(|| format!("--target `{t}`: no address for `{addr}`"))?;
        out.insert(name.to_owned(), sa);
    }
    Ok(out)
}

/// The connector to `targets`, after one probe connection to each (`Err(3)` when one
/// cannot be reached); without targets, to an embedded reference server started here.
async fn connect_targets(
    mut targets: BTreeMap<String, SocketAddr>,
    timeout_scale: f64,
) -> anyhow::Result<Result<(Arc<dyn Connector>, Option<Server>), u8>> {
    let embedded = if targets.is_empty() {
        let server = Server::start(ServerConfig::local())
            .await
            .context("starting the embedded reference server")?;
        for (service, addr) in server.addrs() {
            targets.insert(service.name().to_owned(), addr);
        }
        Some(server)
    } else {
        for (name, addr) in &targets {
            let probe = tokio::time::timeout(
                Duration::from_secs_f64(5.0 * timeout_scale),
                tokio::net::TcpStream::connect(addr),
            )
            .await;
            let why = match probe {
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => e.to_string(),
                Err(_) => "timed out".to_owned(),
            };
            eprintln!("imspec: target {name} at {addr} cannot be reached: {why}");
            return Ok(Err(3));
        }
        None
    };
    let options = gateway::Options {
        host: targets
            .get(gateway::SERVICE)
            .map_or_else(|| "localhost".into(), ToString::to_string),
        ..gateway::Options::default()
    };
    let connector: Arc<dyn Connector> =
        Arc::new(Gateway::new(Arc::new(Tcp::new(targets)), options));
    Ok(Ok((connector, embedded)))
}

fn load(args: LoadArgs) -> anyhow::Result<u8> {
    let scenario = match scenario::load(&args.scenario) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("{e}");
            return Ok(2);
        }
    };
    let opts = imspec::load::Options {
        count: args.count,
        rate: args.rate,
        concurrency: args.concurrency,
        duration: match args.duration {
            Some(d) if d > 0.0 && d.is_finite() => Some(Duration::from_secs_f64(d)),
            Some(_) => anyhow::bail!("--duration must be a positive number of seconds"),
            None => None,
        },
    };
    opts.validate().map_err(anyhow::Error::msg)?;
    let (targets, profile) =
        match target_setup(&args.targets, args.profile.as_deref(), args.timeout_scale)? {
            Ok(v) => v,
            Err(code) => return Ok(code),
        };
    if let Some((name, addr)) = targets.iter().find(|(_, a)| !a.ip().is_loopback()) {
        anyhow::bail!("--target {name}={addr}: a load runs against loopback addresses only");
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let (connector, embedded) = match connect_targets(targets, args.timeout_scale).await? {
            Ok(v) => v,
            Err(code) => return Ok(code),
        };
        let run_opts = RunOptions {
            timeout_scale: args.timeout_scale,
            chop: false,
            profile: Arc::new(profile),
        };
        let tty = std::io::stderr().is_terminal();
        let report = imspec::load::load(scenario, &opts, &run_opts, connector, |p| {
            if tty {
                eprint!("\r\x1b[2K{}", p.line());
            }
        })
        .await;
        if tty {
            eprintln!();
        }
        if let Some(server) = embedded {
            server.shutdown().await;
        }
        print!("{}", report.text());
        if let Some(p) = &args.json {
            let text = serde_json::to_string_pretty(&report)?;
            std::fs::write(p, text + "\n").with_context(|| format!("writing {}", p.display()))?;
        }
        if let Some(p) = &args.csv {
            std::fs::write(p, report.csv()).with_context(|| format!("writing {}", p.display()))?;
        }
        Ok(if report.unreachable {
            3
        } else if report.ok() {
            0
        } else {
            1
        })
    })
}
