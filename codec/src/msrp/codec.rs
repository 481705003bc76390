//! MSRP in the protocol registry ([`crate::registry`]).

use crate::registry::{self, Codec, Decoded, Framing, Options};

/// The MSRP codec (RFC 4975): `msrp` in [`CODECS`](crate::CODECS).
#[derive(Clone, Copy, Debug)]
pub struct Msrp;

impl Codec for Msrp {
    fn name(&self) -> &'static str {
        "msrp"
    }
    fn about(&self) -> &'static str {
        "MSRP chunks (RFC 4975)"
    }
    fn framing(&self) -> Framing {
        Framing::Stream
    }
    fn fuzz_targets(&self) -> &'static [&'static str] {
        &["msrp_parse"]
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

    use super::super::{Chunk, Flag, Method, header};
    use super::{Msrp, limits};
    use crate::testing::corpus::{self, Corpus, Refusal, Snapshot, Typed, typed};
    use crate::testing::{self, MsrpLenient};

    impl Corpus for Msrp {
        fn valid<'a>(&self, _: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
            corpus::stream_valid::<testing::Msrp, _>(input, frame(false), |chunk| {
                Some(Box::new(msrp_typed(chunk)))
            })
        }
        fn lenient<'a>(&self, _: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
            corpus::stream_lenient::<testing::Msrp, MsrpLenient, _>(input, frame(true))
        }
        fn invalid(&self, _: &str, input: &[u8]) -> Result<Refusal, String> {
            corpus::stream_invalid::<testing::Msrp, MsrpLenient>(input)
        }
        fn regression(&self, _: &str, input: &[u8]) -> Result<(), String> {
            corpus::regression_laws::<testing::Msrp>(input)?;
            corpus::regression_laws::<MsrpLenient>(input)
        }
        fn chunking(&self, stream: &[u8], cuts: &[usize]) -> Option<Result<(), String>> {
            Some(testing::chunking::<testing::Msrp>(stream, cuts))
        }
    }

    fn frame<'a>(lenient: bool) -> impl Fn(&'a [u8]) -> Result<Chunk<'a>, String> {
        move |buf| corpus::reparse(super::super::parse_with(buf, &limits(lenient)))
    }

    /// What the typed accessors read from an MSRP chunk, and whether its Byte-Range fits its
    /// body (docs/protocols/sip.md §6.3).
    #[derive(Serialize)]
    struct MsrpTyped<'a> {
        to_path: Option<Typed<header::Path<'a>>>,
        from_path: Option<Typed<header::Path<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<Typed<&'a str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        byte_range: Option<Typed<header::ByteRange>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        byte_range_fits_body: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<Typed<header::Status<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        success_report: Option<Typed<header::Report>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        failure_report: Option<Typed<header::Report>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content_type: Option<Typed<header::ContentType<'a>>>,
    }

    fn msrp_typed<'a>(chunk: &'a Chunk<'a>) -> MsrpTyped<'a> {
        let fits = match (chunk.byte_range(), &chunk.body) {
            (Some(Ok(range)), Some(body)) if chunk.flag != Flag::Aborted => {
                Some(range.fits(body.len() as u64))
            }
            (Some(Ok(range)), None) if chunk.method() == Some(&Method::SEND) => Some(range.fits(0)),
            _ => None,
        };
        MsrpTyped {
            to_path: chunk.to_path().map(typed),
            from_path: chunk.from_path().map(typed),
            message_id: chunk.message_id().map(typed),
            byte_range: chunk.byte_range().map(typed),
            byte_range_fits_body: fits,
            status: chunk.status_header().map(typed),
            success_report: chunk.success_report().map(typed),
            failure_report: chunk.failure_report().map(typed),
            content_type: chunk.content_type().map(typed),
        }
    }
}
