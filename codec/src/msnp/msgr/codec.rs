//! MSGR XML documents in the protocol registry ([`crate::registry`]).

use crate::registry::{self, Codec, Decoded, Framing, Options};

/// The MSGR document codec (one bare XML payload body): `msgr` in
/// [`CODECS`](crate::CODECS). It shares MSNP's fuzz dictionary.
#[derive(Clone, Copy, Debug)]
pub struct Msgr;

impl Codec for Msgr {
    fn name(&self) -> &'static str {
        "msgr"
    }
    fn about(&self) -> &'static str {
        "One MSNP `msgr` XML document"
    }
    fn framing(&self) -> Framing {
        Framing::Document
    }
    fn fuzz_targets(&self) -> &'static [&'static str] {
        &["msgr_parse", "msgr_roundtrip"]
    }
    fn dictionary(&self) -> &'static str {
        "msnp"
    }
    fn decode(&self, input: &[u8], options: &Options) -> Decoded {
        registry::decode_whole(
            input,
            0,
            super::parse_document_bytes(input, &limits(options.lenient)),
        )
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
    use super::super::{Document, parse_document_bytes};
    use super::{Msgr, limits};
    use crate::testing::corpus::{self, Corpus, Lenient, Refusal, Snapshot, kind_at};

    impl Corpus for Msgr {
        fn valid<'a>(&self, _: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
            let doc = parse_document_bytes(input, &limits(false))
                .map_err(|e| format!("valid document rejected: {}", kind_at(e)))?;
            law(&doc)?;
            Ok(Snapshot::yaml(doc))
        }
        fn lenient<'a>(&self, _: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
            let strict = match parse_document_bytes(input, &limits(false)) {
                Ok(doc) => {
                    return Err(format!("the strict decoder accepts this document: {doc:?}"));
                }
                Err(e) => kind_at(e),
            };
            let doc = parse_document_bytes(input, &limits(true))
                .map_err(|e| format!("lenient document rejected: {}", kind_at(e)))?;
            law(&doc)?;
            Ok(Snapshot::yaml(Lenient {
                strict,
                frames: doc,
            }))
        }
        fn invalid(&self, _: &str, input: &[u8]) -> Result<Refusal, String> {
            corpus::invalid_report(
                input,
                parse_document_bytes(input, &limits(true)).err(),
                parse_document_bytes(input, &limits(false)).err(),
            )
        }
        fn regression(&self, _: &str, input: &[u8]) -> Result<(), String> {
            for lenient in [false, true] {
                if let Ok(doc) = parse_document_bytes(input, &limits(lenient)) {
                    law(&doc)?;
                }
            }
            Ok(())
        }
    }

    /// Law 4: XML bodies round-trip semantically, never byte for byte. The encoding always
    /// escapes, so it must decode with the strict limits even when the input needed leniency.
    fn law(doc: &Document<'_>) -> Result<(), String> {
        let mut out = Vec::new();
        doc.encode(&mut out);
        match parse_document_bytes(&out, &limits(false)) {
            Ok(back) if back.clone().into_owned() == doc.clone().into_owned() => Ok(()),
            Ok(_) => Err(format!(
                "re-decoding the encoding differs:\n{}",
                String::from_utf8_lossy(&out)
            )),
            Err(e) => Err(format!(
                "the encoding does not decode ({}):\n{}",
                kind_at(e),
                String::from_utf8_lossy(&out)
            )),
        }
    }
}
