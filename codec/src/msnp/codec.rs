//! MSNP commands in the protocol registry ([`crate::registry`]). The MSGR XML documents
//! are their own codec, [`Msgr`](super::msgr::Msgr).

use crate::registry::{self, Codec, Decoded, Framing, Options};

/// The MSNP command codec: `msnp` in [`CODECS`](crate::CODECS).
#[derive(Clone, Copy, Debug)]
pub struct Msnp;

impl Codec for Msnp {
    fn name(&self) -> &'static str {
        "msnp"
    }
    fn about(&self) -> &'static str {
        "MSNP commands"
    }
    fn framing(&self) -> Framing {
        Framing::Stream
    }
    fn fuzz_targets(&self) -> &'static [&'static str] {
        &["msnp_parse", "msnp_roundtrip", "msnp_layered_roundtrip"]
    }
    fn decode(&self, input: &[u8], options: &Options) -> Decoded {
        let limits = limits(options.lenient);
        registry::decode_stream(input, |buf| super::parse_with(buf, &limits))
    }
    #[cfg(feature = "testing")]
    fn corpus(&self) -> &dyn crate::testing::corpus::Corpus {
        self
    }
}

fn limits(lenient: bool) -> super::Limits {
    if lenient {
        super::Limits::lenient()
    } else {
        super::Limits::default()
    }
}

#[cfg(feature = "testing")]
mod corpus {
    use serde::Serialize;

    use super::super::payload::{Layered, Payload};
    use super::{Msnp, limits};
    use crate::testing::corpus::{self, Corpus, Refusal, Snapshot};
    use crate::testing::{self, MsnpLenient};

    impl Corpus for Msnp {
        fn valid<'a>(&self, _: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
            corpus::stream_valid::<testing::Msnp, _>(input, frame(false), |cmd| {
                payload_view(&cmd.payload)
                    .map(|v| Box::new(v) as Box<dyn erased_serde::Serialize + '_>)
            })
        }
        fn lenient<'a>(&self, _: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
            corpus::stream_lenient::<testing::Msnp, MsnpLenient, _>(input, frame(true))
        }
        fn invalid(&self, _: &str, input: &[u8]) -> Result<Refusal, String> {
            corpus::stream_invalid::<testing::Msnp, MsnpLenient>(input)
        }
        fn regression(&self, _: &str, input: &[u8]) -> Result<(), String> {
            corpus::regression_laws::<testing::Msnp>(input)
        }
        fn chunking(&self, stream: &[u8], cuts: &[usize]) -> Option<Result<(), String>> {
            Some(testing::chunking::<testing::Msnp>(stream, cuts))
        }
    }

    fn frame<'a>(lenient: bool) -> impl Fn(&'a [u8]) -> Result<super::super::Command<'a>, String> {
        move |buf| corpus::reparse(super::super::parse_with(buf, &limits(lenient)))
    }

    /// How a payload decodes: layered when a `Routing:` block follows (directly in MSNP21,
    /// after the outer headers in MSNP24), else outer headers and body. Payload errors are
    /// data here ("framing ok, body invalid"): they are snapshotted, not asserted away.
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum PayloadView<'a> {
        Layered(Layered<'a>),
        Headers(Payload<'a>),
        Error(String),
    }

    fn payload_view(payload: &[u8]) -> Option<PayloadView<'_>> {
        if payload.is_empty() {
            return None;
        }
        let layered = payload.starts_with(b"Routing:")
            || Payload::parse(payload).is_ok_and(|p| p.body.starts_with(b"Routing:"));
        let view = if layered {
            Layered::parse(payload).map(PayloadView::Layered)
        } else {
            Payload::parse(payload).map(PayloadView::Headers)
        };
        Some(view.unwrap_or_else(|e| PayloadView::Error(corpus::kind_at(e))))
    }
}
