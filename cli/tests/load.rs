//! `imspec load` over loopback against the embedded reference server: one scenario per
//! protocol, failures by reason under a mutant, the schedule's bounds, the CLI's JSON and CSV.
//! Small counts; no timing is asserted, only counts and the shape of the report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use imspec_harness::load::{self, Options, Report};
use imspec_harness::runner::RunOptions;
use imspec_harness::scenario;
use imspec_harness::transport::Connector;
use imspec_harness::transport::gateway::Gateway;
use imspec_harness::transport::tcp::Tcp;
use imspec_server::{Mutant, Server, ServerConfig};

fn scenario_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(rel)
}

async fn load_on(config: ServerConfig, rel: &str, opts: &Options) -> Report {
    let s = Arc::new(scenario::load(&scenario_path(rel)).unwrap_or_else(|e| panic!("{e}")));
    let server = Server::start(config).await.unwrap();
    let targets = server
        .addrs()
        .into_iter()
        .map(|(service, addr)| (service.name().to_owned(), addr))
        .collect();
    let connector: Arc<dyn Connector> = Arc::new(Gateway::wrap(Tcp::new(targets)));
    let report = load::load(s, opts, &RunOptions::default(), connector, |_| {}).await;
    server.shutdown().await;
    report
}

fn open(count: u64, rate: f64) -> Options {
    Options {
        count,
        rate: Some(rate),
        concurrency: 4,
        duration: None,
    }
}

/// Counts add up: every instance is offered, started and ended once, in the totals and in
/// the per-second figures, and every top-level step has a sample per passing instance.
fn assert_consistent(r: &Report) {
    let sum = |f: fn(&load::Second) -> u64| r.seconds.iter().map(f).sum::<u64>();
    assert_eq!(sum(|s| s.offered), r.scheduled, "{r:#?}");
    assert_eq!(sum(|s| s.started), r.scheduled, "{r:#?}");
    assert_eq!(sum(|s| s.passed), r.passed, "{r:#?}");
    assert_eq!(sum(|s| s.failed), r.failed, "{r:#?}");
    assert_eq!(r.case.count, r.passed);
    assert_eq!(r.start_delay.count, r.scheduled);
    for s in r.steps.iter().filter(|s| !s.step.contains('.')) {
        assert_eq!(s.latency.count, r.passed, "{s:?}");
        assert!(s.latency.p50_ms <= s.latency.p99_ms && s.latency.p99_ms <= s.latency.max_ms);
    }
    assert!(r.case.p50_ms <= r.case.p90_ms && r.case.p99_9_ms <= r.case.max_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_runs_a_sip_a_fetion_an_msnp_and_a_leancloud_scenario() {
    for rel in [
        "sip/002-message-relayed-live.yaml",
        "fetion/001-seed004-exchange.yaml",
        "msnp/007-png-answered.yaml",
        "leancloud/007-direct-ack.yaml",
    ] {
        let r = load_on(ServerConfig::local(), rel, &open(6, 200.0)).await;
        assert!(r.ok(), "{rel}: {}", r.text());
        assert_eq!((r.scheduled, r.passed, r.failed), (6, 6, 0), "{rel}");
        assert!(!r.steps.is_empty(), "{rel}");
        assert_consistent(&r);
        let text = r.text();
        assert!(
            text.contains("p99.9") && text.contains("step 1 connect"),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_counts_failures_by_step_and_reason() {
    let config = ServerConfig {
        mutant: Some(Mutant::FetionRelayNoXi),
        ..ServerConfig::local()
    };
    let r = load_on(
        config,
        "fetion/004-relay-xi-matches-sender-200.yaml",
        &open(4, 200.0),
    )
    .await;
    assert_eq!((r.scheduled, r.passed, r.failed), (4, 0, 4), "{}", r.text());
    assert!(!r.ok());
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    let (reason, n) = r.failures.iter().next().unwrap();
    assert_eq!(*n, 4);
    assert!(reason.starts_with("step "), "{reason}");
    assert_consistent(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_schedule_stops_at_the_duration_and_closed_loop_at_the_count() {
    // Due at 0, 50, 100 and 150 ms: four fit in 0.2 s, whatever the count.
    let opts = Options {
        duration: Some(Duration::from_millis(200)),
        ..open(1000, 20.0)
    };
    let r = load_on(ServerConfig::local(), "msnp/007-png-answered.yaml", &opts).await;
    assert_eq!((r.scheduled, r.passed), (4, 4), "{}", r.text());
    assert_consistent(&r);
    let closed = Options {
        rate: None,
        concurrency: 2,
        ..open(5, 1.0)
    };
    let r = load_on(ServerConfig::local(), "msnp/007-png-answered.yaml", &closed).await;
    assert_eq!((r.scheduled, r.passed, r.offered_rate), (5, 5, None));
    assert_consistent(&r);
}

#[test]
fn load_options_are_bounded() {
    let ok = open(10, 5.0);
    assert!(ok.validate().is_ok());
    for bad in [
        Options {
            count: 0,
            ..ok.clone()
        },
        Options {
            count: load::MAX_COUNT + 1,
            ..ok.clone()
        },
        Options {
            rate: Some(0.0),
            ..ok.clone()
        },
        Options {
            rate: Some(f64::INFINITY),
            ..ok.clone()
        },
        Options {
            concurrency: 0,
            ..ok.clone()
        },
        Options {
            duration: Some(Duration::ZERO),
            ..ok.clone()
        },
        Options {
            duration: Some(load::MAX_DURATION * 2),
            ..ok.clone()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn load_cli_writes_json_and_csv_and_refuses_remote_targets() {
    let dir = tempfile::tempdir().unwrap();
    let (json, csv) = (dir.path().join("load.json"), dir.path().join("load.csv"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imspec"))
        .arg("load")
        .arg(scenario_path("sip/002-message-relayed-live.yaml"))
        .args(["--count", "3", "--rate", "50", "--json"])
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 scheduled, 3 passed, 0 failed"),
        "{stdout}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["passed"], 3);
    assert_eq!(v["offered_rate"], 50.0);
    for key in ["p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms"] {
        assert!(v["case"][key].is_number(), "{key}: {v}");
    }
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("second,offered,started,passed,failed,p50_ms,p99_ms,max_ms")
    );
    assert!(lines.next().is_some_and(|l| l.starts_with("0,")), "{csv}");
    // Not loopback: a usage error, nothing sent.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imspec"))
        .arg("load")
        .arg(scenario_path("sip/002-message-relayed-live.yaml"))
        .args(["--target", "sip=192.0.2.1:5060"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
