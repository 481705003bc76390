//! Helpers shared by the fuzz targets (one file per target in `fuzz_targets/`).
//!
//! Structure-aware targets take [`Repro<T>`]: it generates a `T` with `T`'s own `Arbitrary`
//! (valid by construction, see `imspec_codec`'s `arbitrary` feature) and its `Debug` prints a
//! reproduction — the encoded bytes as a Rust byte string, ready for a unit test or for a
//! `corpus/<proto>/regressions/` file — followed by the value itself. `cargo fuzz fmt TARGET
//! ARTIFACT` prints it for a saved crash.

use std::fmt;

use arbitrary::{Arbitrary, Unstructured};
use imspec_codec::msnp::{self, msgr, payload::Layered};
use imspec_codec::sipc;

/// A generated value whose `Debug` shows its wire form first.
pub struct Repro<T>(pub T);

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Repro<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        T::arbitrary(u).map(Self)
    }
}

impl<T: Wire + fmt::Debug> fmt::Debug for Repro<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.wire();
        writeln!(f, "// {} ({} bytes encoded):", T::DECODER, bytes.len())?;
        writeln!(f, "{}", byte_string(&bytes))?;
        write!(f, "// value: {:?}", self.0)
    }
}

/// A value with an encoding.
pub trait Wire {
    /// The decoder that reads the encoding back, for the reproduction comment.
    const DECODER: &'static str;
    /// The encoded bytes.
    fn wire(&self) -> Vec<u8>;
}

impl Wire for sipc::Message<'_> {
    const DECODER: &'static str = "imspec_codec::sipc::parse";
    fn wire(&self) -> Vec<u8> {
        self.to_bytes()
    }
}

impl Wire for msnp::Command<'_> {
    const DECODER: &'static str = "imspec_codec::msnp::parse";
    fn wire(&self) -> Vec<u8> {
        self.to_bytes()
    }
}

impl Wire for Layered<'_> {
    const DECODER: &'static str = "imspec_codec::msnp::payload::Layered::parse";
    fn wire(&self) -> Vec<u8> {
        self.to_bytes()
    }
}

impl Wire for msgr::Document<'_> {
    const DECODER: &'static str = "imspec_codec::msnp::msgr::parse_document";
    fn wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// `bytes` as a Rust byte-string literal (`b"S fetion.com.cn SIP-C/2.0\r\n…"`).
pub fn byte_string(bytes: &[u8]) -> String {
    let mut s = String::from("b\"");
    for &b in bytes {
        s.extend(std::ascii::escape_default(b).map(char::from));
    }
    s.push('"');
    s
}

/// Law 3a on a sample of cut points: 16 proper prefixes of `frame` — 8 ending around line
/// breaks (where a decoder changes state) and 8 evenly spaced — are incomplete. Checking
/// every prefix costs a parse per byte, quadratic in the frame, and coverage instrumentation
/// makes each scanned byte expensive; the sample keeps the target fast.
pub fn prefixes_incomplete<C: imspec_codec::testing::FrameCodec>(
    frame: &[u8],
) -> Result<(), String> {
    let n = frame.len();
    let breaks: Vec<usize> = frame
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, b'\n' | b'\r'))
        .flat_map(|(i, _)| [i, i + 1, i + 2])
        .collect();
    let mut cuts: Vec<usize> = (0..8).map(|i| i * n / 8).collect();
    cuts.extend((0..8).filter_map(|i| breaks.get(i * breaks.len() / 8)));
    cuts.sort_unstable();
    cuts.dedup();
    prefixes_incomplete_at::<C>(frame, cuts.into_iter().filter(|&c| c < n))
}

/// A generated value and a prefix cut chosen by the fuzzer, for law 3a on structure-aware
/// targets: [`prefix_cuts`] turns `cut` into one proper prefix of the value's encoding.
/// Coverage guidance then explores cut points across inputs (a cut that reaches a new
/// decoder state is kept), where a fixed sample would re-parse the same kinds of cut for
/// every input. `Debug` prints the cut, then the value's reproduction ([`Repro`]).
pub struct WithCut<T> {
    /// Selects a proper prefix: `cut % len` bytes of an encoding of `len` bytes.
    pub cut: u16,
    /// The generated value.
    pub value: Repro<T>,
}

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for WithCut<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self {
            cut: u16::arbitrary(u)?,
            value: Repro::arbitrary(u)?,
        })
    }
}

impl<T: Wire + fmt::Debug> fmt::Debug for WithCut<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "// prefix cut selector: {}", self.cut)?;
        self.value.fmt(f)
    }
}

/// The proper prefixes of an encoding of `len` bytes that law 3a checks for one input: all
/// but the last byte (a decoder that completes a frame early most often does so there), and
/// the one `cut` selects (`cut % len` bytes). Empty when `len` is 0.
pub fn prefix_cuts(len: usize, cut: u16) -> impl Iterator<Item = usize> {
    let last = len.checked_sub(1);
    let chosen = last.and_then(|_| {
        let c = usize::from(cut) % len;
        (Some(c) != last).then_some(c)
    });
    last.into_iter().chain(chosen)
}

/// Law 3a at the given cut points: each proper prefix `frame[..cut]` is incomplete.
pub fn prefixes_incomplete_at<C: imspec_codec::testing::FrameCodec>(
    frame: &[u8],
    cuts: impl IntoIterator<Item = usize>,
) -> Result<(), String> {
    for cut in cuts {
        match C::parse(&frame[..cut]) {
            Ok(imspec_codec::Status::Incomplete(_)) => {}
            other => {
                return Err(format!(
                    "prefix of {cut} of {} bytes: expected incomplete, got {other:?}",
                    frame.len()
                ));
            }
        }
    }
    Ok(())
}

/// What `sipc_roundtrip` and `msnp_roundtrip` check of one input: law 1 strict and lenient
/// from one encoding ([`value_round_trips`]), then law 3a at the input's cuts
/// ([`prefix_cuts`], [`prefixes_incomplete_at`]).
pub fn frame_laws<S, L>(input: &WithCut<S::Frame<'_>>) -> Result<(), String>
where
    S: imspec_codec::testing::FrameCodec,
    L: for<'a> imspec_codec::testing::FrameCodec<Frame<'a> = S::Frame<'a>>,
{
    let bytes = value_round_trips::<S, L>(&input.value.0)?;
    prefixes_incomplete_at::<S>(&bytes, prefix_cuts(bytes.len(), input.cut))
}

/// Law 1 for a generated value, strict and lenient, from one encoding: `encoded_len`
/// predicts the encoding's length, and the strict decoder `S` and the lenient one `L` each
/// decode exactly the whole encoding to the value. Returns the encoding. `S` encodes it:
/// the two codecs of a protocol differ only in their decoding limits and share the frame's
/// one encoder (`imspec_codec::testing`'s `codec!`), so a second encoding would be the same
/// computation on the same value.
pub fn value_round_trips<S, L>(v: &S::Frame<'_>) -> Result<Vec<u8>, String>
where
    S: imspec_codec::testing::FrameCodec,
    L: for<'a> imspec_codec::testing::FrameCodec<Frame<'a> = S::Frame<'a>>,
{
    let bytes = imspec_codec::testing::encoding::<S>(v)?;
    imspec_codec::testing::decodes_to::<S>(&bytes, v).map_err(|e| format!("strict: {e}"))?;
    imspec_codec::testing::decodes_to::<L>(&bytes, v).map_err(|e| format!("lenient: {e}"))?;
    Ok(bytes)
}

/// Laws 1–2 for raw input, strict and lenient, parsing as little as possible: the strict
/// fixpoint; then, where the strict decoder accepted `data`, the lenient decoder must decode
/// exactly the same frame (leniency only widens what is accepted, so on strictly valid
/// input it changes nothing), and where the strict decoder refused, the lenient fixpoint.
/// This is the work of two fixpoints without the lenient re-encoding and copies, which
/// dominate the cost of accepted inputs.
pub fn parse_laws<S, L>(data: &[u8]) -> Result<(), String>
where
    S: imspec_codec::testing::FrameCodec,
    L: for<'a> imspec_codec::testing::FrameCodec<Frame<'a> = S::Frame<'a>>,
{
    match imspec_codec::testing::fixpoint::<S>(data)? {
        Some(_) => match (S::parse(data), L::parse(data)) {
            (Ok(strict), Ok(lenient)) if strict == lenient => Ok(()),
            (strict, lenient) => Err(format!(
                "leniency changed a strictly valid frame\n strict:  {strict:?}\n lenient: {lenient:?}"
            )),
        },
        None => imspec_codec::testing::fixpoint::<L>(data).map(|_| ()),
    }
}
