//! Client mutants: the reference client with one rule broken, so `imspec selftest` can prove
//! every client case is able to fail (as `server::Mutant` does for servers).

use std::fmt;

use imspec_harness::proto;
use imspec_harness::scenario::Protocol;

/// One broken rule of a reference client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mutant {
    /// LeanCloud: shows a redelivered message again (no de-duplication by message id).
    LcDuplicates,
    /// LeanCloud: does not surface a 4111 conflict and reconnects as if the link had dropped.
    LcIgnoresConflict,
    /// LeanCloud: ignores `patch` pushes (recalls and edits never reach the user).
    LcIgnoresPatch,
    /// LeanCloud: never acknowledges a pushed message.
    LcNoAck,
    /// LeanCloud: reopens the session without `lastUnreadNotifTime`.
    LcNoNotifTime,
    /// LeanCloud: pairs a reply with the oldest command waiting, not by `i`.
    LcPairsByOrder,
    /// Fetion: computes the digest with the key as 32 hex digits instead of 16 raw bytes.
    FetionHexKey,
    /// Fetion: writes `L` as the number of characters, not UTF-8 bytes.
    FetionLengthInChars,
    /// Fetion: never answers a pushed `M`.
    FetionNo200,
    /// Fetion: answers pushed requests with its own `Q` (`1 <method>`), not the request's.
    FetionWrongQ,
    /// MSNP: omits `Registration` on commands after `BND`.
    MsnpNoRegistration,
    /// MSNP: never pings (`PNG`).
    MsnpNoPng,
    /// MSNP: reads only the first history page, whatever `<hasmore>` says.
    MsnpOnePage,
    /// MSNP: gives every command TrID 1.
    MsnpTridRepeats,
    /// SIP: never answers a MESSAGE.
    SipNo200ToMessage,
    /// SIP: never answers a NOTIFY.
    SipNo200ToNotify,
    /// SIP: lets its registration expire (no refresh).
    SipNoRefresh,
}

impl Mutant {
    /// Every client mutant.
    pub const ALL: &'static [Self] = &[
        Self::LcDuplicates,
        Self::LcIgnoresConflict,
        Self::LcIgnoresPatch,
        Self::LcNoAck,
        Self::LcNoNotifTime,
        Self::LcPairsByOrder,
        Self::FetionHexKey,
        Self::FetionLengthInChars,
        Self::FetionNo200,
        Self::FetionWrongQ,
        Self::MsnpNoRegistration,
        Self::MsnpNoPng,
        Self::MsnpOnePage,
        Self::MsnpTridRepeats,
        Self::SipNo200ToMessage,
        Self::SipNo200ToNotify,
        Self::SipNoRefresh,
    ];

    /// The name on the command line (`imspec client-driver --mutant lc-no-ack`).
    pub fn name(self) -> &'static str {
        match self {
            Self::LcDuplicates => "lc-duplicates",
            Self::LcIgnoresConflict => "lc-ignores-conflict",
            Self::LcIgnoresPatch => "lc-ignores-patch",
            Self::LcNoAck => "lc-no-ack",
            Self::LcNoNotifTime => "lc-no-notif-time",
            Self::LcPairsByOrder => "lc-pairs-by-order",
            Self::FetionHexKey => "fetion-hex-key",
            Self::FetionLengthInChars => "fetion-length-in-chars",
            Self::FetionNo200 => "fetion-no-200",
            Self::FetionWrongQ => "fetion-wrong-q",
            Self::MsnpNoRegistration => "msnp-no-registration",
            Self::MsnpNoPng => "msnp-no-png",
            Self::MsnpOnePage => "msnp-one-page",
            Self::MsnpTridRepeats => "msnp-trid-repeats",
            Self::SipNo200ToMessage => "sip-no-200-to-message",
            Self::SipNo200ToNotify => "sip-no-200-to-notify",
            Self::SipNoRefresh => "sip-no-refresh",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// The protocol whose client cases can catch it.
    pub fn protocol(self) -> Protocol {
        match self {
            Self::LcDuplicates
            | Self::LcIgnoresConflict
            | Self::LcIgnoresPatch
            | Self::LcNoAck
            | Self::LcNoNotifTime
            | Self::LcPairsByOrder => Protocol::of(&proto::leancloud::LeanCloud),
            Self::FetionHexKey
            | Self::FetionLengthInChars
            | Self::FetionNo200
            | Self::FetionWrongQ => Protocol::of(&proto::fetion::Fetion),
            Self::MsnpNoRegistration
            | Self::MsnpNoPng
            | Self::MsnpOnePage
            | Self::MsnpTridRepeats => Protocol::of(&proto::msnp::Msnp),
            Self::SipNo200ToMessage | Self::SipNo200ToNotify | Self::SipNoRefresh => {
                Protocol::of(&proto::sip::Sip)
            }
        }
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Mutant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_name(s).ok_or_else(|| {
            format!(
                "unknown client mutant `{s}` (expected one of {})",
                Self::ALL
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}
