//! SIP in the protocol registry ([`crate::registry`]).

crate::registry::stream_codec! {
    /// The SIP codec (RFC 3261 over TCP): `sip` in [`CODECS`](crate::CODECS).
    Sip {
        name: "sip",
        about: "SIP messages (RFC 3261)",
        fuzz_targets: ["sip_parse", "sip_uri", "sip_sdp"],
        frame: Message,
    }
}

#[cfg(feature = "testing")]
mod corpus {
    use serde::Serialize;

    use super::super::message_summary::{self, MessageSummary};
    use super::super::{Message, header};
    use super::Sip;
    use crate::Status;
    use crate::registry::StreamCodec;
    use crate::testing::corpus::{self, StreamCorpus, Typed, regression_laws, typed};
    use crate::testing::{self, SipLenient};

    impl StreamCorpus for Sip {
        type Strict = testing::Sip;
        type Lenient = SipLenient;
        fn view<'b>(msg: &'b Message<'_>) -> Option<Box<dyn erased_serde::Serialize + 'b>> {
            Some(Box::new(sip_typed(msg)))
        }
        /// Law 1 for every message-summary body, before the snapshot shows it.
        fn valid_laws(input: &[u8]) -> Result<(), String> {
            let mut at = 0;
            while let Ok(Status::Complete((msg, n))) = super::super::parse(&input[at..]) {
                if is_summary(&msg) {
                    summary_law(&msg.body).map_err(|e| format!("byte {at}: {e}"))?;
                }
                at += n;
            }
            Ok(())
        }
        fn regression_laws(input: &[u8]) -> Result<(), String> {
            regression_laws::<testing::Sip>(input)?;
            regression_laws::<SipLenient>(input)?;
            // The sip_parse target also decodes every accepted body as a message summary.
            for lenient in [false, true] {
                let Ok(Status::Complete((msg, _))) =
                    Self::parse_with(input, &Self::limits(lenient))
                else {
                    continue;
                };
                for summary_limits in [
                    message_summary::Limits::default(),
                    message_summary::Limits::lenient(),
                ] {
                    if let Ok(summary) = message_summary::parse_with(&msg.body, &summary_limits) {
                        let bytes = summary.to_bytes();
                        if message_summary::parse(&bytes).as_ref() != Ok(&summary) {
                            return Err(format!(
                                "a message summary re-encodes to {:?}, which decodes differently",
                                String::from_utf8_lossy(&bytes)
                            ));
                        }
                    }
                }
            }
            Ok(())
        }
    }

    fn is_summary(msg: &Message<'_>) -> bool {
        msg.content_type()
            .is_some_and(|ct| ct.is_ok_and(|ct| ct.is("application", "simple-message-summary")))
    }

    /// What the typed accessors read from a SIP message (each a value, or `kind @ offset`
    /// within the header value), and its message-summary body. A typed value whose canonical
    /// form differs from the raw text is shown with its `canonical` text.
    #[derive(Serialize)]
    struct SipTyped<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        call_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cseq: Option<Typed<header::CSeq<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<Typed<header::NameAddr<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<Typed<header::NameAddr<'a>>>,
        vias: Typed<Vec<header::Via<'a>>>,
        #[serde(skip_serializing_if = "is_empty_list")]
        contacts: Typed<Vec<header::NameAddr<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        event: Option<Typed<header::Value<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        subscription_state: Option<Typed<header::Value<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expires: Option<Typed<u32>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content_type: Option<Typed<header::ContentType<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_summary: Option<SummaryView<'a>>,
    }

    /// A message-summary body: the value, whether re-encoding it gives the body back byte
    /// for byte, and whether its status line agrees with its counts.
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum SummaryView<'a> {
        Summary {
            summary: MessageSummary<'a>,
            canonical: bool,
            consistent: bool,
        },
        Error(String),
    }

    fn is_empty_list<T>(t: &Typed<Vec<T>>) -> bool {
        matches!(t, Typed::Value(v) if v.is_empty())
    }

    fn sip_typed<'a>(msg: &'a Message<'a>) -> SipTyped<'a> {
        SipTyped {
            call_id: msg.call_id(),
            cseq: msg.cseq().map(typed),
            from: msg.from().map(typed),
            to: msg.to().map(typed),
            vias: typed(msg.vias()),
            contacts: typed(msg.contacts()),
            event: msg.event().map(typed),
            subscription_state: msg.subscription_state().map(typed),
            expires: msg.expires().map(typed),
            content_type: msg.content_type().map(typed),
            message_summary: is_summary(msg).then(|| summary_view(&msg.body)),
        }
    }

    fn summary_view(body: &[u8]) -> SummaryView<'_> {
        match message_summary::parse(body) {
            Ok(summary) => SummaryView::Summary {
                canonical: summary.to_bytes() == body,
                consistent: summary.is_consistent(),
                summary,
            },
            Err(e) => SummaryView::Error(corpus::kind_at(e)),
        }
    }

    /// Law 1 for a message-summary body (value → bytes → value) that decodes.
    fn summary_law(body: &[u8]) -> Result<(), String> {
        let Ok(summary) = message_summary::parse(body) else {
            return Ok(());
        };
        let bytes = summary.to_bytes();
        if summary.encoded_len() != bytes.len() {
            return Err(format!(
                "message summary: encoded_len {} != {}",
                summary.encoded_len(),
                bytes.len()
            ));
        }
        if message_summary::parse(&bytes).map(MessageSummary::into_owned)
            != Ok(summary.clone().into_owned())
        {
            return Err("the canonical encoding of a message summary decodes differently".into());
        }
        Ok(())
    }
}
