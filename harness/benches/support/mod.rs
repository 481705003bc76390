//! What the benchmarks share: the clocks they read in `iter_custom`.
//!
//! Every timed group runs twice, once per clock: [`WallTime`] (criterion's default) and
//! [`CpuTime`], the CPU time of the whole process. On a machine whose two cores are shared with
//! compilers and test runs, wall time of a loopback ping-pong mostly measures how long each
//! wake-up waits for a core; CPU time does not count that wait, so its ratios hold still from
//! run to run. Both sides of a comparison run in the same process (client, server, baseline),
//! so CPU time is the whole cost of a round trip, server included, on either side.

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// A measurement a benchmark can start and stop itself (in `iter_custom`).
pub(crate) trait Clock: Measurement + Sized {
    /// Appended to group names, so both clocks' results are kept apart.
    const SUFFIX: &'static str;
    /// The clock.
    fn new() -> Self;
}

impl Clock for WallTime {
    const SUFFIX: &'static str = "";
    fn new() -> Self {
        Self
    }
}

/// CPU time of every thread of this process, in nanoseconds, summed from
/// `/proc/self/task/*/schedstat` (the first field: time on a CPU). Threads that exit during a
/// measurement drop out of the sum; the runtimes here keep theirs.
pub(crate) struct CpuTime;

impl Clock for CpuTime {
    const SUFFIX: &'static str = "_cpu";
    fn new() -> Self {
        Self
    }
}

/// The process's CPU time so far, in nanoseconds.
pub(crate) fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        panic!("/proc/self/task is not readable: CPU time needs Linux procfs");
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The process's user and system CPU time so far, in nanoseconds (`/proc/self/stat`'s
/// `utime` and `stime`, in clock ticks: coarse, for runs of seconds).
#[allow(dead_code)] // only `runner` uses it
pub(crate) fn user_system_ns() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .unwrap_or_else(|e| panic!("/proc/self/stat: {e}"));
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let field = |i: usize| -> u64 {
        rest.split_whitespace()
            .nth(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("/proc/self/stat field {i}: {stat}"))
    };
    // `utime` and `stime` are fields 14 and 15; `rest` starts at field 3. Ticks are
    // USER_HZ, 100 on Linux.
    (field(11) * 10_000_000, field(12) * 10_000_000)
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        cpu_ns()
    }
    fn end(&self, started: u64) -> u64 {
        cpu_ns().saturating_sub(started)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns cpu")
        } else if typical < 1e6 {
            (1e-3, "µs cpu")
        } else if typical < 1e9 {
            (1e-6, "ms cpu")
        } else {
            (1e-9, "s cpu")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (per, unit) = match throughput {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => {
                (*n, "elem/cpu-s")
            }
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (*n, "B/cpu-s"),
            Throughput::Bits(n) => (*n, "bit/cpu-s"),
        };
        for v in values {
            *v = per as f64 * 1e9 / *v;
        }
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
