//! How to run cases: [`RunOptions`] and the runner's bounds.

use std::sync::Arc;

use super::profile::Profile;

/// How to run cases.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Multiplies every step timeout.
    pub timeout_scale: f64,
    /// Split sends into 1–7 byte writes and coalesce consecutive sends, in every case (a
    /// case whose id ends in [`CHOP_SUFFIX`](super::twins::CHOP_SUFFIX) is chopped either way).
    pub chop: bool,
    /// The target profile.
    pub profile: Arc<Profile>,
    /// The services that have a target; a case needing another one is skipped. `None`: all
    /// (the embedded server).
    pub services: Option<Arc<std::collections::BTreeSet<String>>>,
    /// Record every TCP connection's bytes into [`CaseResult::connections`](super::result::CaseResult::connections) (for `--pcap`;
    /// needs a [`crate::transport::tap::Tap`] in the connector).
    pub capture: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            timeout_scale: 1.0,
            chop: false,
            profile: Arc::new(Profile::default()),
            services: None,
            capture: false,
        }
    }
}

/// Quiet period of a barrier in `quiet` mode (before scaling).
pub const QUIET_MS: u64 = 300;
/// Upper bound on `repeat: times:`.
pub const MAX_TIMES: u64 = 100_000;
