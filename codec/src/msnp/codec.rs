//! MSNP commands in the protocol registry ([`crate::registry`]). The MSGR XML documents
//! are their own codec, [`Msgr`](super::msgr::Msgr).

crate::registry::stream_codec! {
    /// The MSNP command codec: `msnp` in [`CODECS`](crate::CODECS).
    Msnp {
        name: "msnp",
        about: "MSNP commands",
        fuzz_targets: ["msnp_parse", "msnp_roundtrip", "msnp_layered_roundtrip"],
        frame: Command,
    }
}

#[cfg(feature = "testing")]
mod corpus {
    use serde::Serialize;

    use super::super::Command;
    use super::super::payload::{Layered, Payload};
    use super::Msnp;
    use crate::testing::corpus::{self, StreamCorpus};
    use crate::testing::{self, MsnpLenient};

    impl StreamCorpus for Msnp {
        type Strict = testing::Msnp;
        type Lenient = MsnpLenient;
        fn view<'b>(cmd: &'b Command<'_>) -> Option<Box<dyn erased_serde::Serialize + 'b>> {
            payload_view(&cmd.payload).map(|v| Box::new(v) as Box<dyn erased_serde::Serialize + 'b>)
        }
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
