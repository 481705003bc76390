// Integration tests of the imspec binary and its library half: one test binary, one module per area.

// Shared helpers: the repository root, running the binary.
mod common;

// Rule sources cite what exists; rules agree across cases; docs/rules.md is current.
mod rules;
// Durability: a child `imspec serve` killed with SIGKILL mid-traffic, restarted on its --data.
mod durability;

// imspec fuzz: crash files of the harness-side targets, the planted mutant found and
// reproduced, hangs and protocol errors of a scripted server.
mod fuzz;

// Target profiles through the binary against `imspec serve`: the example profiles, skips for
// untargeted services, --targets-from, fragment replacements and lookup, the README walk-through.
mod profiles;
// The command line as scripts use it: new, --var, --trace, --chop, --color, decode, list | head.
mod cli;
// imspec load: one scenario per protocol as a small load, failures by reason, the schedule's
// bounds, the CLI's JSON and CSV.
mod load;
// Client cases with the built-in driver: reference clients pass, client mutants are caught,
// broken drivers fail their case.
mod client;
