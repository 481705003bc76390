//! The one registry of capabilities: behaviour a conforming server may lack. A case that tests
//! such behaviour `requires:` it; a profile lists the ones its target claims; the loader refuses
//! any other name (`imspec list --capabilities` prints this table with the cases needing each).

/// A named optional behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    /// The name scenarios and profiles use (`<protocol>.<behaviour>`).
    pub name: &'static str,
    /// What a target claiming it does, in one line.
    pub meaning: &'static str,
}

/// Every capability, sorted by name.
pub const ALL: &[Capability] = &[
    cap(
        "fetion.chat",
        "the Fetion chat server: StartChat credentials, chat-server R with TICKS, InviteBuddy, BN UserEntered, M relayed with XI and D",
    ),
    cap(
        "fetion.digest-login",
        "the main server challenges R with 401 W: Digest (SIP-C/2.0 MD5 nonce) and checks the digest response of the second R",
    ),
    cap(
        "fetion.keepalive",
        "the main server answers S N: KeepAlive; barriers on Fetion connections use it (not claimed: they wait a quiet period)",
    ),
    cap(
        "fetion.sipc4",
        "requests written SIP-C/4.0 (OFX, MAPLE clients) are understood and answered SIP-C/4.0",
    ),
    cap(
        "lc.base64-framing",
        "the lc.proto2base64.3 WebSocket subprotocol (base64 text frames) beside lc.protobuf2.3",
    ),
    cap(
        "lc.device-tags",
        "session/open with a device tag: one session per <peerId, tag>, a newer login closes the older with 4111",
    ),
    cap(
        "lc.patch",
        "patch/modify and recall of a message by its sender, pushed to the other members as cmd=patch",
    ),
    cap(
        "lc.push-mode-v1",
        "the version 1 subprotocol (lc.protobuf2.1): offline messages pushed at login, at most 20 per conversation",
    ),
    cap(
        "lc.receipts",
        "delivered/read receipts (rcp) in two-member conversations and conv/max_read",
    ),
    cap(
        "lc.transient",
        "transient messages: delivered to online members only, never stored",
    ),
    cap(
        "lc.will",
        "will messages: held back and sent to the conversation when the sender disconnects without session/close",
    ),
    cap(
        "msnp.gateway-session-timeout",
        "a gateway session idle for X-MSN-SessionTimeout seconds expires",
    ),
    cap(
        "msnp.history",
        "MSGR history sync: SDG stored per conversation, recentconversations and messagesbyconversation paging",
    ),
    cap(
        "msnp.registration",
        "after BND a payload command without the Set-Registration value as Registration is refused",
    ),
    cap(
        "sip.malformed",
        "a malformed SIP request is answered 400 and the server keeps serving",
    ),
    cap(
        "sip.message-relay",
        "MESSAGE to a registered user is relayed to its contact and the UA's final response returned",
    ),
    cap(
        "sip.msrp-mailbox",
        "the MWI Message-Account URI opens an MSRP session that delivers the stored messages (seed 003 approach 2)",
    ),
    cap(
        "sip.mwi",
        "message-summary (RFC 3842): SUBSCRIBE answered by an immediate NOTIFY, PUBLISH notified to subscribers",
    ),
    cap(
        "sip.mwi-store",
        "the server announces its own offline store through message-summary NOTIFYs",
    ),
    cap(
        "sip.offline-store",
        "MESSAGE for an unregistered user is stored (202) and delivered at its next REGISTER",
    ),
    cap(
        "sip.registrar",
        "REGISTER binds and unbinds contacts (Expires 0 removes the binding)",
    ),
];

/// The capability of that name.
pub fn find(name: &str) -> Option<&'static Capability> {
    ALL.iter().find(|c| c.name == name)
}

/// The error message for a name not in the registry.
pub fn unknown(name: &str) -> String {
    format!("unknown capability `{name}` (`imspec list --capabilities` prints the known ones)")
}

const fn cap(name: &'static str, meaning: &'static str) -> Capability {
    Capability { name, meaning }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_and_unique() {
        assert!(ALL.windows(2).all(|w| w[0].name < w[1].name));
        assert!(find("fetion.chat").is_some() && find("fetion.nope").is_none());
    }
}
