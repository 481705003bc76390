// Integration tests of the imspec crate: one test binary, one module per area.

// Scenario loading: the README examples load; errors point at file:line:column.
mod scenario_load;

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

// imspec load: one scenario per protocol as a small load, failures by reason, the schedule's
// bounds, the CLI's JSON and CSV.
mod load;
