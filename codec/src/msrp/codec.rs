//! MSRP in the protocol registry ([`crate::registry`]).

crate::registry::stream_codec! {
    /// The MSRP codec (RFC 4975): `msrp` in [`CODECS`](crate::CODECS).
    Msrp {
        name: "msrp",
        about: "MSRP chunks (RFC 4975)",
        fuzz_targets: ["msrp_parse"],
        frame: Chunk,
    }
}

#[cfg(feature = "testing")]
mod corpus {
    use serde::Serialize;

    use super::super::{Chunk, Flag, Method, header};
    use super::Msrp;
    use crate::testing::corpus::{StreamCorpus, Typed, regression_laws, typed};
    use crate::testing::{self, MsrpLenient};

    impl StreamCorpus for Msrp {
        type Strict = testing::Msrp;
        type Lenient = MsrpLenient;
        fn view<'b>(chunk: &'b Chunk<'_>) -> Option<Box<dyn erased_serde::Serialize + 'b>> {
            Some(Box::new(msrp_typed(chunk)))
        }
        fn regression_laws(input: &[u8]) -> Result<(), String> {
            regression_laws::<testing::Msrp>(input)?;
            regression_laws::<MsrpLenient>(input)
        }
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
