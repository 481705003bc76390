//! Every scenario under `scenarios/` against the embedded reference server, in memory (no
//! sockets for the services; the chat-server address captured at run time is mapped back).

use std::path::Path;
use std::sync::Arc;

use imspec_harness::runner::{self, RunOptions, Verdict};
use imspec_harness::scenario;
use imspec_harness::transport::gateway::Gateway;
use imspec_harness::transport::mem::Mem;
use imspec_harness::transport::{Endpoint, TransportError, first_address};
use imspec_server::{Server, ServerConfig, Service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_against_the_reference_server_in_memory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let files = scenario::discover(&[root]).unwrap();
    let cases: Vec<Arc<scenario::Scenario>> = files
        .iter()
        .map(|f| Arc::new(scenario::load(f).unwrap_or_else(|e| panic!("{e}"))))
        // Client cases need a driver (tests/client.rs runs them).
        .filter(|s| !s.is_client_case())
        .collect();
    assert!(!cases.is_empty());
    let server = Arc::new(Server::start(ServerConfig::local()).await.unwrap());
    let mem = mem_dialer(server);
    for chop in [false, true] {
        let opts = RunOptions {
            chop,
            ..RunOptions::default()
        };
        let results = runner::run_all(
            cases.clone(),
            &opts,
            Arc::new(Gateway::wrap(mem.clone())),
            4,
            |_, _, _| {},
        )
        .await;
        let bad: Vec<String> = results
            .iter()
            .filter(|r| r.verdict != Verdict::Pass)
            .map(|r| imspec_harness::report::human::failure_text(r, false))
            .collect();
        assert!(bad.is_empty(), "chop={chop}:\n{}", bad.join("\n"));
    }
}

/// A dialer that connects the runner to `server`'s services in memory (the chat-server address
/// captured at run time is mapped back to its service).
pub(crate) fn mem_dialer(server: Arc<Server>) -> Mem {
    let s2 = server;
    Mem::dialer(move |to| {
        let service = match to {
            Endpoint::Service(name) => Service::from_name(name),
            Endpoint::Address(a) => {
                let a = first_address(a)?;
                s2.addrs()
                    .into_iter()
                    .find(|(_, sa)| sa.to_string() == a)
                    .map(|(s, _)| s)
            }
        };
        service
            .and_then(|s| s2.connect_mem(s))
            .ok_or_else(|| TransportError::BadAddress(to.to_string()))
    })
}
