//! The protocol registry: one [`Codec`] per protocol, one list, [`CODECS`].
//!
//! Everything that treats "every protocol" alike iterates [`CODECS`] instead of naming the
//! protocols: `imspec decode` (its `--protocol` values are the [`Codec::name`]s), the corpus
//! snapshot tests (`corpus/<name>/{valid,lenient,invalid,regressions}`), the `stream_chunking`
//! fuzz target (every [`Framing::Stream`] codec) and the test that every entry has a corpus
//! folder, a fuzz dictionary and its fuzz targets. Adding a protocol is one module with its
//! `impl Codec` plus one line in [`CODECS`] (`CONTRIBUTING.md` has the whole recipe).
//!
//! Names: a codec's [`name`](Codec::name) is the protocol's name as users write it (corpus
//! folder, dictionary, `imspec decode --protocol`, scenario `protocol:`). It is the Rust
//! module's name too, except for Fetion: its wire format is SIP-C, so the module is
//! [`sipc`](crate::sipc) and its codec fuzz targets are `sipc_*`, while the protocol, its corpus
//! folder and its dictionary are `fetion`. The MSGR XML documents are their own codec, `msgr`
//! (corpus `corpus/msgr/`, targets `msgr_*`), implemented in [`msnp::msgr`](crate::msnp::msgr)
//! and sharing `fuzz/dict/msnp.dict`.

use crate::{Error, Status};

/// How a codec finds its frames in an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Frames back to back in a byte stream; a decoder says `Incomplete` while the input ends
    /// inside one (SIP-C, MSNP, SIP, MSRP).
    Stream,
    /// Each input is one transport message (a WebSocket message: LeanCloud). With
    /// [`Options::text`], each non-empty line of the input is one text message.
    Message,
    /// The whole input is one document (an MSGR XML payload body).
    Document,
}

/// How to decode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Every leniency of the codec's limits on (its `Limits::lenient()`).
    pub lenient: bool,
    /// A [`Framing::Message`] codec with a text form (LeanCloud `lc.proto2base64`): the input
    /// holds one text frame per non-empty line. Other codecs ignore it.
    pub text: bool,
}

/// One decoded frame in its readable form (the serde form of the codec's frame type).
#[derive(Clone, Debug, PartialEq)]
pub struct Readable {
    /// Where the frame starts in the input.
    pub offset: usize,
    /// Its length in bytes.
    pub length: usize,
    /// The frame.
    pub value: serde_json::Value,
}

/// How decoding an input ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Every byte belonged to a frame.
    Clean,
    /// The input ends inside the frame that starts at this offset.
    Incomplete(usize),
    /// The first error, its offset counted from the start of the input.
    Error(Error),
}

/// What [`Codec::decode`] returns: every frame up to the first error, and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The frames, in input order.
    pub frames: Vec<Readable>,
    /// How the input ended.
    pub end: End,
}

/// One protocol's codec, as code that treats every protocol alike sees it. The typed API is
/// the protocol's module ([`crate::sipc`], [`crate::msnp`], …); this trait is the common part.
pub trait Codec: Sync {
    /// The protocol's name: `corpus/<name>/`, `fuzz/dict/<name>.dict` (unless
    /// [`dictionary`](Self::dictionary) says otherwise), `imspec decode --protocol <name>`, the
    /// snapshots `snapshots/codec/<name>_<folder>@<file>.snap`.
    fn name(&self) -> &'static str;
    /// One line saying what it decodes (`imspec decode --help`).
    fn about(&self) -> &'static str;
    /// How frames sit in an input.
    fn framing(&self) -> Framing;
    /// The fuzz targets of this codec (`fuzz/fuzz_targets/<target>.rs`); the first is the
    /// raw-bytes parse target.
    fn fuzz_targets(&self) -> &'static [&'static str];
    /// The fuzz dictionary's name (`fuzz/dict/<dictionary>.dict`).
    fn dictionary(&self) -> &'static str {
        self.name()
    }
    /// Decodes every frame of `input` in its readable form, up to the first error.
    fn decode(&self, input: &[u8], options: &Options) -> Decoded;
    /// The checks the corpus tests run on `corpus/<name>/`.
    #[cfg(feature = "testing")]
    fn corpus(&self) -> &dyn crate::testing::corpus::Corpus;
}

/// Every protocol's codec, in the order `imspec decode --help` lists them. The only place the
/// codec protocols are enumerated (`codec/tests/registry.rs` checks that).
pub static CODECS: &[&dyn Codec] = &[
    &crate::sipc::Fetion,
    &crate::msnp::Msnp,
    &crate::msnp::msgr::Msgr,
    &crate::leancloud::LeanCloud,
    &crate::sip::Sip,
    &crate::msrp::Msrp,
];

/// The codec called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Codec> {
    CODECS.iter().copied().find(|c| c.name() == name)
}

/// What a [`Framing::Stream`] codec's module offers the registry: its limits and its frame
/// decoder. [`stream_decode`] is its [`Codec::decode`], and with the `testing` feature its
/// corpus checks come from `testing::corpus::StreamCorpus`.
pub(crate) trait StreamCodec {
    /// The module's `Limits`: strict by default.
    type Limits: Default;
    /// The module's frame.
    type Frame<'a>: serde::Serialize + core::fmt::Debug;
    /// The limits with every leniency on (`Limits::lenient()`).
    fn lenient_limits() -> Self::Limits;
    /// The module's `parse_with`.
    fn parse_with<'a>(
        buf: &'a [u8],
        limits: &Self::Limits,
    ) -> crate::Result<(Self::Frame<'a>, usize)>;
    /// The default or the lenient limits.
    fn limits(lenient: bool) -> Self::Limits {
        if lenient {
            Self::lenient_limits()
        } else {
            Self::Limits::default()
        }
    }
}

/// The registry entry of a [`Framing::Stream`] codec, written in its module's `codec.rs`:
/// the unit struct, its [`Codec`] and its [`StreamCodec`] over the module's `Limits`,
/// `parse_with` and `$frame`. Its `testing::corpus::StreamCorpus` impl is written beside.
macro_rules! stream_codec {
    (
        $(#[$doc:meta])*
        $codec:ident {
            name: $name:literal,
            about: $about:literal,
            fuzz_targets: [$($target:literal),+ $(,)?],
            frame: $frame:ident $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $codec;

        impl $crate::registry::Codec for $codec {
            fn name(&self) -> &'static str {
                $name
            }
            fn about(&self) -> &'static str {
                $about
            }
            fn framing(&self) -> $crate::registry::Framing {
                $crate::registry::Framing::Stream
            }
            fn fuzz_targets(&self) -> &'static [&'static str] {
                &[$($target),+]
            }
            fn decode(
                &self,
                input: &[u8],
                options: &$crate::registry::Options,
            ) -> $crate::registry::Decoded {
                $crate::registry::stream_decode::<Self>(input, options)
            }
            #[cfg(feature = "testing")]
            fn corpus(&self) -> &dyn $crate::testing::corpus::Corpus {
                self
            }
        }

        impl $crate::registry::StreamCodec for $codec {
            type Limits = super::Limits;
            type Frame<'a> = super::$frame<'a>;
            fn lenient_limits() -> Self::Limits {
                super::Limits::lenient()
            }
            fn parse_with<'a>(
                buf: &'a [u8],
                limits: &Self::Limits,
            ) -> $crate::Result<(Self::Frame<'a>, usize)> {
                super::parse_with(buf, limits)
            }
        }
    };
}
pub(crate) use stream_codec;

/// [`Codec::decode`] for a [`StreamCodec`].
pub(crate) fn stream_decode<C: StreamCodec>(input: &[u8], options: &Options) -> Decoded {
    let limits = C::limits(options.lenient);
    decode_stream(input, |buf| C::parse_with(buf, &limits))
}

/// [`Codec::decode`] for a [`Framing::Stream`] codec: `parse` decodes the frame at the start
/// of its input.
fn decode_stream<'a, F: serde::Serialize>(
    input: &'a [u8],
    parse: impl Fn(&'a [u8]) -> crate::Result<(F, usize)>,
) -> Decoded {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < input.len() {
        match parse(&input[at..]) {
            Ok(Status::Complete((frame, n))) => {
                frames.push(Readable {
                    offset: at,
                    length: n,
                    value: readable(&frame),
                });
                at += n;
            }
            Ok(Status::Incomplete(_)) => {
                return Decoded {
                    frames,
                    end: End::Incomplete(at),
                };
            }
            Err(e) => {
                return Decoded {
                    frames,
                    end: End::Error(e.shifted(at)),
                };
            }
        }
    }
    Decoded {
        frames,
        end: End::Clean,
    }
}

/// [`Codec::decode`] for one whole frame or document.
pub(crate) fn decode_whole<F: serde::Serialize>(
    input: &[u8],
    offset: usize,
    decoded: Result<F, Error>,
) -> Decoded {
    match decoded {
        Ok(frame) => Decoded {
            frames: vec![Readable {
                offset,
                length: input.len(),
                value: readable(&frame),
            }],
            end: End::Clean,
        },
        Err(e) => Decoded {
            frames: Vec::new(),
            end: End::Error(e.shifted(offset)),
        },
    }
}

/// A frame's serde form; frames serialize infallibly (no maps with non-string keys).
fn readable<F: serde::Serialize>(frame: &F) -> serde_json::Value {
    serde_json::to_value(frame).unwrap_or_default()
}
