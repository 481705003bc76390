//! Decoding errors: what went wrong, and at which byte.

use core::fmt;

/// A decoding error: its kind and the absolute byte offset into the buffer given to `parse`
/// (or, for body decoders, into the body slice they were given; see [`Error::shifted`]).
///
/// Errors are `Copy` so fuzz targets and snapshots can compare them cheaply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    offset: usize,
}

/// What kind of input was rejected.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A text frame that must carry base64 (LeanCloud `proto2base64`) is not standard base64.
    Base64,
    /// A header line is not `Name: value`, or its name has a forbidden byte.
    BadHeader,
    /// A header's value does not have the form its name requires (`I: x`, `Q: 1`).
    BadHeaderValue,
    /// A length field (`L:`, MSNP payload length, `Content-Length`) is not a decimal number,
    /// or disagrees with the bytes it counts.
    BadLength,
    /// A line ends in a bare LF or a CR not followed by LF.
    BadLineEnding,
    /// A request method token is empty or has a forbidden byte.
    BadMethod,
    /// A start or command line has the wrong number of tokens or stray white space.
    BadStartLine,
    /// A status code is not three digits.
    BadStatus,
    /// A request target or MSNP `scope\resource` target is malformed.
    BadTarget,
    /// A transaction id is malformed: an MSNP TrID that is not a decimal number fitting in 32
    /// bits, an MSRP `transact-id` that is not an alphanumeric-led `ident` of 4–32 characters
    /// (RFC 4975), or an MSRP end-line whose id differs from the start line's.
    BadTransactionId,
    /// An MSNP verb is neither three upper-case letters nor a three-digit error code.
    BadVerb,
    /// The protocol version token is not one this codec knows (`SIP-C/2.0`, `SIP-C/4.0`).
    BadVersion,
    /// A header that may appear once appears again (two `L:` would make the length ambiguous).
    DuplicateHeader,
    /// A JSON body is invalid.
    Json,
    /// A configured bound (frame size, header count, payload length, nesting) was exceeded.
    LimitExceeded,
    /// A required element, attribute, header or line is missing.
    Missing,
    /// Protobuf wire format is malformed: a bad key, wire type or varint, or a wire type the
    /// schema field does not allow.
    Protobuf,
    /// Bytes follow the end of a document that must stand alone.
    TrailingData,
    /// An element, attribute or line is not the one expected here.
    Unexpected,
    /// Text that must be UTF-8 is not.
    Utf8,
    /// An XML body is not well-formed.
    Xml,
}

impl Error {
    /// An error of `kind` at byte `offset`.
    pub const fn new(kind: ErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// What kind of input was rejected.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The byte offset of the first offending byte.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The same error with its offset moved by `base`, for a body decoder's error reported
    /// against the whole frame: `parse_body(&frame[start..]).map_err(|e| e.shifted(start))`.
    #[must_use]
    pub const fn shifted(self, base: usize) -> Self {
        Self {
            kind: self.kind,
            offset: self.offset.saturating_add(base),
        }
    }
}

impl ErrorKind {
    /// A lower-case description that names what was expected.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Base64 => "expected standard base64",
            Self::BadHeader => "expected a header line `Name: value`",
            Self::BadHeaderValue => "header value does not have the form its name requires",
            Self::BadLength => "expected a decimal length that matches the bytes it counts",
            Self::BadLineEnding => "expected CRLF line ending",
            Self::BadMethod => "expected a method token",
            Self::BadStartLine => "malformed start line",
            Self::BadStatus => "expected a three-digit status code",
            Self::BadTarget => "malformed target",
            Self::BadTransactionId => {
                "expected a transaction id (MSNP: decimal; MSRP: 4-32 alphanumeric ident characters, the same on the end-line)"
            }
            Self::BadVerb => {
                "expected a verb of three upper-case letters or a three-digit error code"
            }
            Self::BadVersion => "expected a known protocol version",
            Self::DuplicateHeader => "header may appear only once",
            Self::Json => "invalid JSON",
            Self::LimitExceeded => "limit exceeded",
            Self::Missing => "required item missing",
            Self::Protobuf => "malformed protobuf wire format",
            Self::TrailingData => "unexpected data after the end of the document",
            Self::Unexpected => "unexpected item",
            Self::Utf8 => "invalid UTF-8",
            Self::Xml => "malformed XML",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for Error {}
