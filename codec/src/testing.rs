//! The round-trip laws of `STYLE.md`, written once and called from unit tests, proptest,
//! the corpus snapshot tests and the fuzz targets (s2n-codec's `testing` pattern).
//!
//! 1. value → bytes → value: `parse(encode(v)) == Complete((v, encode(v).len()))` and
//!    `encoded_len(v) == encode(v).len()` ([`value_round_trip`]);
//! 2. bytes → value → bytes is a fixpoint ([`fixpoint`]); for curated valid inputs the
//!    stronger `encode(f) == input[..n]` holds ([`exact`]);
//! 3. every proper prefix of a frame is incomplete ([`prefixes_incomplete`]), and any
//!    chunking of a stream yields the same frames ([`chunking`]).
//!
//! LeanCloud frames are whole WebSocket messages: [`LeanCloud`], [`LeanCloudBase64`] and
//! their lenient twins implement [`FrameCodec`] by consuming the whole buffer, so laws 1 and 2 apply, while law 3
//! (prefixes, chunking) does not; [`leancloud_frame`] adds the framing laws of that protocol.
//!
//! Each checker returns `Err(description)` instead of panicking, so callers decide how to
//! fail (assert, `prop_assert`, or a fuzz target's panic).

use core::fmt::Debug;

use crate::{Error, Status};

#[cfg(feature = "testing")]
pub mod corpus;

/// A frame codec with fixed limits, as the laws see it (one protocol has two: strict and
/// lenient). The protocol-level codec is [`crate::Codec`].
pub trait FrameCodec {
    /// The frame type, borrowing its input.
    type Frame<'a>: PartialEq + Debug + Clone;
    /// Decodes one frame from the start of `buf`.
    fn parse(buf: &[u8]) -> crate::Result<(Self::Frame<'_>, usize)>;
    /// Encodes a frame.
    fn encode(frame: &Self::Frame<'_>, out: &mut Vec<u8>);
    /// The encoded length of a frame.
    fn encoded_len(frame: &Self::Frame<'_>) -> usize;
    /// Detaches a frame from its input.
    fn into_owned(frame: Self::Frame<'_>) -> Self::Frame<'static>;
    /// Whether two frames borrowing different inputs are equal. The default detaches copies
    /// of both (a generic associated type has no known variance); the codecs here compare in
    /// place, which spares law 1 two deep copies per check.
    fn same(a: &Self::Frame<'_>, b: &Self::Frame<'_>) -> bool {
        Self::into_owned(a.clone()) == Self::into_owned(b.clone())
    }
}

/// Fetion SIP-C with the default limits.
#[derive(Debug)]
pub struct Sipc;

/// Fetion SIP-C with every leniency on.
#[derive(Debug)]
pub struct SipcLenient;

/// MSNP with the default limits.
#[derive(Debug)]
pub struct Msnp;

/// MSNP with every leniency on.
#[derive(Debug)]
pub struct MsnpLenient;

/// SIP with the default limits.
#[derive(Debug)]
pub struct Sip;

/// SIP with every leniency on.
#[derive(Debug)]
pub struct SipLenient;

/// MSRP with the default limits.
#[derive(Debug)]
pub struct Msrp;

/// MSRP with every leniency on.
#[derive(Debug)]
pub struct MsrpLenient;

macro_rules! codec {
    ($name:ident, $module:ident, $frame:ident, $limits:expr) => {
        impl FrameCodec for $name {
            type Frame<'a> = crate::$module::$frame<'a>;
            fn parse(buf: &[u8]) -> crate::Result<(Self::Frame<'_>, usize)> {
                crate::$module::parse_with(buf, &$limits)
            }
            fn encode(frame: &Self::Frame<'_>, out: &mut Vec<u8>) {
                frame.encode(out);
            }
            fn encoded_len(frame: &Self::Frame<'_>) -> usize {
                frame.encoded_len()
            }
            fn into_owned(frame: Self::Frame<'_>) -> Self::Frame<'static> {
                frame.into_owned()
            }
            fn same(a: &Self::Frame<'_>, b: &Self::Frame<'_>) -> bool {
                a == b
            }
        }
    };
}

/// LeanCloud binary frames (`lc.protobuf2.*`); a frame is the whole buffer.
#[derive(Debug)]
pub struct LeanCloud;

/// LeanCloud base64 text frames (`lc.proto2base64.*`); a frame is the whole buffer.
#[derive(Debug)]
pub struct LeanCloudBase64;

/// LeanCloud binary frames with every leniency on (proto2 `required` fields may be absent,
/// as in generated values).
#[derive(Debug)]
pub struct LeanCloudLenient;

/// LeanCloud base64 text frames with every leniency on.
#[derive(Debug)]
pub struct LeanCloudBase64Lenient;

macro_rules! leancloud_codec {
    ($name:ident, $format:expr, $limits:expr) => {
        impl FrameCodec for $name {
            type Frame<'a> = crate::leancloud::GenericCommand;
            fn parse(buf: &[u8]) -> crate::Result<(Self::Frame<'_>, usize)> {
                crate::leancloud::decode_with(buf, $format, &$limits)
                    .map(|cmd| Status::Complete((cmd, buf.len())))
            }
            fn encode(frame: &Self::Frame<'_>, out: &mut Vec<u8>) {
                crate::leancloud::encode(frame, $format, out);
            }
            fn encoded_len(frame: &Self::Frame<'_>) -> usize {
                crate::leancloud::encoded_len(frame, $format)
            }
            fn into_owned(frame: Self::Frame<'_>) -> Self::Frame<'static> {
                frame
            }
            fn same(a: &Self::Frame<'_>, b: &Self::Frame<'_>) -> bool {
                a == b
            }
        }
    };
}

leancloud_codec!(
    LeanCloud,
    crate::leancloud::Format::Protobuf2,
    crate::leancloud::Limits::default()
);
leancloud_codec!(
    LeanCloudBase64,
    crate::leancloud::Format::Proto2Base64,
    crate::leancloud::Limits::default()
);
leancloud_codec!(
    LeanCloudLenient,
    crate::leancloud::Format::Protobuf2,
    crate::leancloud::Limits::lenient()
);
leancloud_codec!(
    LeanCloudBase64Lenient,
    crate::leancloud::Format::Proto2Base64,
    crate::leancloud::Limits::lenient()
);

codec!(Sipc, sipc, Message, crate::sipc::Limits::default());
codec!(SipcLenient, sipc, Message, crate::sipc::Limits::lenient());
codec!(Msnp, msnp, Command, crate::msnp::Limits::default());
codec!(MsnpLenient, msnp, Command, crate::msnp::Limits::lenient());
codec!(Sip, sip, Message, crate::sip::Limits::default());
codec!(SipLenient, sip, Message, crate::sip::Limits::lenient());
codec!(Msrp, msrp, Chunk, crate::msrp::Limits::default());
codec!(MsrpLenient, msrp, Chunk, crate::msrp::Limits::lenient());

/// Law 1 for a value `v` that is valid (its length fields agree with its contents).
pub fn value_round_trip<C: FrameCodec>(v: &C::Frame<'_>) -> Result<(), String> {
    decodes_to::<C>(&encoding::<C>(v)?, v)
}

/// `v` encoded with `C`, checking that `encoded_len` predicts its length (law 1's first
/// half: [`value_round_trip`] before it decodes).
pub fn encoding<C: FrameCodec>(v: &C::Frame<'_>) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    C::encode(v, &mut bytes);
    let predicted = C::encoded_len(v);
    if predicted != bytes.len() {
        return Err(format!(
            "encoded_len {predicted} != encoded length {}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// `bytes` decodes whole, with `C`, to `v` (law 1's second half: [`value_round_trip`] after
/// its encoding; the fuzz targets that check two decoders on one encoding call it for each).
pub fn decodes_to<C: FrameCodec>(bytes: &[u8], v: &C::Frame<'_>) -> Result<(), String> {
    match C::parse(bytes) {
        Ok(Status::Complete((back, n))) if n == bytes.len() && C::same(&back, v) => Ok(()),
        Ok(Status::Complete((back, n))) => Err(format!(
            "re-parse differs: consumed {n} of {}\n value: {v:?}\n back:  {back:?}",
            bytes.len()
        )),
        other => Err(format!(
            "re-parse of {:?} failed: {other:?}",
            String::from_utf8_lossy(bytes)
        )),
    }
}

/// Law 2: if `buf` starts with a frame, re-encoding it gives bytes that parse to the same
/// frame (and encode to the same bytes). Returns the bytes the frame consumed, or `None`
/// when `buf` does not start with a complete frame.
pub fn fixpoint<C: FrameCodec>(buf: &[u8]) -> Result<Option<usize>, String> {
    let (frame, n) = match C::parse(buf) {
        Ok(Status::Complete(v)) => v,
        Ok(Status::Incomplete(_)) | Err(_) => return Ok(None),
    };
    if n == 0 || n > buf.len() {
        return Err(format!("consumed {n} of {} bytes", buf.len()));
    }
    value_round_trip::<C>(&frame)?;
    Ok(Some(n))
}

/// Law 2, strong form, for curated valid input: every frame in `buf` re-encodes to exactly
/// its input bytes. Returns the frames' `(offset, length)`.
pub fn exact<C: FrameCodec>(buf: &[u8]) -> Result<Vec<(usize, usize)>, String> {
    let mut at = 0;
    let mut frames = Vec::new();
    while at < buf.len() {
        let rest = &buf[at..];
        let (frame, n) = match C::parse(rest) {
            Ok(Status::Complete(v)) => v,
            other => {
                return Err(format!(
                    "byte {at}: expected a complete frame, got {other:?}"
                ));
            }
        };
        let mut out = Vec::new();
        C::encode(&frame, &mut out);
        if out != rest[..n] {
            return Err(format!(
                "byte {at}: re-encoding differs\n input:  {:?}\n output: {:?}",
                String::from_utf8_lossy(&rest[..n]),
                String::from_utf8_lossy(&out)
            ));
        }
        prefixes_incomplete::<C>(&rest[..n])?;
        frames.push((at, n));
        at += n;
    }
    Ok(frames)
}

/// Law 3a: every proper prefix of the single frame `frame` is incomplete.
pub fn prefixes_incomplete<C: FrameCodec>(frame: &[u8]) -> Result<(), String> {
    for i in 0..frame.len() {
        match C::parse(&frame[..i]) {
            Ok(Status::Incomplete(_)) => {}
            other => {
                return Err(format!(
                    "prefix of {i} bytes: expected incomplete, got {other:?}"
                ));
            }
        }
    }
    Ok(())
}

/// What a stream decodes to: its frames, then how it ended.
pub type Decoded = (Vec<String>, StreamEnd);

/// How decoding a stream ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// All input consumed, or a partial frame left over (its length).
    Clean(usize),
    /// An error (its offset counted from the start of the stream).
    Error(Error),
}

/// Decodes a stream delivered in chunks cut at `cuts` (byte positions, any order, any
/// value; out-of-range ones are ignored) through a one-buffer framer, as a transport would.
pub fn decode_chunked<C: FrameCodec>(stream: &[u8], cuts: &[usize]) -> Decoded {
    let mut cuts: Vec<usize> = cuts
        .iter()
        .copied()
        .filter(|&c| c > 0 && c < stream.len())
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.push(stream.len());
    let mut buf: Vec<u8> = Vec::new();
    let mut frames = Vec::new();
    let mut drained = 0;
    let mut last = 0;
    for cut in cuts {
        buf.extend_from_slice(&stream[last..cut]);
        last = cut;
        loop {
            let step = match C::parse(&buf) {
                Ok(Status::Complete((frame, n))) => (format!("{frame:?}"), n),
                Ok(Status::Incomplete(_)) => break,
                Err(e) => return (frames, StreamEnd::Error(e.shifted(drained))),
            };
            frames.push(step.0);
            buf.drain(..step.1);
            drained += step.1;
        }
    }
    (frames, StreamEnd::Clean(buf.len()))
}

/// Law 3b: decoding `stream` in chunks cut at `cuts` gives the same frames and the same
/// ending as decoding it in one piece.
pub fn chunking<C: FrameCodec>(stream: &[u8], cuts: &[usize]) -> Result<(), String> {
    let whole = decode_chunked::<C>(stream, &[]);
    let chunked = decode_chunked::<C>(stream, cuts);
    if whole == chunked {
        Ok(())
    } else {
        Err(format!(
            "chunking at {cuts:?} changed the result\n whole:   {whole:?}\n chunked: {chunked:?}"
        ))
    }
}

/// The `stream_chunking` fuzz target's body: `data` read as byte `n`, then `n % 8`
/// little-endian `u16` cut points (as many as the input holds), then the stream; law 3b
/// ([`chunking`]) for every [`Framing::Stream`](crate::registry::Framing::Stream) codec of
/// [`CODECS`](crate::CODECS) at those cut points, and
/// with `every_cut` at every cut point as well. Shared by the fuzz target and the test that
/// replays its crash files.
#[cfg(feature = "testing")]
pub fn stream_chunking(data: &[u8], every_cut: bool) -> Result<(), String> {
    let Some((&n, rest)) = data.split_first() else {
        return Ok(());
    };
    let n = usize::from(n % 8).min(rest.len() / 2);
    let (cut_bytes, stream) = rest.split_at(n * 2);
    let cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|c| match c {
            [lo, hi] => usize::from(u16::from_le_bytes([*lo, *hi])),
            _ => 0,
        })
        .collect();
    let mut cut_sets = vec![cuts];
    if every_cut {
        cut_sets.push((1..stream.len()).collect());
    }
    for cuts in &cut_sets {
        for codec in crate::CODECS {
            if let Some(checked) = codec.corpus().chunking(stream, cuts) {
                checked.map_err(|e| format!("{}: {e}", codec.name()))?;
            }
        }
    }
    Ok(())
}

/// The laws for one LeanCloud frame in `format`. If it decodes leniently: laws 1 and 2 in
/// that format; the default decoder gives the same command, or refuses it for a missing
/// proto2 `required` field only (leniency changes nothing else); the other format carries
/// the same command (a binary frame's bytes base64-encoded, or a text frame's base64
/// decoded, decode to the same value); and the readable form (serde JSON) round-trips. With
/// `exact` (curated valid frames), re-encoding also gives exactly the input. Returns the
/// command, or `None` when the frame does not decode even leniently.
pub fn leancloud_frame(
    frame: &[u8],
    format: crate::leancloud::Format,
    exact: bool,
) -> Result<Option<crate::leancloud::GenericCommand>, String> {
    use crate::leancloud::{self, Format, Limits};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    let lenient = Limits::lenient();
    let Ok(cmd) = leancloud::decode_with(frame, format, &lenient) else {
        return Ok(None);
    };
    leancloud_leniency_agrees(frame, format, &cmd)?;
    match format {
        Format::Protobuf2 => value_round_trip::<LeanCloudLenient>(&cmd)?,
        Format::Proto2Base64 => value_round_trip::<LeanCloudBase64Lenient>(&cmd)?,
    }
    let mut out = Vec::new();
    leancloud::encode(&cmd, format, &mut out);
    if exact && out != frame {
        return Err(format!(
            "re-encoding differs\n input:  {frame:02x?}\n output: {out:02x?}"
        ));
    }
    let other = match format {
        // Over the frame limit as base64 text: the binary frame alone is the law's subject.
        Format::Protobuf2
            if leancloud::encoded_len(&cmd, Format::Proto2Base64)
                > leancloud::Limits::default().max_frame =>
        {
            Ok(cmd.clone())
        }
        Format::Protobuf2 => {
            let text = STANDARD.encode(frame);
            leancloud::decode_with(text.as_bytes(), Format::Proto2Base64, &lenient)
        }
        Format::Proto2Base64 => {
            let bytes = STANDARD
                .decode(frame)
                .map_err(|e| format!("decoded, yet not base64: {e}"))?;
            leancloud::decode_with(&bytes, Format::Protobuf2, &lenient)
        }
    };
    match other {
        Ok(same) if same == cmd => {}
        other => {
            return Err(format!(
                "the other framing decodes to {other:?}, not {cmd:?}"
            ));
        }
    }
    leancloud_json_round_trips(&cmd)?;
    Ok(Some(cmd))
}

/// The default decoder reads `frame` as the lenient decoder did (`lenient`), or refuses it
/// for a missing proto2 `required` field only: leniency changes nothing else. One of
/// [`leancloud_frame`]'s laws.
pub fn leancloud_leniency_agrees(
    frame: &[u8],
    format: crate::leancloud::Format,
    lenient: &crate::leancloud::GenericCommand,
) -> Result<(), String> {
    match crate::leancloud::decode(frame, format) {
        Ok(strict) if strict == *lenient => Ok(()),
        Err(e) if e.kind() == crate::ErrorKind::Missing => Ok(()),
        other => Err(format!(
            "leniency changed more than required fields: default {other:?}, lenient {lenient:?}"
        )),
    }
}

/// The readable form of `cmd` (serde JSON) reads back to `cmd`. One of [`leancloud_frame`]'s
/// laws.
pub fn leancloud_json_round_trips(cmd: &crate::leancloud::GenericCommand) -> Result<(), String> {
    let json = serde_json::to_string(cmd).map_err(|e| format!("to JSON: {e}"))?;
    let back: crate::leancloud::GenericCommand =
        serde_json::from_str(&json).map_err(|e| format!("from JSON {json}: {e}"))?;
    if back != *cmd {
        return Err(format!(
            "JSON round trip differs\n json: {json}\n back: {back:?}"
        ));
    }
    Ok(())
}

/// The LeanCloud wire scan agrees with prost on `frame` (a binary frame): with every
/// leniency on, [`check_with`](crate::leancloud::check_with) accepts exactly what prost
/// accepts, and what decodes is prost's command; with the default limits, `decode` and
/// `check` agree, with the same error.
pub fn leancloud_scan_agrees(frame: &[u8]) -> Result<(), String> {
    use crate::leancloud::{self, Format, GenericCommand, Limits};
    let scan = leancloud::check_with(frame, &Limits::lenient());
    let prost = <GenericCommand as prost::Message>::decode(frame);
    if scan.is_ok() != prost.is_ok() {
        return Err(format!("scan says {scan:?}, prost says {prost:?}"));
    }
    if let Ok(cmd) = leancloud::decode_with(frame, Format::Protobuf2, &Limits::lenient())
        && prost.as_ref().ok() != Some(&cmd)
    {
        return Err(format!("decode gives {cmd:?}, prost {prost:?}"));
    }
    match (
        leancloud::check(frame),
        leancloud::decode(frame, Format::Protobuf2),
    ) {
        (Ok(()), Ok(_)) => Ok(()),
        (Err(e), Err(d)) if e == d => Ok(()),
        (scan, decoded) => Err(format!("scan {scan:?}, decode {decoded:?}")),
    }
}
