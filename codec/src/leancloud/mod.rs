//! LeanCloud realtime ("LeanMessage") commands: one protobuf `GenericCommand` per
//! WebSocket frame (docs/protocols/leancloud.md).
//!
//! Reference: the schema `push_server.messages2` of the JavaScript SDK `leancloud-realtime`
//! 4.3.1 (`proto/message.proto`, kept as [`PROTO`] beside this module), its subprotocol
//! names (`src/connection.js`) and the frames it sends (`corpus/leancloud/`).
//!
//! * Framing: the WebSocket subprotocol `lc.<format>.<version>` ([`Subprotocol`]) says how a
//!   command travels: [`Format::Protobuf2`] as the bytes of a binary frame,
//!   [`Format::Proto2Base64`] as a text frame holding standard base64 (with padding) of the
//!   same bytes. WebSocket framing itself is the transport's job: the codec sees one whole
//!   message at a time, so there is no `Incomplete` status here and the prefix and chunking
//!   laws of the `testing` module do not apply.
//! * Values: [`GenericCommand`] and its sub-messages are prost messages (proto2 optional
//!   fields as `Option`, enum fields as `Option<i32>` so unknown values survive); they are
//!   owned, not borrowed from the frame, because prost decodes into owned values.
//! * Readable form: every message is serde `Serialize` and `Deserialize` with the proto
//!   field names, enum names as strings and absent fields left out (see [`message`]), so
//!   scenarios write `{cmd: session, op: open, peerId: alice, sessionMessage: {ua: js/4.3.1}}`.
//! * Errors: [`decode`] returns an [`Error`] whose offset is the first offending byte of the
//!   frame as received (kinds below). In a base64 frame, an error in the
//!   decoded bytes at byte `k` is reported at character `4k/3`, the character that holds
//!   the first bits of byte `k`.
//!
//! Error kinds: [`ErrorKind::Base64`] for a text frame that is not standard base64 (at the
//! offending character, or the end for a bad length); [`ErrorKind::Protobuf`] at the key of
//! a field whose wire type is invalid or not the one its schema field needs, or whose number
//! is 0, and at a varint longer than ten bytes or cut off; [`ErrorKind::BadLength`] at the
//! length of a length-delimited field that runs past the end of its message, or at a
//! fixed-width value cut off; [`ErrorKind::Utf8`] at the first bad byte of a `string`;
//! [`ErrorKind::LimitExceeded`] for a frame over [`Limits::max_frame`] (at that offset) or
//! nesting past prost's recursion limit; [`ErrorKind::Missing`] at the start of a message
//! body that lacks a proto2 `required` field (unless [`Limits::allow_missing_required`]).
//! When decoding fails, [`check_with`] scans the wire format with the schema (accepting
//! exactly what prost accepts, with the same leniency) to find that byte.
//!
//! Deviations from the SDK's protobufjs 5: proto2 `required` fields are `Option` in Rust,
//! so that a value can be built field by field and a leniently decoded frame re-encodes as
//! it came; [`decode`] refuses a frame without them, as protobufjs does, unless
//! [`Limits::allow_missing_required`]. Unknown fields are skipped and not re-encoded, so
//! only frames without them re-encode byte for byte.
//!
//! ```
//! use imspec_codec::leancloud::{self, CommandType, Format, GenericCommand, OpType};
//!
//! // session/close with i=4, as the SDK sends it in lc.proto2base64.3.
//! let cmd = leancloud::decode(b"CAAQBCgE", Format::Proto2Base64)?;
//! assert_eq!(cmd.command_type(), Some(CommandType::Session));
//! assert_eq!(cmd.op_type(), Some(OpType::Close));
//! assert_eq!(cmd.i, Some(4));
//! let mut binary = Vec::new();
//! leancloud::encode(&cmd, Format::Protobuf2, &mut binary);
//! assert_eq!(binary, [0x08, 0x00, 0x10, 0x04, 0x28, 0x04]);
//! let json: GenericCommand = serde_json::from_str(r#"{"cmd":"session","op":"close","i":4}"#).unwrap();
//! assert_eq!(json, cmd);
//! # Ok::<(), imspec_codec::Error>(())
//! ```

use core::fmt;
use core::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::{Error, ErrorKind};
use message::HoldsRequired as _;

mod codec;
pub mod message;

pub use codec::LeanCloud;
pub(crate) mod wire;

pub use message::{
    AckCommand, BlacklistCommand, CommandType, ConvCommand, ConvMemberInfo, DataCommand,
    DirectCommand, ErrorCommand, GenericCommand, JsonObjectMessage, LogItem, LogsCommand,
    MaxReadTuple, OpType, PatchCommand, PatchItem, PresenceCommand, PubsubCommand, QueryDirection,
    RcpCommand, ReadCommand, ReadTuple, ReportCommand, RoomCommand, SessionCommand, StatusType,
    UnreadCommand, UnreadTuple,
};

/// prost's message trait, for the raw protobuf API of the commands (`encode_to_vec`,
/// `decode` without the pre-scan and its offsets) without depending on prost directly.
pub use prost::Message;

/// The schema as proto2 text (`message.proto`); the structs of [`message`] agree with it.
pub const PROTO: &str = include_str!("message.proto");

/// How a command travels in a WebSocket message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `protobuf2`: the protobuf bytes in a binary frame.
    Protobuf2,
    /// `proto2base64` (the SDK's `noBinary`): standard base64 of the bytes in a text frame.
    Proto2Base64,
}

impl Format {
    /// The name in the subprotocol string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Protobuf2 => "protobuf2",
            Self::Proto2Base64 => "proto2base64",
        }
    }

    /// Whether frames are binary WebSocket messages (else text).
    pub const fn is_binary(self) -> bool {
        matches!(self, Self::Protobuf2)
    }
}

/// The protocol version of the subprotocol string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `1`: the server pushes offline messages (SDK 4.x `pushOfflineMessages: true`).
    V1,
    /// `3`: the server sends unread notifications instead (the default).
    V3,
}

impl Version {
    /// The version number.
    pub const fn number(self) -> u8 {
        match self {
            Self::V1 => 1,
            Self::V3 => 3,
        }
    }
}

/// A WebSocket subprotocol this codec speaks: `lc.<format>.<version>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subprotocol {
    /// Binary or base64 frames.
    pub format: Format,
    /// Push or unread-notification mode.
    pub version: Version,
}

/// Why a subprotocol string is not a [`Subprotocol`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnsupportedSubprotocol {
    /// A LeanCloud subprotocol of older clients ([`Subprotocol::LEGACY`]) this codec does not
    /// speak.
    Legacy,
    /// Not a LeanCloud subprotocol.
    Unknown,
}

impl Subprotocol {
    /// The SDK's default: binary frames, version 3.
    pub const DEFAULT: Self = Self {
        format: Format::Protobuf2,
        version: Version::V3,
    };

    /// Every subprotocol this codec speaks, the default first.
    pub const ALL: [Self; 4] = [
        Self::DEFAULT,
        Self {
            format: Format::Proto2Base64,
            version: Version::V3,
        },
        Self {
            format: Format::Protobuf2,
            version: Version::V1,
        },
        Self {
            format: Format::Proto2Base64,
            version: Version::V1,
        },
    ];

    /// Subprotocols older clients offer (LCOC; docs/protocols/leancloud.md §2.2): known, not spoken here.
    pub const LEGACY: [&'static str; 6] = [
        "lc.json.1",
        "lc.msgpack.1",
        "lc.protobuf.1",
        "lc.json.2",
        "lc.msgpack.2",
        "lc.protobuf.2",
    ];

    /// Reads a `Sec-WebSocket-Protocol` token (exact, case-sensitive as the SDK writes it).
    pub fn parse(token: &str) -> Result<Self, UnsupportedSubprotocol> {
        if let Some(known) = Self::ALL.iter().find(|p| p.as_str() == token) {
            Ok(*known)
        } else if Self::LEGACY.contains(&token) {
            Err(UnsupportedSubprotocol::Legacy)
        } else {
            Err(UnsupportedSubprotocol::Unknown)
        }
    }

    /// The token, e.g. `lc.protobuf2.3`.
    pub const fn as_str(self) -> &'static str {
        match (self.format, self.version) {
            (Format::Protobuf2, Version::V1) => "lc.protobuf2.1",
            (Format::Protobuf2, Version::V3) => "lc.protobuf2.3",
            (Format::Proto2Base64, Version::V1) => "lc.proto2base64.1",
            (Format::Proto2Base64, Version::V3) => "lc.proto2base64.3",
        }
    }
}

impl fmt::Display for Subprotocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Subprotocol {
    type Err = UnsupportedSubprotocol;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for UnsupportedSubprotocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Legacy => "legacy LeanCloud subprotocol, not supported",
            Self::Unknown => "not a LeanCloud subprotocol",
        })
    }
}

impl std::error::Error for UnsupportedSubprotocol {}

/// Bounds and leniency of [`decode_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame, in bytes as received (base64 text counts its characters).
    pub max_frame: usize,
    /// Accept a message without one of its proto2 `required` fields (`ErrorCommand.code`
    /// and `reason`, `UnreadTuple.cid` and `unread`, `ReadTuple.cid`,
    /// `JsonObjectMessage.data`), as prost does. Off by default: the SDK's protobufjs
    /// refuses to decode such a frame, so a peer that sends one is not interoperable.
    pub allow_missing_required: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame: 1 << 20,
            allow_missing_required: false,
        }
    }
}

impl Limits {
    /// The default bounds with every leniency on.
    pub fn lenient() -> Self {
        Self {
            allow_missing_required: true,
            ..Self::default()
        }
    }
}

/// Decodes one WebSocket message's payload with the default [`Limits`].
pub fn decode(frame: &[u8], format: Format) -> Result<GenericCommand, Error> {
    decode_with(frame, format, &Limits::default())
}

/// Decodes one WebSocket message's payload: the binary frame's bytes, or the text frame's
/// UTF-8 bytes for [`Format::Proto2Base64`].
pub fn decode_with(frame: &[u8], format: Format, limits: &Limits) -> Result<GenericCommand, Error> {
    if frame.len() > limits.max_frame {
        return Err(Error::new(ErrorKind::LimitExceeded, limits.max_frame));
    }
    match format {
        Format::Protobuf2 => decode_protobuf(frame, limits),
        Format::Proto2Base64 => {
            let bytes = STANDARD.decode(frame).map_err(|e| base64_error(frame, e))?;
            decode_protobuf(&bytes, limits)
                .map_err(|e| Error::new(e.kind(), e.offset().saturating_mul(4) / 3))
        }
    }
}

/// Appends the frame payload of `cmd` in `format` to `out`.
pub fn encode(cmd: &GenericCommand, format: Format, out: &mut Vec<u8>) {
    match format {
        Format::Protobuf2 => {
            out.reserve(cmd.encoded_len());
            cmd.encode_raw(out);
        }
        Format::Proto2Base64 => {
            let bytes = cmd.encode_to_vec();
            let start = out.len();
            out.resize(start + base64_len(bytes.len()), 0);
            // INVARIANT: the slice has exactly the encoded length, so this cannot fail.
            let _ = STANDARD.encode_slice(&bytes, &mut out[start..]);
        }
    }
}

/// The length of what [`encode`] appends.
pub fn encoded_len(cmd: &GenericCommand, format: Format) -> usize {
    match format {
        Format::Protobuf2 => cmd.encoded_len(),
        Format::Proto2Base64 => base64_len(cmd.encoded_len()),
    }
}

/// Checks a binary frame's wire format against the schema with the default [`Limits`],
/// without building a value: the first error with its offset (the kinds are listed in the
/// module docs), or `Ok` exactly when [`decode`] accepts the frame.
pub fn check(frame: &[u8]) -> Result<(), Error> {
    check_with(frame, &Limits::default())
}

/// [`check`] with `limits`. With [`Limits::lenient`] it accepts exactly what prost accepts.
pub fn check_with(frame: &[u8], limits: &Limits) -> Result<(), Error> {
    if frame.len() > limits.max_frame {
        return Err(Error::new(ErrorKind::LimitExceeded, limits.max_frame));
    }
    wire::scan::<GenericCommand>(frame, 0, wire::RECURSION_LIMIT, required(limits))
}

impl GenericCommand {
    /// `cmd` as a [`CommandType`], if present and named by the schema.
    pub fn command_type(&self) -> Option<CommandType> {
        self.cmd.and_then(|v| CommandType::try_from(v).ok())
    }

    /// `op` as an [`OpType`], if present and named by the schema.
    pub fn op_type(&self) -> Option<OpType> {
        self.op.and_then(|v| OpType::try_from(v).ok())
    }

    /// Whether this is a push: a command without the serial `i` that pairs replies.
    pub fn is_push(&self) -> bool {
        self.i.is_none()
    }
}

fn decode_protobuf(bytes: &[u8], limits: &Limits) -> Result<GenericCommand, Error> {
    // prost first; the scan (a quarter of prost's time on the SDK's direct message, bench
    // group `leancloud`) runs only for a refused frame, or one holding messages with
    // required fields (errors, unread and read tuples, JSON objects) when those are
    // checked. Should the two ever disagree (the tests and the `leancloud_parse` fuzz target
    // check they do not), the error is reported at byte 0 rather than hidden.
    let scan = || wire::scan::<GenericCommand>(bytes, 0, wire::RECURSION_LIMIT, required(limits));
    let cmd = GenericCommand::decode(bytes)
        .map_err(|_| scan().err().unwrap_or(Error::new(ErrorKind::Protobuf, 0)))?;
    if !limits.allow_missing_required && cmd.holds_required() {
        scan()?;
    }
    Ok(cmd)
}

fn required(limits: &Limits) -> wire::Required {
    if limits.allow_missing_required {
        wire::Required::Ignore
    } else {
        wire::Required::Enforce
    }
}

fn base64_error(frame: &[u8], e: base64::DecodeError) -> Error {
    use base64::DecodeError as D;
    let offset = match e {
        D::InvalidByte(at, _) | D::InvalidLastSymbol { offset: at, .. } => at,
        D::InvalidLength(len) => len,
        D::InvalidPadding => frame.iter().position(|&b| b == b'=').unwrap_or(frame.len()),
    };
    Error::new(ErrorKind::Base64, offset)
}

const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[cfg(test)]
mod tests;
