//! Fetion SIP-C in the protocol registry ([`crate::registry`]).

crate::registry::stream_codec! {
    /// The Fetion SIP-C codec: `fetion` in [`CODECS`](crate::CODECS) (its corpus folder and
    /// dictionary), implemented by this module, [`sipc`](crate::sipc), whose fuzz targets are
    /// `sipc_*`.
    Fetion {
        name: "fetion",
        about: "Fetion SIP-C messages",
        fuzz_targets: ["sipc_parse", "sipc_roundtrip", "sipc_body_xml"],
        frame: Message,
    }
}

#[cfg(feature = "testing")]
impl crate::testing::corpus::StreamCorpus for Fetion {
    type Strict = crate::testing::Sipc;
    type Lenient = crate::testing::SipcLenient;
}
