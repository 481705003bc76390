//! Fetion SIP-C in the protocol registry ([`crate::registry`]).

use crate::registry::{self, Codec, Decoded, Framing, Options};

/// The Fetion SIP-C codec: `fetion` in [`CODECS`](crate::CODECS) (its corpus folder and
/// dictionary), implemented by this module, [`sipc`](crate::sipc), whose fuzz targets are
/// `sipc_*`.
#[derive(Clone, Copy, Debug)]
pub struct Fetion;

impl Codec for Fetion {
    fn name(&self) -> &'static str {
        "fetion"
    }
    fn about(&self) -> &'static str {
        "Fetion SIP-C messages"
    }
    fn framing(&self) -> Framing {
        Framing::Stream
    }
    fn fuzz_targets(&self) -> &'static [&'static str] {
        &["sipc_parse", "sipc_roundtrip", "sipc_body_xml"]
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
impl crate::testing::corpus::Corpus for Fetion {
    fn valid<'a>(
        &self,
        _: &str,
        input: &'a [u8],
    ) -> Result<crate::testing::corpus::Snapshot<'a>, String> {
        use crate::testing::{Sipc, corpus};
        corpus::stream_valid::<Sipc, _>(input, frame(false), corpus::no_view)
    }
    fn lenient<'a>(
        &self,
        _: &str,
        input: &'a [u8],
    ) -> Result<crate::testing::corpus::Snapshot<'a>, String> {
        use crate::testing::{Sipc, SipcLenient, corpus};
        corpus::stream_lenient::<Sipc, SipcLenient, _>(input, frame(true))
    }
    fn invalid(&self, _: &str, input: &[u8]) -> Result<crate::testing::corpus::Refusal, String> {
        use crate::testing::{Sipc, SipcLenient, corpus};
        corpus::stream_invalid::<Sipc, SipcLenient>(input)
    }
    fn regression(&self, _: &str, input: &[u8]) -> Result<(), String> {
        crate::testing::corpus::regression_laws::<crate::testing::Sipc>(input)
    }
    fn chunking(&self, stream: &[u8], cuts: &[usize]) -> Option<Result<(), String>> {
        Some(crate::testing::chunking::<crate::testing::Sipc>(
            stream, cuts,
        ))
    }
}

/// The frame at the start of a buffer, decoded again for a snapshot.
#[cfg(feature = "testing")]
fn frame<'a>(lenient: bool) -> impl Fn(&'a [u8]) -> Result<super::Message<'a>, String> {
    move |buf| crate::testing::corpus::reparse(super::parse_with(buf, &limits(lenient)))
}
