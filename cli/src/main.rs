//! The `imspec` command line: clap → library → exit code (anyhow only here).
//!
//! Exit codes of `imspec run`: 0 all passed (non-strict, skip, xfail allowed), 1 a case failed
//! or xpassed, 2 a scenario/profile/usage error (`file:line:column: message`), 3 a target could
//! not be reached.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use imspec_harness::report::{Parity, html, human, json, junit, pcap};
use imspec_harness::runner::{self, Profile, RunOptions, Verdict};
use imspec_harness::scenario::fragment::{self, Sources};
use imspec_harness::scenario::{self, Scenario, capability};
use imspec_harness::suite::{self, Plan, Suite};
use imspec_server::{self as server, Server, ServerConfig};

#[derive(Parser)]
#[command(
    name = "imspec",
    version,
    about = "Conformance test suite, reference server and fuzzer for instant-messaging protocols: MSNP 21-24 (with its HTTP gateway), LeanCloud realtime, SIP offline messaging, MSRP and Fetion SIP-C"
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
    /// List case ids with the rules they check, or the rules, or the capabilities.
    ///
    /// With --rules: every rule id with level, evidence, text, source and the cases that
    /// check it (docs/rules.md is `imspec list --rules --format markdown`). With
    /// --capabilities: every capability with its meaning and the cases that require it.
    List {
        /// Scenario files or directories (default: scenarios/).
        paths: Vec<PathBuf>,
        /// List rules instead of cases.
        #[arg(long, conflicts_with = "capabilities")]
        rules: bool,
        /// Output format of --rules.
        #[arg(long, value_enum, default_value = "text", requires = "rules")]
        format: ListFormat,
        /// Print every capability with its meaning and the cases that require it.
        #[arg(long)]
        capabilities: bool,
        /// Look for fragments here after a case's own fragments/ folder, before the built-in
        /// ones (repeatable).
        #[arg(long, value_name = "DIR")]
        fragments: Vec<PathBuf>,
    },
    /// Write a runnable skeleton case: metadata, an actor, the login fragment, one request and
    /// its reply. It passes against the reference server; edit it into the case you need.
    New {
        /// fetion, leancloud, msnp or sip.
        protocol: String,
        /// The case's name: lower-case letters, digits and dashes (`history-after-sdg`).
        name: String,
        /// The scenarios folder; the case goes to DIR/PROTOCOL/NNN-NAME.yaml, NNN the next
        /// free number.
        #[arg(long, default_value = "scenarios", value_name = "DIR")]
        dir: PathBuf,
    },
    /// Decode every frame of a capture and print one JSON object per frame.
    Decode {
        /// How to read the input: a codec's name (`imspec_codec::CODECS`).
        #[arg(long, value_parser = decode_protocols())]
        protocol: String,
        /// LeanCloud only: `binary` (the whole input is one `lc.protobuf2` frame) or `base64`
        /// (each non-empty line is one `lc.proto2base64` text frame).
        #[arg(long, value_enum, default_value = "binary")]
        framing: LeanCloudFraming,
        /// Accept what the codec's lenient mode accepts (bare LF line ends, a missing space
        /// after a colon, …; msgr: markup inside `<content>`; leancloud: a missing proto2
        /// `required` field).
        #[arg(long)]
        lenient: bool,
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
    Serve(imspec::serve::ServeArgs),
    /// Redraw or join reports from the JSON of earlier runs (`imspec run --json`).
    #[command(subcommand)]
    Report(ReportCommand),
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
    /// Run client cases (scenarios/clients/): imspec plays the server, a driver runs the
    /// client under test (docs/driver-protocol.md).
    ///
    /// Exit codes: 0 all passed, 1 a case failed, 2 a scenario, profile or usage error.
    ClientTest(imspec::client::cli::Args),
    /// The built-in driver behind `client-test --driver builtin` (reference clients).
    #[command(hide = true)]
    ClientDriver {
        /// Break one rule (a client mutant, for `imspec selftest`).
        #[arg(long, value_name = "NAME")]
        mutant: Option<imspec::client::Mutant>,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Write the HTML report of a JSON report into DIR.
    Html {
        /// A JSON report (`imspec run --json`).
        report: PathBuf,
        /// The directory to write `index.html` and `cases/` into.
        dir: PathBuf,
    },
    /// Write the pcapng of a JSON report's recorded connections.
    Pcap {
        /// A JSON report (`imspec run --json`).
        report: PathBuf,
        /// The pcapng file to write.
        file: PathBuf,
    },
    /// Join the JSON reports of `--partition K/N` shards (given in K order) into one report.
    ///
    /// Exits 1 when a merged case failed the run, as `imspec run` would have.
    Merge {
        /// The shards' JSON reports.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Write the joined JSON report here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the joined JUnit XML report here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write the joined HTML report into this directory.
        #[arg(long, value_name = "DIR")]
        html: Option<PathBuf>,
        /// Write the joined pcapng here.
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario files or directories (default: scenarios/).
    paths: Vec<PathBuf>,
    /// A target service: NAME=HOST:PORT (names: fetion, fetion-chat, msnp, msnp-gateway, sip,
    /// msrp, leancloud — WebSocket, `ws://HOST:PORT/`).
    /// Repeatable; overrides the profile's `targets:`. Every MSNP case runs over TCP and, as
    /// `<id>@gateway`, over the HTTP gateway. With any target (here, in the profile or from
    /// --targets-from), a case needing a service without one is skipped; without any, an
    /// embedded reference server is started.
    #[arg(long = "target", value_name = "NAME=HOST:PORT")]
    targets: Vec<String>,
    /// Target profile (targets, accounts, capabilities, params, fragments, baseline).
    /// Default: the reference server's test accounts.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Read targets from `imspec serve`'s `listening <service> <host:port>` lines (over the
    /// profile's; `--target` overrides both).
    #[arg(long, value_name = "FILE")]
    targets_from: Option<PathBuf>,
    /// Look for fragments here after a case's own fragments/ folder, before the built-in
    /// ones (repeatable).
    #[arg(long, value_name = "DIR")]
    fragments: Vec<PathBuf>,
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
    /// Write the HTML report (index.html, a page with a sequence diagram per case) into DIR.
    #[arg(long, value_name = "DIR")]
    html: Option<PathBuf>,
    /// Write every TCP connection of the run into this pcapng file (for Wireshark).
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Cases run concurrently.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// Run every case N times (runs of one case one after another, --jobs runs at a time); a
    /// case that both passed and failed is `flaky`, which fails the run.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Run the K-th of N slices of the cases (1-based), e.g. 2/4.
    #[arg(long, value_name = "K/N")]
    partition: Option<String>,
    /// Multiply every step timeout (default 5 s per step).
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    timeout_scale: f64,
    /// Also run every case chopped, as a twin `<id>@chop` reported beside it: sends split
    /// into 1-7 byte writes, consecutive sends coalesced. The summary adds a parity line.
    #[arg(long)]
    chop: bool,
    /// Override a scenario param: NAME=VALUE (repeatable; wins over the profile's params).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Print every case's verdict, not only failures; twice (-vv) prints every case's wire
    /// log, as --trace does.
    #[arg(long, short, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Print every case's whole wire log, passing cases too.
    #[arg(long)]
    trace: bool,
    /// Colour the console report: auto (a terminal, and NO_COLOR unset or empty), always, never.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: ColorChoice,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Always,
    Auto,
    Never,
}

impl ColorChoice {
    /// Whether to colour output to stdout.
    fn enabled(self) -> bool {
        let forced = match self {
            Self::Always => Some(true),
            Self::Never => Some(false),
            Self::Auto => None,
        };
        human::color_enabled(
            forced,
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }
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
    /// msnp, msnp-gateway, leancloud, sip, msrp). Repeatable. Without any, an embedded
    /// reference server is fuzzed.
    #[arg(long = "target", value_name = "NAME=HOST:PORT")]
    targets: Vec<String>,
    /// Target profile: its `targets:` (overridden by --target) and accounts, as `imspec run`.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Start the embedded server with this mutant (the `selftest` ones, or the fuzz-only
    /// fetion-crash-on-long-call-id, lc-crash-on-long-peer-id, gateway-wedge-on-bad-body).
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

/// What `imspec decode --protocol` accepts: every codec of the registry, with its summary.
fn decode_protocols() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        imspec_codec::CODECS
            .iter()
            .map(|c| clap::builder::PossibleValue::new(c.name()).help(c.about())),
    )
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum LeanCloudFraming {
    Binary,
    Base64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List {
            paths,
            rules: true,
            format,
            fragments,
            ..
        } => exit(list_rules(&paths, format, fragments)),
        Command::List {
            paths,
            capabilities,
            fragments,
            ..
        } => exit(list(&paths, capabilities, fragments)),
        Command::New {
            protocol,
            name,
            dir,
        } => exit(new_case(&protocol, &name, &dir)),
        Command::Decode {
            protocol,
            framing,
            lenient,
            file,
        } => exit(decode(&protocol, framing, lenient, file.as_deref())),
        Command::Run(args) => exit(run(args)),
        Command::Report(cmd) => exit(report(cmd)),
        Command::Load(args) => exit(load(args)),
        Command::ClientTest(args) => {
            ExitCode::from(imspec::client::cli::main(&args, &default_scenarios()))
        }
        Command::ClientDriver { mutant } => match tokio::runtime::Runtime::new() {
            Ok(rt) => ExitCode::from(rt.block_on(imspec::client::builtin::main(mutant))),
            Err(e) => {
                eprintln!("imspec client-driver: {e}");
                ExitCode::from(1)
            }
        },
        Command::Fuzz(args) => exit(fuzz(args)),
        Command::Serve(args) => {
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("imspec serve: {e}");
                    return ExitCode::from(1);
                }
            };
            match rt.block_on(imspec::serve::serve(args)) {
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
            // Client cases run against the reference clients (all client mutants) unless
            // server mutants were picked.
            let clients = if mutant.is_empty() {
                // A client case that does not load is reported by the server half already.
                imspec::client::cli::load(&paths, &default_scenarios()).unwrap_or_default()
            } else {
                Vec::new()
            };
            let opts = imspec::selftest::Options {
                paths,
                mutants: mutant,
                jobs,
                timeout_scale,
            };
            let outcome = tokio::runtime::Runtime::new()
                .map_err(anyhow::Error::from)
                .and_then(|rt| {
                    let matrix = rt.block_on(imspec::selftest::selftest(&opts))?;
                    let client = if clients.is_empty() {
                        None
                    } else {
                        let exe = std::env::current_exe()?;
                        let run_opts = RunOptions {
                            timeout_scale,
                            ..RunOptions::default()
                        };
                        let cases = clients.into_iter().map(Arc::new).collect();
                        Some(rt.block_on(imspec::client::selftest::selftest(
                            cases, &exe, &run_opts, jobs,
                        )))
                    };
                    Ok((matrix, client))
                });
            match outcome {
                Ok((matrix, client)) => {
                    print!("{}", matrix.render());
                    if let Some(c) = &client {
                        print!("\n{}", c.render());
                    }
                    if matrix.ok() && client.as_ref().is_none_or(|c| c.ok()) {
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
    let profile = match load_profile(args.profile.as_deref()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let profile = merge_targets(profile, None, &args.targets)?;
    let targets = match suite::resolve_targets(&profile) {
        Ok(t) => t,
        Err(e) => return suite_error(e),
    };
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
        profile: Arc::new(profile),
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
        "{} rounds in {:.1} s ({}), {} finding(s), {} duplicate(s) not written, {} echo(es) of mangled requests not counted",
        report.rounds,
        report.elapsed.as_secs_f64(),
        report.stopped,
        report.findings.len(),
        report.duplicates,
        report.echoes
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
        // The reader went away (`imspec list | head`): nothing is wrong, stop quietly.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("imspec: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Loads cases (fragments also from `sources`; the built-in scenarios without paths); a
/// scenario error is printed and becomes exit code 2.
fn load_cases(paths: &[PathBuf], sources: &Sources) -> Result<Vec<Scenario>, u8> {
    let paths = if paths.is_empty() {
        vec![default_scenarios()]
    } else {
        paths.to_vec()
    };
    suite::load_cases(&paths, sources).map_err(|e| {
        print_suite_error(&e);
        2
    })
}

/// Prints why a suite cannot run, as `imspec run` words it.
fn print_suite_error(e: &suite::Error) {
    match e {
        suite::Error::Scenarios(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
        }
        suite::Error::NothingSelected => eprintln!("imspec: --only/--skip selected no case"),
        suite::Error::TimeoutScale(_) => {
            eprintln!("imspec: --timeout-scale must be a positive number");
        }
        suite::Error::UnknownParam { name, value } => {
            eprintln!("imspec: --var `{name}={value}`: no case to run has a param `{name}`");
        }
        e => eprintln!("imspec: {e}"),
    }
}

/// Prints why a suite cannot run; its exit code: 3 for an unreachable target, else 2.
fn suite_error(e: suite::Error) -> anyhow::Result<u8> {
    print_suite_error(&e);
    Ok(if matches!(e, suite::Error::Unreachable { .. }) {
        3
    } else {
        2
    })
}

fn default_scenarios() -> PathBuf {
    fragment::builtin_dir()
}

/// Loads `--profile` (the built-in profile without one); an error is printed, exit code 2.
fn load_profile(path: Option<&Path>) -> Result<Profile, u8> {
    match path {
        Some(p) => Profile::load(p).map_err(|e| {
            eprintln!("{e}");
            2
        }),
        None => Ok(Profile::default()),
    }
}

/// The profile with its targets overridden by `--targets-from`'s `listening` lines, then by
/// `--target` flags.
fn merge_targets(
    mut profile: Profile,
    from: Option<&Path>,
    flags: &[String],
) -> anyhow::Result<Profile> {
    if let Some(f) = from {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let found = runner::profile::targets_from_listening(&text)
            .map_err(|m| anyhow::anyhow!("--targets-from {}: {m}", f.display()))?;
        for (name, addr) in found {
            profile
                .set_target(&name, &addr)
                .map_err(|m| anyhow::anyhow!("--targets-from {}: {m}", f.display()))?;
        }
    }
    for t in flags {
        let (name, addr) = t
            .split_once('=')
            .with_context(|| format!("--target `{t}`: expected NAME=HOST:PORT"))?;
        profile
            .set_target(name, addr)
            .map_err(|m| anyhow::anyhow!("--target `{t}`: {m}"))?;
    }
    Ok(profile)
}

fn new_case(protocol: &str, name: &str, dir: &Path) -> anyhow::Result<u8> {
    let Some(p) = scenario::Protocol::from_name(protocol) else {
        eprintln!(
            "imspec new: unknown protocol `{protocol}` (expected fetion, leancloud, msnp or sip)"
        );
        return Ok(2);
    };
    if !scenario::skeleton::is_slug(name) {
        eprintln!(
            "imspec new: `{name}` cannot name a case: use lower-case letters, digits and dashes"
        );
        return Ok(2);
    }
    let folder = dir.join(protocol);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let mut next = 1;
    for entry in std::fs::read_dir(&folder)? {
        let file = entry?.file_name();
        let number = file
            .to_string_lossy()
            .split('-')
            .next()
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(n) = number {
            next = next.max(n + 1);
        }
    }
    let path = folder.join(format!("{next:03}-{name}.yaml"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(scenario::skeleton::skeleton(p, name).as_bytes())?;
    println!("{}", path.display());
    Ok(0)
}

fn list(paths: &[PathBuf], capabilities: bool, dirs: Vec<PathBuf>) -> anyhow::Result<u8> {
    let sources = Sources {
        dirs,
        ..Sources::default()
    };
    let cases = match load_cases(paths, &sources) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let mut out = std::io::stdout().lock();
    if capabilities {
        for c in capability::ALL {
            writeln!(out, "{}  {}", c.name, c.meaning)?;
            let needing: Vec<&str> = cases
                .iter()
                .filter(|s| s.requires.iter().any(|r| r == c.name))
                .map(|s| s.id.as_str())
                .collect();
            if needing.is_empty() {
                writeln!(out, "    (no case requires it)")?;
            }
            for id in needing {
                writeln!(out, "    {id}")?;
            }
        }
        return Ok(0);
    }
    for c in &cases {
        // Client cases run with `imspec client-test --driver CMD`, not `imspec run`.
        let mark = if c.is_client_case() { "  [client]" } else { "" };
        writeln!(out, "{}  {}{mark}", c.id, c.title)?;
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

fn list_rules(paths: &[PathBuf], format: ListFormat, dirs: Vec<PathBuf>) -> anyhow::Result<u8> {
    let sources = Sources {
        dirs,
        ..Sources::default()
    };
    let cases = match load_cases(paths, &sources) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    // load_cases already refused conflicting copies of a rule.
    let entries = scenario::rules::catalog(&cases)
        .map_err(|e| anyhow::anyhow!("{} conflicting rule(s)", e.len()))?;
    let text = match format {
        ListFormat::Text => scenario::rules::text(&entries),
        ListFormat::Markdown => scenario::rules::markdown(&entries),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(0)
}

fn decode(
    protocol: &str,
    framing: LeanCloudFraming,
    lenient: bool,
    file: Option<&Path>,
) -> anyhow::Result<u8> {
    use imspec_codec::registry::{End, Framing, Options};
    let Some(codec) = imspec_codec::registry::by_name(protocol) else {
        eprintln!("imspec decode: unknown protocol `{protocol}`");
        return Ok(2);
    };
    let mut input = Vec::new();
    match file {
        None => std::io::stdin().read_to_end(&mut input)?,
        Some(p) if p == Path::new("-") => std::io::stdin().read_to_end(&mut input)?,
        Some(p) => {
            input = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            input.len()
        }
    };
    let options = Options {
        lenient,
        text: matches!(framing, LeanCloudFraming::Base64),
    };
    let decoded = codec.decode(&input, &options);
    // A document prints as `document`, a stream's or a message's frames as `frame`.
    let key = match codec.framing() {
        Framing::Document => "document",
        Framing::Stream | Framing::Message => "frame",
    };
    let mut out = std::io::stdout().lock();
    for frame in decoded.frames {
        let v =
            serde_json::json!({ "offset": frame.offset, "length": frame.length, key: frame.value });
        writeln!(out, "{v}")?;
    }
    match decoded.end {
        End::Clean => Ok(0),
        End::Incomplete(start) => {
            eprintln!(
                "error at byte {}: the input ends inside a frame that starts at byte {start}",
                input.len()
            );
            Ok(1)
        }
        End::Error(e) => {
            eprintln!("error at byte {}: {}", e.offset(), e.kind());
            Ok(1)
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<u8> {
    let profile = match load_profile(args.profile.as_deref()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let paths = if args.paths.is_empty() {
        vec![default_scenarios()]
    } else {
        args.paths.clone()
    };
    let suite = match Suite::from_paths(paths) {
        Ok(s) => s,
        Err(e) => return suite_error(e),
    };
    let profile = merge_targets(profile, args.targets_from.as_deref(), &args.targets)?;
    let mut suite = suite
        .profile(profile)
        .jobs(args.jobs)
        .repeat(usize::try_from(args.repeat).unwrap_or(1))
        .timeout_scale(args.timeout_scale)
        .chop(args.chop)
        // The JSON report carries the connections, so `imspec report` can draw the pcap.
        .capture(args.json.is_some() || args.pcap.is_some() || args.html.is_some());
    for dir in &args.fragments {
        suite = suite.fragments(dir);
    }
    for glob in &args.only {
        suite = suite.only(glob);
    }
    for glob in &args.skip {
        suite = suite.skip(glob);
    }
    if let Some(p) = &args.partition {
        let (k, n) = p
            .split_once('/')
            .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
            .filter(|&(k, n)| n > 0 && (1..=n).contains(&k))
            .with_context(|| format!("--partition `{p}`: expected K/N with 1 <= K <= N"))?;
        suite = suite.partition(k, n);
    }
    for v in &args.vars {
        let Some((name, value)) = v.split_once('=') else {
            eprintln!("imspec: --var `{v}`: expected NAME=VALUE");
            return Ok(2);
        };
        suite = suite.var(name, value);
    }
    let plan = match suite.plan() {
        Ok(p) => p,
        Err(e) => return suite_error(e),
    };
    if plan.clients_left_out() > 0 && !args.paths.is_empty() {
        eprintln!(
            "imspec run: {} client case(s) left out: run them with `imspec client-test --driver CMD`",
            plan.clients_left_out()
        );
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let (plan, embedded) = with_embedded(plan).await?;
        let started = Instant::now();
        let tty = std::io::stderr().is_terminal();
        let verbose = args.verbose > 0;
        let trace = args.trace || args.verbose > 1;
        let mut failed = 0;
        let results = plan.run_with(|r, done, total| {
            if r.verdict.fails_run() {
                failed += 1;
            }
            if verbose {
                if tty {
                    eprint!("\r\x1b[2K");
                }
                // A closed stdout (`| head`) shows up, and stops the run, at the report below.
                let _ = writeln!(std::io::stdout(), "{}", human::case_line(r));
            }
            if tty {
                eprint!("\r\x1b[2K{}", human::progress(done, total, failed));
                if done == total {
                    eprintln!();
                }
            }
        });
        let results = match results.await {
            Ok(r) => r,
            Err(e) => return suite_error(e),
        };
        if let Some(server) = embedded {
            server.shutdown().await;
        }
        let color = args.color.enabled();
        let mut out = std::io::stdout().lock();
        for r in &results {
            if trace {
                write!(out, "\n{}", human::trace_text(r, color))?;
            }
            if matches!(
                r.verdict,
                Verdict::Fail | Verdict::Flaky | Verdict::Xpass | Verdict::NonStrict
            ) {
                writeln!(out, "\n{}", human::failure_text(r, color))?;
            }
        }
        writeln!(
            out,
            "{}",
            human::summary(&results, started.elapsed().as_millis())
        )?;
        for parity in [Parity::gateway(&results), Parity::chop(&results)] {
            if !parity.pairs.is_empty() {
                writeln!(out, "{parity}")?;
            }
        }
        write_reports(
            &results,
            args.json.as_deref(),
            args.junit.as_deref(),
            args.html.as_deref(),
            args.pcap.as_deref(),
        )?;
        Ok(if results.iter().any(|r| r.unreachable) {
            3
        } else if results.iter().any(|r| r.verdict.fails_run()) {
            1
        } else {
            0
        })
    })
}

/// Writes the reports asked for.
fn write_reports(
    results: &[runner::CaseResult],
    json_file: Option<&Path>,
    junit_file: Option<&Path>,
    html_dir: Option<&Path>,
    pcap_file: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(p) = json_file {
        std::fs::write(p, json::render(results))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = junit_file {
        let xml = junit::render(results).context("rendering the JUnit report")?;
        std::fs::write(p, xml).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(d) = html_dir {
        html::write(results, d)
            .with_context(|| format!("writing the HTML report into {}", d.display()))?;
    }
    if let Some(p) = pcap_file {
        std::fs::write(p, pcap::render(results))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn read_report(p: &Path) -> anyhow::Result<Vec<runner::CaseResult>> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    json::parse(&text).with_context(|| format!("{}: not a JSON report of imspec run", p.display()))
}

fn report(cmd: ReportCommand) -> anyhow::Result<u8> {
    match cmd {
        ReportCommand::Html { report, dir } => {
            write_reports(&read_report(&report)?, None, None, Some(&dir), None)?;
            Ok(0)
        }
        ReportCommand::Pcap { report, file } => {
            write_reports(&read_report(&report)?, None, None, None, Some(&file))?;
            Ok(0)
        }
        ReportCommand::Merge {
            shards,
            json,
            junit,
            html,
            pcap,
        } => {
            let parts = shards
                .iter()
                .map(|p| read_report(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let results = json::merge(parts);
            write_reports(
                &results,
                json.as_deref(),
                junit.as_deref(),
                html.as_deref(),
                pcap.as_deref(),
            )?;
            let failed = results.iter().filter(|r| r.verdict.fails_run()).count();
            println!(
                "merged {} reports: {} cases, {failed} failing the run",
                shards.len(),
                results.len()
            );
            Ok(u8::from(results.iter().any(|r| r.verdict.fails_run())))
        }
    }
}

/// Without targets, starts the embedded reference server and points the plan at it.
async fn with_embedded(plan: Plan) -> anyhow::Result<(Plan, Option<Server>)> {
    if !plan.targets().is_empty() {
        return Ok((plan, None));
    }
    let server = Server::start(ServerConfig::local())
        .await
        .context("starting the embedded reference server")?;
    let addrs = server
        .addrs()
        .into_iter()
        .map(|(service, addr)| (service.name().to_owned(), addr));
    Ok((plan.serving_every_service(addrs), Some(server)))
}

fn load(args: LoadArgs) -> anyhow::Result<u8> {
    let scenario = match scenario::load(&args.scenario) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("{e}");
            return Ok(2);
        }
    };
    let opts = imspec_harness::load::Options {
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
    if !(args.timeout_scale > 0.0 && args.timeout_scale.is_finite()) {
        anyhow::bail!("--timeout-scale must be a positive number");
    }
    let profile = match load_profile(args.profile.as_deref()) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let profile = merge_targets(profile, None, &args.targets)?;
    let plan = Suite::from_cases([(*scenario).clone()])
        .profile(profile)
        .timeout_scale(args.timeout_scale)
        .plan();
    let plan = match plan {
        Ok(p) => p,
        Err(e) => return suite_error(e),
    };
    if let Some((name, addr)) = plan.targets().iter().find(|(_, a)| !a.ip().is_loopback()) {
        anyhow::bail!("--target {name}={addr}: a load runs against loopback addresses only");
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let (plan, embedded) = with_embedded(plan).await?;
        let connector = match plan.connector().await {
            Ok(c) => c,
            Err(e) => return suite_error(e),
        };
        let run_opts = plan.run_options();
        let tty = std::io::stderr().is_terminal();
        let report = imspec_harness::load::load(scenario, &opts, &run_opts, connector, |p| {
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
