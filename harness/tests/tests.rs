// Integration tests of the imspec-harness library: one test binary, one module per area. The
// reference server (imspec-server, a dev-dependency) is the implementation under test.

// Scenario loading: the README examples load; errors point at file:line:column.
mod scenario_load;

// The JSON Schemas under docs/schema/: current, and every scenario and a sample report valid.
mod schema;

// The runner against scripted in-process servers: pairing, pushes, captures, repeat, barrier,
// timeouts and bad input from the target.
mod runner;

// Every scenario against the embedded reference server in memory, with and without --chop.
mod scenarios;

// Every SIP case through a loopback proxy that rewrites the server's messages: equivalent
// rewrites (RFC 3261 §7.3.1 forms, compact names, order, split writes…) pass, harmful ones fail.
mod proxy;
// --repeat: the planted race reported as flaky, steady servers by their one verdict.
mod repeat;

// Report snapshots (routed to the top-level snapshots/harness/).
mod report;

// The MSNP HTTP gateway: the endpoint over loopback, MSNP and gateway cases through the gateway
// transport in memory, the transport against a scripted gateway.
mod gateway;

// The HTML report in headless Chromium and the pcap in tshark (ignored: .ci/report-check runs
// them with the tools installed and a run's reports written).
mod report_tools;

// The library API (`Suite`) as a server's own test uses it: a small MSNP server written in the
// test, a correct one passing and a wrong one failing with the rule named.
mod suite_api;
// The module graph of the harness has no circle (issue 13, item 4).
mod module_graph;
