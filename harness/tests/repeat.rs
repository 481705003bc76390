//! `imspec run --repeat`: a case whose runs both passed and failed is `flaky`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use imspec_harness::runner::{self, RunOptions, Verdict};
use imspec_harness::scenario;
use imspec_harness::transport::gateway::Gateway;
use imspec_server::{Mutant, Server, ServerConfig};

/// Runs the seed-004 exchange (one relayed `M`) `repeat` times, one run at a time, against
/// the embedded server with `mutant` and a fixed seed (so which relays are late is fixed).
async fn seed004_repeated(
    mutant: Option<Mutant>,
    repeat: usize,
    timeout_scale: f64,
) -> runner::CaseResult {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/fetion/001-seed004-exchange.yaml");
    let case = Arc::new(scenario::load(&file).unwrap_or_else(|e| panic!("{e}")));
    let config = ServerConfig {
        seed: Some(12),
        ..ServerConfig::local().with_mutant(mutant)
    };
    let server = Arc::new(Server::start(config).await.unwrap());
    let connector = Arc::new(Gateway::wrap(crate::scenarios::mem_dialer(server)));
    let opts = RunOptions {
        timeout_scale,
        ..RunOptions::default()
    };
    let mut seen = 0;
    let mut results =
        runner::run_repeated(vec![case], &opts, connector, 1, repeat, |_, _, _| seen += 1).await;
    assert_eq!(seen, repeat, "progress is called once per run");
    assert_eq!(results.len(), 1, "one result per case");
    results.remove(0)
}

// Why (issue 12): `--repeat` must tell a racy server from a broken one; the planted race holds
// each relayed M back at random, so some runs of the case pass and some fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_reports_a_racy_server_as_flaky() {
    // A late relay fails its run at the receiver's step timeout: 3 s instead of 5 s, still
    // ample for every other step on a busy machine.
    let r = seed004_repeated(Some(Mutant::FetionRelaySometimesLate), 8, 0.6).await;
    assert_eq!(r.verdict, Verdict::Flaky, "{:?}", r.runs);
    assert!(r.verdict.fails_run());
    let (pass, fail) = (r.runs[&Verdict::Pass], r.runs[&Verdict::Fail]);
    assert_eq!(pass + fail, 8);
    let f = r.failure.as_ref().expect("the failing run is reported");
    assert!(f.reason.contains("no push"), "{}", f.reason);
    let json: serde_json::Value = serde_json::from_str(&imspec_harness::report::json::render(
        std::slice::from_ref(&r),
    ))
    .unwrap();
    let json = &json[0];
    assert_eq!(json["verdict"], "flaky");
    assert_eq!(json["runs"]["pass"], pass);
    assert_eq!(json["runs"]["fail"], fail);
    let junit = imspec_harness::report::junit::render(std::slice::from_ref(&r)).unwrap();
    assert!(junit.contains("type=\"flaky\""), "{junit}");
    let summary = imspec_harness::report::human::summary(std::slice::from_ref(&r), 0);
    assert!(summary.contains("0 failed, 1 flaky"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_reports_a_steady_server_by_its_one_verdict() {
    let r = seed004_repeated(None, 3, 1.0).await;
    assert_eq!(r.verdict, Verdict::Pass);
    assert_eq!(r.runs, BTreeMap::from([(Verdict::Pass, 3)]));
    let r = seed004_repeated(Some(Mutant::FetionRelayNoXi), 2, 1.0).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(r.runs, BTreeMap::from([(Verdict::Fail, 2)]));
    assert!(
        seed004_repeated(None, 1, 1.0).await.runs.is_empty(),
        "no counts without --repeat"
    );
}
