//! Deliberately broken variants of the reference server, one broken rule each.
//!
//! `imspec serve --mutant NAME` and `imspec selftest` use these to prove that the scenarios
//! catch a server that breaks a rule: a suite that passes a broken server is worse than none.

use std::fmt;
use std::str::FromStr;

/// One rule the reference server can be told to break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutant {
    /// Chat-server `R` with a wrong or reused `TICKS` credential is accepted.
    FetionAcceptBadCredential,
    /// Main-server `R` with a wrong digest response is accepted.
    FetionAcceptBadPassword,
    /// Chat-server `R` is answered `200` without `X:`.
    FetionChatRegisterNoX,
    /// Planted bug, fuzz-only (not in [`Mutant::ALL`]): a message whose `I:` is longer than
    /// 32 bytes makes the Fetion hub panic, which leaves the Fetion services unresponsive.
    FetionCrashOnLongCallId,
    /// A request whose `L:` is all digits but too big for a number crashes the server: every connection closes (the classic `parse().unwrap()` panic).
    FetionHugeLCrashes,
    /// InviteBuddy naming only offline buddies is answered `200` (and no `I` goes anywhere).
    FetionInviteOfflineOk,
    /// The invitee's `I` lists only the invitee in its `a=user:` lines, not the inviter.
    FetionInviteOmitsInviter,
    /// Server-sent bodies carry `L:` one more than their length.
    FetionLOffByOne,
    /// A malformed request whose head can be delimited is skipped without a `400`.
    FetionMalformedIgnored,
    /// Responses carry an `I:` different from the request's.
    FetionNoEchoI,
    /// Responses carry a `Q:` different from the request's.
    FetionNoEchoQ,
    /// No `BN` Conversation/UserEntered when both parties are on the chat server.
    FetionNoUserEntered,
    /// Server-originated requests (`I`, `BN`, relayed `M`) carry the other version token than the one the receiving connection registered with.
    FetionPushVersionMismatch,
    /// Relayed `M` carries a `D:` one second later than the one in the sender's `200 OK`.
    FetionRelayDMismatch,
    /// Relayed `M` carries no `F:`.
    FetionRelayNoF,
    /// Relayed `M` carries no `XI:`.
    FetionRelayNoXi,
    /// Planted race, for `imspec run --repeat` (in [`Mutant::RACY`], not in
    /// [`Mutant::ALL`]): each relayed `M` is, at random, held back for
    /// [`LATE_MS`](super::fetion::LATE_MS), past the receiver's step timeout; a case sees it
    /// in some runs and not in others.
    FetionRelaySometimesLate,
    /// Relayed `M` carries an `XI:` different from the one in the sender's `200 OK`.
    FetionRelayXiMismatch,
    /// The StartChat `200` names the chat server's host without its port in `A: CS address=`.
    FetionStartchatNoPort,
    /// Only the member who joins last gets `BN` Conversation/UserEntered; the others hear nothing.
    FetionUserEnteredOneParty,
    /// Responses always carry `SIP-C/2.0`, whatever the request's version token.
    FetionVersionNotEchoed,
    /// A rejected concurrent gateway poll takes the waiting poll's place, so the next output
    /// is handed to a request that was already answered and is lost.
    GatewayConcurrentLosesOutput,
    /// `X-Requested-Session-Content-Type: text/html` is ignored (always
    /// `application/x-msn-messenger`).
    GatewayIgnoresContentTypeRequest,
    /// Gateway responses lack `GW-IP`, `X-MSN-Host` and `X-MSN-SessionTimeout`.
    GatewayMissingHeaders,
    /// Idle gateway sessions never expire.
    GatewayNoIdleExpiry,
    /// Planted bug, fuzz-only (not in [`Mutant::ALL`]): a request body that is not whole MSNP
    /// commands wedges the gateway, which never answers a request again.
    GatewayWedgeOnBadBody,
    /// A gateway poll waits its whole `Lifespan` even when output exists.
    GatewayPollHoldsOutput,
    /// A gateway poll ignores `Lifespan` and waits the 180 s cap.
    GatewayPollIgnoresLifespan,
    /// Gateway response bodies are cut every 16 bytes, splitting commands across responses.
    GatewaySplitCommands,
    /// The gateway rotates the `SessionID` suffix but accepts only the first one it issued.
    GatewayStaleSessionId,
    /// An unknown `SessionID` silently opens a new session and runs the commands.
    GatewayUnknownSessionAccepted,
    /// Planted bug, fuzz-only (not in [`Mutant::ALL`]): a command whose `peerId` is longer
    /// than 32 bytes makes the LeanCloud hub panic, which leaves LeanCloud unresponsive.
    LcCrashOnLongPeerId,
    /// Commands other than `session/open` and `echo` are served before `session/open` (as the session named by `peerId`) instead of being refused with error 4105 `SESSION_REQUIRED`.
    LcAcceptBeforeOpen,
    /// The `ack` answering a `direct` carries the timestamp `t` but no `uid` (message id).
    LcAckWithoutUid,
    /// `logs` in the default direction (`OLD`) returns the oldest messages of the conversation (before `t`) instead of the newest ones.
    LcLogsOldestFirst,
    /// A second `session/open` with the same `<peerId, tag>` leaves the older session logged in: no `session/closed` with code 4111.
    LcNoConflictClose,
    /// A `direct` repeating a client message id (`dt`) already acknowledged is stored, delivered and acknowledged again with a new `uid` instead of the first one.
    LcNoDedup,
    /// Messages pushed to a device and not acknowledged are not pushed again when the device reconnects (`r=true` with its session token).
    LcNoRedelivery,
    /// A message is pushed to the other members but not to the sender's other devices (sessions).
    LcNoSelfFanout,
    /// Version 1 (`lc.*.1`) pushes every unacknowledged message of a conversation at login instead of at most 20.
    LcOfflinePushUnbounded,
    /// `patch/modify` of someone else's message succeeds (and is pushed) instead of error 4403 `MESSAGE_OWNERSHIP_REQUIRED`.
    LcPatchByAnyone,
    /// Delivery and read receipts (`rcp`) are also sent in conversations of more than 2 members.
    LcReceiptInGroup,
    /// A recalled message keeps its content: the `patch` push and later `logs` still carry its `data`.
    LcRecallKeepsContent,
    /// A reconnect (`r=true`) that conflicts on `<peerId, tag>` logs the older session out (`session/closed` 4111) instead of being refused with error 4111.
    LcReconnectKicksOld,
    /// Replies carry the request's `i` plus one.
    LcReplyWrongI,
    /// Transient messages are stored: they show up in `logs` (and count as unread).
    LcTransientStored,
    /// The `unread` push at login ignores `lastUnreadNotifTime`: conversations without news since then are listed again.
    LcUnreadIgnoresLastNotif,
    /// Unread tuples say `mentioned: false` even when an unread message mentions the member (`mentionPids` or `mentionAll`).
    LcUnreadNoMentioned,
    /// The will message is also sent when its user logs out with `session/close`, not only on an unexpected disconnect.
    LcWillOnLogout,
    /// A message of a history page appears again on the next page.
    MsnpDuplicateAcrossPages,
    /// Errors use the MSNP18 two-token form `911 3` with no length and no payload.
    MsnpErrorsTwoTokens,
    /// `GET` replies reuse the request's root element (`<recentconversations>`) instead of `<…-response>`.
    MsnpGetReplyWrongRoot,
    /// `hasmore` is always `False`, even when older messages remain.
    MsnpHasmoreAlwaysFalse,
    /// `MESSAGESBYCONVERSATION` pages are oldest first.
    MsnpHistoryOldestFirst,
    /// A delivered `SDG`'s layered `Content-Length` is one more than its body.
    MsnpLayeredLengthOffByOne,
    /// Payload lengths on the command line are one more than the payload.
    MsnpLenOffByOne,
    /// `BND` reply has no `Set-Registration` header.
    MsnpNoSetRegistration,
    /// A non-member may read a conversation's history.
    MsnpNonmemberReadsHistory,
    /// The `PNG` reply has an empty body: no `<wait>`.
    MsnpPngNoWait,
    /// `RECENTCONVERSATIONS` returns every message of each conversation, not the newest only.
    MsnpRecentAllMessages,
    /// `RECENTCONVERSATIONS` gives each conversation its oldest message instead of its newest.
    MsnpRecentOldestMessage,
    /// After `BND`, payload commands without the current `Registration` are accepted.
    MsnpRegistrationNotEnforced,
    /// Replies and errors carry the request's full target (`GET 12 MSGR\\RECENTCONVERSATIONS`), not its scope.
    MsnpReplyFullTarget,
    /// `SDG` is stored and acknowledged but not pushed to the online recipient.
    MsnpSdgNotDelivered,
    /// The `messagessyncstate` cursor is ignored: every request returns the first page again.
    MsnpSyncstateRestarts,
    /// Replies carry a TrID different from the request's.
    MsnpTridMismatch,
    /// A MESSAGE stored for an offline user is answered `200 OK` instead of `202 Accepted`.
    Sip202As200,
    /// A stored message is deleted when its dump MESSAGE is sent, not after the user agent's 2xx: a UA that answers non-2xx (or not at all) loses it.
    SipDeleteBefore2xx,
    /// Stored messages are dumped on REGISTER newest first.
    SipDumpOutOfOrder,
    /// A request missing `Via`/`From`/`To`/`Call-ID`/`CSeq` (or with a bad one) gets no `400`.
    SipMalformedIgnored,
    /// Messages the MSRP mailbox SENT and the client answered `200` stay stored (no drain, no `Messages-Waiting: no`).
    SipMsrpNoDrain,
    /// message-summary bodies count one more `Text-Message` than are stored.
    SipMwiWrongCount,
    /// No NOTIFY goes out when a user's mailbox becomes empty (dump or MSRP).
    SipNoNotifyOnDrain,
    /// A PUBLISH with an unknown `SIP-If-Match` is accepted (`200`) instead of `412`.
    SipPublishUnknownEtagOk,
    /// A `200` to REGISTER leaves `To` without the registrar's tag (RFC 3261 §8.2.6.2).
    SipRegisterNoToTag,
    /// A MESSAGE whose relay to a registered contact fails (non-2xx, timeout, lost connection) is answered `480` and not stored.
    SipRelayDropsOffline,
    /// A relayed MESSAGE keeps the `Route` entry that names this proxy (RFC 3261 §16.4).
    SipRelayKeepsOwnRoute,
    /// An `application/im-iscomposing+xml` status message for an offline user is stored,
    /// counted in message-summary and dumped on REGISTER like a message.
    SipStoresIsComposing,
    /// REGISTER with `Expires: 0` (or `expires=0`, or `Contact: *`) keeps the binding: the `200` still lists it.
    SipUnregisterIgnored,
    /// SUBSCRIBE with `Expires: 0` is taken as a refresh for the default hour: the subscription
    /// stays and its NOTIFY says `active`, never `terminated`.
    SipUnsubscribeStillActive,
}

impl Mutant {
    /// Every mutant, in name order.
    pub const ALL: &'static [Self] = &[
        Self::FetionAcceptBadCredential,
        Self::FetionAcceptBadPassword,
        Self::FetionChatRegisterNoX,
        Self::FetionHugeLCrashes,
        Self::FetionInviteOfflineOk,
        Self::FetionInviteOmitsInviter,
        Self::FetionLOffByOne,
        Self::FetionMalformedIgnored,
        Self::FetionNoEchoI,
        Self::FetionNoEchoQ,
        Self::FetionNoUserEntered,
        Self::FetionPushVersionMismatch,
        Self::FetionRelayDMismatch,
        Self::FetionRelayNoF,
        Self::FetionRelayNoXi,
        Self::FetionRelayXiMismatch,
        Self::FetionStartchatNoPort,
        Self::FetionUserEnteredOneParty,
        Self::FetionVersionNotEchoed,
        Self::GatewayConcurrentLosesOutput,
        Self::GatewayIgnoresContentTypeRequest,
        Self::GatewayMissingHeaders,
        Self::GatewayNoIdleExpiry,
        Self::GatewayPollHoldsOutput,
        Self::GatewayPollIgnoresLifespan,
        Self::GatewaySplitCommands,
        Self::GatewayStaleSessionId,
        Self::GatewayUnknownSessionAccepted,
        Self::LcAcceptBeforeOpen,
        Self::LcAckWithoutUid,
        Self::LcLogsOldestFirst,
        Self::LcNoConflictClose,
        Self::LcNoDedup,
        Self::LcNoRedelivery,
        Self::LcNoSelfFanout,
        Self::LcOfflinePushUnbounded,
        Self::LcPatchByAnyone,
        Self::LcRecallKeepsContent,
        Self::LcReceiptInGroup,
        Self::LcReconnectKicksOld,
        Self::LcReplyWrongI,
        Self::LcTransientStored,
        Self::LcUnreadIgnoresLastNotif,
        Self::LcUnreadNoMentioned,
        Self::LcWillOnLogout,
        Self::MsnpDuplicateAcrossPages,
        Self::MsnpErrorsTwoTokens,
        Self::MsnpGetReplyWrongRoot,
        Self::MsnpHasmoreAlwaysFalse,
        Self::MsnpHistoryOldestFirst,
        Self::MsnpLayeredLengthOffByOne,
        Self::MsnpLenOffByOne,
        Self::MsnpNoSetRegistration,
        Self::MsnpNonmemberReadsHistory,
        Self::MsnpPngNoWait,
        Self::MsnpRecentAllMessages,
        Self::MsnpRecentOldestMessage,
        Self::MsnpRegistrationNotEnforced,
        Self::MsnpReplyFullTarget,
        Self::MsnpSdgNotDelivered,
        Self::MsnpSyncstateRestarts,
        Self::MsnpTridMismatch,
        Self::Sip202As200,
        Self::SipDeleteBefore2xx,
        Self::SipDumpOutOfOrder,
        Self::SipMalformedIgnored,
        Self::SipMsrpNoDrain,
        Self::SipMwiWrongCount,
        Self::SipNoNotifyOnDrain,
        Self::SipPublishUnknownEtagOk,
        Self::SipRegisterNoToTag,
        Self::SipRelayDropsOffline,
        Self::SipRelayKeepsOwnRoute,
        Self::SipStoresIsComposing,
        Self::SipUnregisterIgnored,
        Self::SipUnsubscribeStillActive,
    ];

    /// Planted bugs that only `imspec fuzz` is meant to find. No conformance scenario targets
    /// them, so `imspec selftest`, which iterates [`Mutant::ALL`], leaves them out; `serve
    /// --mutant` and `fuzz --mutant` accept them by name.
    pub const FUZZ_ONLY: &'static [Self] = &[
        Self::FetionCrashOnLongCallId,
        Self::GatewayWedgeOnBadBody,
        Self::LcCrashOnLongPeerId,
    ];

    /// Planted races, which break a rule only in some runs: what `imspec run --repeat` must
    /// report as `flaky`. `imspec selftest` runs every case once per mutant and fails when a
    /// mutant survives every case, so a mutant caught only sometimes would make the self-test
    /// itself flaky: it leaves these out; `serve --mutant` accepts them by name.
    pub const RACY: &'static [Self] = &[Self::FetionRelaySometimesLate];

    /// The command-line name (`fetion-no-echo-i`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::FetionAcceptBadCredential => "fetion-accept-bad-credential",
            Self::FetionAcceptBadPassword => "fetion-accept-bad-password",
            Self::FetionChatRegisterNoX => "fetion-chat-register-no-x",
            Self::FetionCrashOnLongCallId => "fetion-crash-on-long-call-id",
            Self::GatewayWedgeOnBadBody => "gateway-wedge-on-bad-body",
            Self::LcCrashOnLongPeerId => "lc-crash-on-long-peer-id",
            Self::FetionHugeLCrashes => "fetion-huge-l-crashes",
            Self::FetionInviteOfflineOk => "fetion-invite-offline-ok",
            Self::FetionInviteOmitsInviter => "fetion-invite-omits-inviter",
            Self::FetionLOffByOne => "fetion-l-off-by-one",
            Self::FetionMalformedIgnored => "fetion-malformed-ignored",
            Self::FetionNoEchoI => "fetion-no-echo-i",
            Self::FetionNoEchoQ => "fetion-no-echo-q",
            Self::FetionNoUserEntered => "fetion-no-userentered",
            Self::FetionPushVersionMismatch => "fetion-push-version-mismatch",
            Self::FetionRelayDMismatch => "fetion-relay-d-mismatch",
            Self::FetionRelayNoF => "fetion-relay-no-f",
            Self::FetionRelayNoXi => "fetion-relay-no-xi",
            Self::FetionRelaySometimesLate => "fetion-relay-sometimes-late",
            Self::FetionRelayXiMismatch => "fetion-relay-xi-mismatch",
            Self::FetionStartchatNoPort => "fetion-startchat-no-port",
            Self::FetionUserEnteredOneParty => "fetion-userentered-one-party",
            Self::FetionVersionNotEchoed => "fetion-version-not-echoed",
            Self::GatewayConcurrentLosesOutput => "gateway-concurrent-loses-output",
            Self::GatewayIgnoresContentTypeRequest => "gateway-ignores-content-type-request",
            Self::GatewayMissingHeaders => "gateway-missing-headers",
            Self::GatewayNoIdleExpiry => "gateway-no-idle-expiry",
            Self::GatewayPollHoldsOutput => "gateway-poll-holds-output",
            Self::GatewayPollIgnoresLifespan => "gateway-poll-ignores-lifespan",
            Self::GatewaySplitCommands => "gateway-split-commands",
            Self::GatewayStaleSessionId => "gateway-stale-session-id",
            Self::GatewayUnknownSessionAccepted => "gateway-unknown-session-accepted",
            Self::LcAcceptBeforeOpen => "lc-accept-before-open",
            Self::LcAckWithoutUid => "lc-ack-without-uid",
            Self::LcLogsOldestFirst => "lc-logs-oldest-first",
            Self::LcNoConflictClose => "lc-no-conflict-close",
            Self::LcNoDedup => "lc-no-dedup",
            Self::LcNoRedelivery => "lc-no-redelivery",
            Self::LcNoSelfFanout => "lc-no-self-fanout",
            Self::LcOfflinePushUnbounded => "lc-offline-push-unbounded",
            Self::LcPatchByAnyone => "lc-patch-by-anyone",
            Self::LcReceiptInGroup => "lc-receipt-in-group",
            Self::LcRecallKeepsContent => "lc-recall-keeps-content",
            Self::LcReconnectKicksOld => "lc-reconnect-kicks-old",
            Self::LcReplyWrongI => "lc-reply-wrong-i",
            Self::LcTransientStored => "lc-transient-stored",
            Self::LcUnreadIgnoresLastNotif => "lc-unread-ignores-last-notif",
            Self::LcUnreadNoMentioned => "lc-unread-no-mentioned",
            Self::LcWillOnLogout => "lc-will-on-logout",
            Self::MsnpDuplicateAcrossPages => "msnp-duplicate-across-pages",
            Self::MsnpErrorsTwoTokens => "msnp-errors-two-tokens",
            Self::MsnpGetReplyWrongRoot => "msnp-get-reply-wrong-root",
            Self::MsnpHasmoreAlwaysFalse => "msnp-hasmore-always-false",
            Self::MsnpHistoryOldestFirst => "msnp-history-oldest-first",
            Self::MsnpLayeredLengthOffByOne => "msnp-layered-length-off-by-one",
            Self::MsnpLenOffByOne => "msnp-len-off-by-one",
            Self::MsnpNoSetRegistration => "msnp-no-set-registration",
            Self::MsnpNonmemberReadsHistory => "msnp-nonmember-reads-history",
            Self::MsnpPngNoWait => "msnp-png-no-wait",
            Self::MsnpRecentAllMessages => "msnp-recent-all-messages",
            Self::MsnpRecentOldestMessage => "msnp-recent-oldest-message",
            Self::MsnpRegistrationNotEnforced => "msnp-registration-not-enforced",
            Self::MsnpReplyFullTarget => "msnp-reply-full-target",
            Self::MsnpSdgNotDelivered => "msnp-sdg-not-delivered",
            Self::MsnpSyncstateRestarts => "msnp-syncstate-restarts",
            Self::MsnpTridMismatch => "msnp-trid-mismatch",
            Self::Sip202As200 => "sip-202-as-200",
            Self::SipDeleteBefore2xx => "sip-delete-before-2xx",
            Self::SipDumpOutOfOrder => "sip-dump-out-of-order",
            Self::SipMalformedIgnored => "sip-malformed-ignored",
            Self::SipMsrpNoDrain => "sip-msrp-no-drain",
            Self::SipMwiWrongCount => "sip-mwi-wrong-count",
            Self::SipNoNotifyOnDrain => "sip-no-notify-on-drain",
            Self::SipPublishUnknownEtagOk => "sip-publish-unknown-etag-ok",
            Self::SipRelayDropsOffline => "sip-relay-drops-offline",
            Self::SipRelayKeepsOwnRoute => "sip-relay-keeps-own-route",
            Self::SipStoresIsComposing => "sip-stores-iscomposing",
            Self::SipRegisterNoToTag => "sip-register-no-to-tag",
            Self::SipUnregisterIgnored => "sip-unregister-ignored",
            Self::SipUnsubscribeStillActive => "sip-unsubscribe-still-active",
        }
    }

    /// One line saying which rule is broken.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::FetionAcceptBadCredential => {
                "chat-server R accepts a wrong or reused TICKS credential"
            }
            Self::FetionAcceptBadPassword => "main-server R accepts a wrong digest response",
            Self::FetionChatRegisterNoX => "chat-server R 200 carries no X:",
            Self::FetionCrashOnLongCallId => {
                "an I: longer than 32 bytes crashes the Fetion hub (fuzz-only)"
            }
            Self::GatewayWedgeOnBadBody => {
                "a gateway body that is not whole MSNP commands wedges the gateway (fuzz-only)"
            }
            Self::LcCrashOnLongPeerId => {
                "a peerId longer than 32 bytes crashes the LeanCloud hub (fuzz-only)"
            }
            Self::FetionHugeLCrashes => {
                "an L: too big for a number crashes the server: every connection closes"
            }
            Self::FetionInviteOfflineOk => "InviteBuddy for an offline invitee is answered 200",
            Self::FetionInviteOmitsInviter => {
                "the invitee's I body has no a=user: line for the inviter"
            }
            Self::FetionLOffByOne => "server-sent L: is one more than the body length",
            Self::FetionMalformedIgnored => "a malformed request is skipped silently, no 400",
            Self::FetionNoEchoI => "responses do not echo the request's I:",
            Self::FetionNoEchoQ => "responses do not echo the request's Q:",
            Self::FetionNoUserEntered => "no BN Conversation UserEntered when both parties joined",
            Self::FetionPushVersionMismatch => {
                "server requests (I, BN, relayed M) use the other version token than the connection"
            }
            Self::FetionRelayDMismatch => "relayed M's D: differs from the sender's 200 OK D:",
            Self::FetionRelayNoF => "relayed M has no F:",
            Self::FetionRelayNoXi => "relayed M has no XI:",
            Self::FetionRelaySometimesLate => {
                "each relayed M is, at random, held back 60 s (a race: for run --repeat)"
            }
            Self::FetionRelayXiMismatch => "relayed M's XI: differs from the sender's 200 OK XI:",
            Self::FetionStartchatNoPort => "StartChat 200 gives the chat address without its port",
            Self::FetionUserEnteredOneParty => {
                "BN UserEntered goes to the newcomer only, not to the members already there"
            }
            Self::FetionVersionNotEchoed => "responses are SIP-C/2.0 even to a SIP-C/4.0 request",
            Self::GatewayConcurrentLosesOutput => {
                "a rejected concurrent poll takes the waiting poll's place; the next output is lost"
            }
            Self::GatewayIgnoresContentTypeRequest => {
                "X-Requested-Session-Content-Type: text/html is ignored"
            }
            Self::GatewayMissingHeaders => {
                "responses lack GW-IP, X-MSN-Host and X-MSN-SessionTimeout"
            }
            Self::GatewayNoIdleExpiry => "idle gateway sessions never expire",
            Self::GatewayPollHoldsOutput => {
                "a poll waits its whole Lifespan even when output exists"
            }
            Self::GatewayPollIgnoresLifespan => "a poll ignores Lifespan and waits the 180 s cap",
            Self::GatewaySplitCommands => {
                "response bodies are cut every 16 bytes, splitting commands"
            }
            Self::GatewayStaleSessionId => {
                "the SessionID suffix rotates but only the first id is accepted"
            }
            Self::GatewayUnknownSessionAccepted => {
                "an unknown SessionID opens a new session instead of being refused"
            }
            Self::LcAcceptBeforeOpen => {
                "commands before session/open are served instead of refused with 4105"
            }
            Self::LcAckWithoutUid => "the direct ack carries t but no uid (message id)",
            Self::LcLogsOldestFirst => {
                "logs with direction OLD return the oldest messages, not the newest"
            }
            Self::LcNoConflictClose => {
                "a second login with the same peerId and tag leaves the older session open, no session/closed 4111"
            }
            Self::LcNoDedup => {
                "a direct repeating a dt is stored and delivered again with a new uid"
            }
            Self::LcNoRedelivery => {
                "messages pushed and not acked are not pushed again when the device reconnects"
            }
            Self::LcNoSelfFanout => "a message is not pushed to the sender's other devices",
            Self::LcOfflinePushUnbounded => {
                "version 1 pushes every offline message of a conversation, not at most 20"
            }
            Self::LcPatchByAnyone => "any member may modify or recall anyone's message (no 4403)",
            Self::LcReceiptInGroup => {
                "delivery and read receipts are also sent in conversations of 3 or more members"
            }
            Self::LcRecallKeepsContent => {
                "a recalled message keeps its content in the patch push and in logs"
            }
            Self::LcReconnectKicksOld => {
                "a conflicting reconnect (r=true) logs the older session out instead of being refused"
            }
            Self::LcReplyWrongI => "replies carry i + 1 instead of the request's i",
            Self::LcTransientStored => "transient messages are stored and show up in logs",
            Self::LcUnreadIgnoresLastNotif => {
                "unread notifications repeat conversations older than lastUnreadNotifTime"
            }
            Self::LcUnreadNoMentioned => {
                "unread tuples never set mentioned, even when a message mentions the member"
            }
            Self::LcWillOnLogout => "the will message is also sent on an explicit session/close",
            Self::MsnpDuplicateAcrossPages => {
                "history pages repeat the last message of the previous page"
            }
            Self::MsnpErrorsTwoTokens => "errors are NNN TrID with no target, length or payload",
            Self::MsnpGetReplyWrongRoot => "GET reply root element lacks the -response suffix",
            Self::MsnpHasmoreAlwaysFalse => "hasmore is always False",
            Self::MsnpHistoryOldestFirst => "history pages are oldest first",
            Self::MsnpLayeredLengthOffByOne => {
                "delivered SDG's layered Content-Length is one more than the body"
            }
            Self::MsnpLenOffByOne => "command-line payload length is one more than the payload",
            Self::MsnpNoSetRegistration => "BND reply carries no Set-Registration",
            Self::MsnpNonmemberReadsHistory => "a non-member may read a conversation's history",
            Self::MsnpPngNoWait => "PNG reply carries no <wait>",
            Self::MsnpRecentAllMessages => {
                "recentconversations returns every message per conversation"
            }
            Self::MsnpRecentOldestMessage => {
                "recentconversations returns the oldest message per conversation"
            }
            Self::MsnpRegistrationNotEnforced => "Registration is not checked after BND",
            Self::MsnpReplyFullTarget => "replies carry the full target, not the bare scope",
            Self::MsnpSdgNotDelivered => "SDG is not pushed to the online recipient",
            Self::MsnpSyncstateRestarts => {
                "messagessyncstate is ignored; paging restarts at the newest page"
            }
            Self::MsnpTridMismatch => "replies do not echo the request's TrID",
            Self::Sip202As200 => "a stored MESSAGE is answered 200 instead of 202",
            Self::SipDeleteBefore2xx => {
                "stored messages are deleted when dumped, before the UA's 2xx"
            }
            Self::SipDumpOutOfOrder => "stored messages are dumped newest first",
            Self::SipMalformedIgnored => {
                "a request with a missing or bad mandatory header gets no 400"
            }
            Self::SipMsrpNoDrain => "messages fetched over MSRP stay in the mailbox",
            Self::SipMwiWrongCount => "message-summary Text-Message counts one too many",
            Self::SipNoNotifyOnDrain => "no NOTIFY when the mailbox drains",
            Self::SipPublishUnknownEtagOk => {
                "PUBLISH with an unknown SIP-If-Match gets 200, not 412"
            }
            Self::SipRegisterNoToTag => "a 200 to REGISTER has no To tag",
            Self::SipRelayKeepsOwnRoute => "a relayed MESSAGE keeps the proxy's own Route entry",
            Self::SipStoresIsComposing => {
                "an isComposing indication for an offline user is stored as a message"
            }
            Self::SipRelayDropsOffline => {
                "a MESSAGE whose relay fails is answered 480 and not stored"
            }
            Self::SipUnregisterIgnored => "Expires: 0 does not remove the binding",
            Self::SipUnsubscribeStillActive => {
                "SUBSCRIBE Expires: 0 leaves the subscription active"
            }
        }
    }

    /// The protocol whose rule this mutant breaks (by its name's prefix, see
    /// [`Protocol::mutants`](crate::Protocol::mutants)): only that protocol's scenarios can
    /// catch it.
    pub fn protocol(self) -> &'static crate::Protocol {
        let name = self.name();
        crate::PROTOCOLS
            .iter()
            .find(|p| p.mutants.iter().any(|pre| name.starts_with(pre)))
            .expect("every mutant belongs to one protocol (hub::tests)")
    }

    /// Whether this mutant breaks an MSNP HTTP gateway rule (a subset of the MSNP mutants:
    /// only cases that go through the gateway can catch it).
    pub fn is_gateway(self) -> bool {
        self.name().starts_with("gateway-")
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown mutant name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown mutant `{0}` (known: {known})", known = Mutant::ALL.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "))]
pub struct UnknownMutant(pub String);

impl FromStr for Mutant {
    type Err = UnknownMutant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .chain(Self::FUZZ_ONLY)
            .chain(Self::RACY)
            .copied()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownMutant(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutant_names_round_trip_and_are_sorted_and_unique() {
        let names: Vec<_> = Mutant::ALL.iter().map(|m| m.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        for m in Mutant::ALL {
            assert_eq!(m.name().parse::<Mutant>(), Ok(*m));
            assert!(!m.describe().is_empty());
        }
        assert!("fetion-nothing".parse::<Mutant>().is_err());
        for m in Mutant::FUZZ_ONLY.iter().chain(Mutant::RACY) {
            assert_eq!(m.name().parse::<Mutant>(), Ok(*m));
            assert!(!Mutant::ALL.contains(m), "{m} must stay out of selftest");
        }
        assert_eq!(Mutant::FetionNoEchoI.protocol().name, "fetion");
        assert_eq!(Mutant::MsnpTridMismatch.protocol().name, "msnp");
        assert_eq!(Mutant::GatewaySplitCommands.protocol().name, "msnp");
    }
}
