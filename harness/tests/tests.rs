// Integration tests of the imspec crate: one test binary, one module per area.

// Scenario loading: the README examples load; errors point at file:line:column.
mod scenario_load;

// The JSON Schemas under docs/schema/: current, and every scenario and a sample report valid.
mod schema;

// The runner against scripted in-process servers: pairing, pushes, captures, repeat, barrier,
// timeouts and bad input from the target.
mod runner;

// Every scenario against the embedded reference server in memory, with and without --chop.
mod scenarios;

// Rule sources cite what exists; rules agree across cases; docs/rules.md is current.
mod rules;
// Every SIP case through a loopback proxy that rewrites the server's messages: equivalent
// rewrites (RFC 3261 §7.3.1 forms, compact names, order, split writes…) pass, harmful ones fail.
mod proxy;
// --repeat: the planted race reported as flaky, steady servers by their one verdict.
mod repeat;
// Durability: a child `imspec serve` killed with SIGKILL mid-traffic, restarted on its --data.
mod durability;

// Report snapshots (routed to the top-level snapshots/harness/).
mod report;

// The MSNP HTTP gateway: the endpoint over loopback, MSNP and gateway cases through the gateway
// transport in memory, the transport against a scripted gateway.
mod gateway;

// imspec fuzz: crash files of the harness-side targets, the planted mutant found and
// reproduced, hangs and protocol errors of a scripted server.
mod fuzz;

// Target profiles through the binary against `imspec serve`: the example profiles, skips for
// untargeted services, --targets-from, fragment replacements and lookup, the README walk-through.
mod profiles;
// The HTML report in headless Chromium and the pcap in tshark (ignored: .ci/report-check runs
// them with the tools installed and a run's reports written).
mod report_tools;
// The command line as scripts use it: new, --var, --trace, --chop, --color, decode, list | head.
mod cli;
// imspec load: one scenario per protocol as a small load, failures by reason, the schedule's
// bounds, the CLI's JSON and CSV.
mod load;
// Client cases with the built-in driver: reference clients pass, client mutants are caught,
// broken drivers fail their case.
mod client;
