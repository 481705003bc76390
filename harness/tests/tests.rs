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

// Report snapshots (routed to the top-level snapshots/harness/).
mod report;

// The MSNP HTTP gateway: the endpoint over loopback, MSNP and gateway cases through the gateway
// transport in memory, the transport against a scripted gateway.
mod gateway;

// imspec fuzz: crash files of the harness-side targets, the planted mutant found and
// reproduced, hangs and protocol errors of a scripted server.
mod fuzz;

// The command line as scripts use it: new, --var, --trace, --chop, --color, decode, list | head.
mod cli;
