//! Pure, incremental and bounded codecs for instant-messaging protocols: bytes in, typed
//! frames out, and back.
//!
//! * [`sipc`]: Fetion SIP-C (`SIP-C/2.0`, `SIP-C/4.0`) messages, typed compact headers and
//!   the `<args>`, `<events>` and INVITE session bodies.
//! * [`msnp`]: MSNP 21–24 commands (`VERB TrID TARGET LEN` + payload), layered `SDG`/`NFY`
//!   payloads and the `MSGR\…` XML documents ([`msnp::msgr`]).
//! * [`sip`]: SIP requests and responses over TCP (RFC 3261: `Content-Length` framing,
//!   compact header names, list headers, typed values) and RFC 3842 message-summary bodies
//!   ([`sip::message_summary`]).
//! * [`msrp`]: MSRP chunks (RFC 4975: transaction ids, end-line framing with `$`/`+`/`#`,
//!   typed `Byte-Range`, `Status`, report and path headers).
//! * [`date`]: RFC 1123 and ISO 8601 dates to and from Unix time (SIP `Date`, SIP-C `D:`,
//!   MSGR and LeanCloud timestamps).
//! * [`leancloud`]: LeanCloud realtime commands (one protobuf `GenericCommand` per WebSocket
//!   message, binary or base64 text), with a readable serde form; whole messages in, so
//!   `leancloud::decode` returns the command or an error, never `Incomplete`.
//!
//! Each protocol also has one [`Codec`] (its name, framing, fuzz targets, a readable decoder
//! and, with the `testing` feature, its corpus checks), and [`CODECS`] lists them all: code that
//! treats every protocol alike iterates that list ([`registry`]).
//!
//! Every frame decoder has the same shape: `parse(buf)` returns
//! `Ok(Status::Complete((frame, consumed)))`, `Ok(Status::Incomplete(needed))` when `buf`
//! ends inside the frame, or an [`Error`] with an [`ErrorKind`] and the absolute byte
//! offset of the first offending byte. Frames borrow `buf`; `into_owned` detaches them.
//! `encode` writes a frame back and `encoded_len` says how long that is.
//!
//! ```
//! use imspec_codec::{Status, sipc};
//!
//! let wire = b"S fetion.com.cn SIP-C/2.0\r\nF: 815389316\r\nI: 19\r\nQ: 1 S\r\nN: StartChat\r\n\r\n";
//! let Status::Complete((msg, used)) = sipc::parse(wire)? else { unreachable!() };
//! assert_eq!(used, wire.len());
//! assert_eq!(msg.headers.get("N"), Some("StartChat"));
//! let mut out = Vec::new();
//! msg.encode(&mut out);
//! assert_eq!(out, wire);
//! # Ok::<(), imspec_codec::Error>(())
//! ```
//!
//! No I/O, no clocks, no async runtime: the same code runs in the reference server, the
//! conformance runner and the fuzz targets.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(feature = "arbitrary")]
mod arbitrary;
pub mod date;
mod error;
pub mod header;
pub mod leancloud;
pub mod msnp;
pub mod msrp;
pub mod registry;
mod scan;
mod ser;
pub mod sip;
pub mod sipc;
mod status;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod text;
pub mod xml;

pub use error::{Error, ErrorKind};
pub use header::{Header, Headers};
pub use registry::{CODECS, Codec};
pub use status::{Needed, Result, Status};
