// Integration tests of the imspec crate: one test binary, one module per area.

// Scenario loading: the README examples load; errors point at file:line:column.
mod scenario_load;
