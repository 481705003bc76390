//! What the corpus snapshot tests (`codec/tests/corpus.rs`) check on `corpus/<name>/`, per
//! codec ([`Corpus`], reached through [`Codec::corpus`](crate::Codec::corpus)), and the
//! machinery the stream codecs share.
//!
//! * `valid/*`: every frame decodes, re-encodes to exactly its input bytes, every proper
//!   prefix is incomplete and any chunking gives the same frames; the decoded frames are
//!   snapshotted.
//! * `lenient/*`: the strict decoder refuses the file, the lenient one accepts it, and its
//!   re-encoding is a fixpoint; the decoded frames are snapshotted.
//! * `invalid/*`: every decoder refuses the file; the lenient decoder's error is the one
//!   `invalid.tsv` records; `kind @ offset` and a caret line are snapshotted.
//! * `regressions/*`: decoding does not panic and the laws hold; no snapshot.
//!
//! Every check returns `Err(description)` instead of panicking.

use std::fmt::Write as _;

use serde::Serialize;
use serde::ser::SerializeStruct as _;

use super::{FrameCodec, StreamEnd};
use crate::{Error, ErrorKind, Status};

/// The corpus checks of one codec.
pub trait Corpus {
    /// The snapshot's description of a corpus file: its bytes as text, bytes that are not
    /// UTF-8 written `\xNN`.
    fn describe(&self, file: &str, input: &[u8]) -> String {
        let _ = file;
        describe(input)
    }
    /// `valid/<file>`: the laws hold; what to snapshot.
    fn valid<'a>(&self, file: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String>;
    /// `lenient/<file>`: refused by default, accepted leniently, the laws hold; what to
    /// snapshot.
    fn lenient<'a>(&self, file: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String>;
    /// `invalid/<file>`: every decoder refuses it; the lenient decoder's error (the one
    /// `invalid.tsv` records) and the report to snapshot. `Err` when a decoder accepts it.
    fn invalid(&self, file: &str, input: &[u8]) -> Result<Refusal, String>;
    /// `regressions/<file>`: whatever the decoders say, the laws hold.
    fn regression(&self, file: &str, input: &[u8]) -> Result<(), String>;
    /// Law 3b ([`chunking`](super::chunking)) with the default limits, for a
    /// [`Framing::Stream`](crate::registry::Framing::Stream) codec; `None` for others.
    fn chunking(&self, stream: &[u8], cuts: &[usize]) -> Option<Result<(), String>> {
        let _ = (stream, cuts);
        None
    }
}

/// A value to snapshot and its format.
pub struct Snapshot<'a> {
    /// JSON (`assert_json_snapshot!`) rather than YAML.
    pub json: bool,
    /// The value.
    pub value: Box<dyn erased_serde::Serialize + 'a>,
}

impl<'a> Snapshot<'a> {
    /// A YAML snapshot of `value`.
    pub fn yaml(value: impl Serialize + 'a) -> Self {
        Self {
            json: false,
            value: Box::new(value),
        }
    }

    /// A JSON snapshot of `value`.
    pub fn json(value: impl Serialize + 'a) -> Self {
        Self {
            json: true,
            value: Box::new(value),
        }
    }
}

/// How an invalid corpus file is refused.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// The error `invalid.tsv` records (the lenient decoder's).
    pub error: Error,
    /// `kind @ offset`, a caret line, and whatever else the codec shows.
    pub report: String,
}

/// The corpus checks of a [`StreamCodec`](crate::registry::StreamCodec): every one is
/// [`Corpus`] through this trait, with its law twins and, where it has them, a typed view of
/// its valid frames and more regression laws.
pub(crate) trait StreamCorpus: crate::registry::StreamCodec {
    /// The laws' codec with the default limits.
    type Strict: FrameCodec;
    /// The laws' codec with every leniency on.
    type Lenient: FrameCodec;
    /// The typed view snapshotted beside a valid frame (`payload`), if any.
    fn view<'b>(frame: &'b Self::Frame<'_>) -> Option<Box<dyn erased_serde::Serialize + 'b>> {
        let _ = frame;
        None
    }
    /// Laws of a valid file beyond the frame laws (bodies the frames carry).
    fn valid_laws(input: &[u8]) -> Result<(), String> {
        let _ = input;
        Ok(())
    }
    /// The laws of a regression file: by default the strict decoder's.
    fn regression_laws(input: &[u8]) -> Result<(), String> {
        regression_laws::<Self::Strict>(input)
    }
}

impl<C: StreamCorpus + 'static> Corpus for C {
    fn valid<'a>(&self, _: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
        C::valid_laws(input)?;
        stream_valid::<C::Strict, _>(input, frame::<C>(false), |f| C::view(f))
    }
    fn lenient<'a>(&self, _: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
        stream_lenient::<C::Strict, C::Lenient, _>(input, frame::<C>(true))
    }
    fn invalid(&self, _: &str, input: &[u8]) -> Result<Refusal, String> {
        invalid_report(
            input,
            stream_error::<C::Lenient>(input),
            stream_error::<C::Strict>(input),
        )
    }
    fn regression(&self, _: &str, input: &[u8]) -> Result<(), String> {
        C::regression_laws(input)
    }
    fn chunking(&self, stream: &[u8], cuts: &[usize]) -> Option<Result<(), String>> {
        Some(super::chunking::<C::Strict>(stream, cuts))
    }
}

/// The frame the laws accepted at the start of a buffer, decoded again for its snapshot.
fn frame<'a, C: crate::registry::StreamCodec>(
    lenient: bool,
) -> impl Fn(&'a [u8]) -> Result<C::Frame<'a>, String> {
    move |buf| match C::parse_with(buf, &C::limits(lenient)) {
        Ok(Status::Complete((frame, _))) => Ok(frame),
        other => Err(format!(
            "the laws accepted a frame here, the parser now says {other:?}"
        )),
    }
}

/// One decoded frame of a corpus file, as snapshotted: offset, length, the frame, and the
/// protocol's typed `payload` view of it where `view` gives one.
pub(crate) struct Entry<F> {
    pub offset: usize,
    pub length: usize,
    pub frame: F,
    pub view: View<F>,
}

/// A typed view of a frame, borrowing it.
pub(crate) type View<F> = for<'b> fn(&'b F) -> Option<Box<dyn erased_serde::Serialize + 'b>>;

/// The view of frames that have none.
pub(crate) fn no_view<F>(_: &F) -> Option<Box<dyn erased_serde::Serialize + '_>> {
    None
}

impl<F: Serialize> Serialize for Entry<F> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let payload = (self.view)(&self.frame);
        let mut st = s.serialize_struct("Entry", 3 + usize::from(payload.is_some()))?;
        st.serialize_field("offset", &self.offset)?;
        st.serialize_field("length", &self.length)?;
        st.serialize_field("frame", &self.frame)?;
        match payload {
            Some(p) => st.serialize_field("payload", &p)?,
            None => st.skip_field("payload")?,
        }
        st.end()
    }
}

/// A lenient file as snapshotted: what the strict decoder says, then the lenient frames.
#[derive(Serialize)]
pub(crate) struct Lenient<T> {
    pub strict: String,
    pub frames: T,
}

/// A typed value, or where its text is wrong (`kind @ offset`).
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Typed<T> {
    Value(T),
    Error(String),
}

pub(crate) fn typed<T>(r: Result<T, Error>) -> Typed<T> {
    r.map_or_else(|e| Typed::Error(kind_at(e)), Typed::Value)
}

/// `valid/<file>` for a stream codec: laws 1–3 with `S`; each frame, decoded by `frame` with
/// the default limits, snapshotted with its `view`.
fn stream_valid<'a, S: FrameCodec, T: Serialize + 'a>(
    input: &'a [u8],
    frame: impl Fn(&'a [u8]) -> Result<T, String>,
    view: View<T>,
) -> Result<Snapshot<'a>, String> {
    let entries = valid_frames::<S>(input)?
        .into_iter()
        .map(|(offset, length)| {
            Ok(Entry {
                offset,
                length,
                frame: frame(&input[offset..])?,
                view,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Snapshot::yaml(entries))
}

/// `lenient/<file>` for a stream codec: refused by `S`, accepted by `L` with a fixpoint
/// re-encoding; each frame, decoded by `frame` with the lenient limits, snapshotted.
fn stream_lenient<'a, S: FrameCodec, L: FrameCodec, T: Serialize + 'a>(
    input: &'a [u8],
    frame: impl Fn(&'a [u8]) -> Result<T, String>,
) -> Result<Snapshot<'a>, String> {
    let (strict, frames) = lenient_frames::<S, L>(input)?;
    let frames = frames
        .into_iter()
        .map(|(offset, length)| {
            Ok(Entry {
                offset,
                length,
                frame: frame(&input[offset..])?,
                view: no_view,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Snapshot::yaml(Lenient { strict, frames }))
}

/// An invalid file's refusal from the lenient and the default decoders' errors.
pub(crate) fn invalid_report(
    input: &[u8],
    lenient: Option<Error>,
    strict: Option<Error>,
) -> Result<Refusal, String> {
    let (Some(error), Some(strict)) = (lenient, strict) else {
        return Err(format!(
            "a decoder accepts it (lenient: {:?}, default: {:?})",
            lenient.map(kind_at),
            strict.map(kind_at)
        ));
    };
    let mut report = format!(
        "{} @ {}\n{}",
        kind_name(error.kind()),
        error.offset(),
        caret(input, error.offset())
    );
    if strict != error {
        let _ = write!(
            report,
            "\ndefault limits: {}\n{}",
            kind_at(strict),
            caret(input, strict.offset())
        );
    }
    Ok(Refusal { error, report })
}

/// Laws 1–3 for a curated valid file: every frame re-encodes to exactly its bytes (with the
/// right `encoded_len`), proper prefixes are incomplete, and chunking at every byte decodes
/// the same frames. Returns each frame's `(offset, length)`.
pub(crate) fn valid_frames<C: FrameCodec>(input: &[u8]) -> Result<Vec<(usize, usize)>, String> {
    let frames = super::exact::<C>(input).map_err(|e| format!("law 2 (exact): {e}"))?;
    if frames.is_empty() {
        return Err("a valid corpus file holds at least one frame".into());
    }
    for &(offset, length) in &frames {
        let Ok(Status::Complete((frame, _))) = C::parse(&input[offset..offset + length]) else {
            return Err(format!(
                "byte {offset}: the frame no longer parses on its own"
            ));
        };
        super::value_round_trip::<C>(&frame).map_err(|e| format!("law 1 at byte {offset}: {e}"))?;
    }
    every_chunking::<C>(input)?;
    Ok(frames)
}

/// Lenient files: refused by `S` (its error is returned, as `kind @ offset`), accepted by `L`
/// with a fixpoint re-encoding. Returns each frame's `(offset, length)`.
pub(crate) fn lenient_frames<S: FrameCodec, L: FrameCodec>(
    input: &[u8],
) -> Result<(String, Vec<(usize, usize)>), String> {
    let Some(strict) = stream_error::<S>(input) else {
        return Err("the strict decoder accepts this file: it belongs in valid/".into());
    };
    let mut frames = Vec::new();
    let mut at = 0;
    while at < input.len() {
        match super::fixpoint::<L>(&input[at..]) {
            Ok(Some(n)) => {
                frames.push((at, n));
                at += n;
            }
            Ok(None) => {
                return Err(format!(
                    "byte {at}: the lenient decoder does not find a complete frame"
                ));
            }
            Err(e) => return Err(format!("law 2 (fixpoint) at byte {at}: {e}")),
        }
    }
    every_chunking::<L>(input)?;
    Ok((kind_at(strict), frames))
}

/// Regressions: whatever the decoder says, it must not panic, and what it accepts obeys the
/// fixpoint and chunking laws.
pub(crate) fn regression_laws<C: FrameCodec>(input: &[u8]) -> Result<(), String> {
    super::fixpoint::<C>(input).map_err(|e| format!("law 2 (fixpoint): {e}"))?;
    every_chunking::<C>(input)
}

fn every_chunking<C: FrameCodec>(input: &[u8]) -> Result<(), String> {
    let cuts: Vec<usize> = (1..input.len()).collect();
    super::chunking::<C>(input, &cuts).map_err(|e| format!("law 3 (chunking): {e}"))
}

/// The first error in a stream of frames, with its offset from the start of the stream.
pub(crate) fn stream_error<C: FrameCodec>(input: &[u8]) -> Option<Error> {
    match super::decode_chunked::<C>(input, &[]) {
        (_, StreamEnd::Error(e)) => Some(e),
        (_, StreamEnd::Clean(_)) => None,
    }
}

/// The snake_case name `ErrorKind` serializes to (`invalid.tsv`'s `kind` column).
pub fn kind_name(kind: ErrorKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// `kind @ offset`.
pub fn kind_at(e: Error) -> String {
    format!("{} @ {}", kind_name(e.kind()), e.offset())
}

/// The input as text for a snapshot's description (the YAML header escapes line endings and
/// control characters itself); bytes that are not UTF-8 are written `\xNN`.
pub fn describe(input: &[u8]) -> String {
    let mut out = String::new();
    for chunk in input.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// One line of input for a caret display: line endings, controls and bytes that are not
/// UTF-8 are shown as escapes so that every byte is visible.
fn escape(input: &[u8]) -> String {
    let mut out = String::new();
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// The input line holding byte `offset`, escaped, and a caret under that byte (or just past
/// the line's end when the offset is the end of the input).
pub fn caret(input: &[u8], offset: usize) -> String {
    let at = offset.min(input.len());
    let start = input[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let end = input[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(input.len(), |p| at + p + 1);
    let before = escape(&input[start..at]);
    let line = escape(&input[start..end]);
    format!(
        "{}\n{}^",
        line.trim_end_matches('\n'),
        " ".repeat(before.chars().count())
    )
}

/// Bytes as lower-case hex, two columns a byte.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}
