//! Integration tests of imspec-codec, one binary (ripgrep style).

// Snapshot tests over corpus/<name>/{valid,lenient,invalid,regressions} for every codec of
// CODECS, written to snapshots/codec/.
mod corpus;

// Property tests of the round-trip laws for every frame type.
mod roundtrip;

// Property tests of the round-trip laws for SIP, message-summary bodies and MSRP.
mod roundtrip_sip;

// LeanCloud: constructed frames, round-trip properties.
mod leancloud;

// `sipc::parse_ref` agrees with `sipc::parse` (corpus prefixes, arbitrary bytes).
mod sipc_ref;

// Crash files of the fuzz targets that are not plain frames (stream_chunking's cut points).
mod fuzz;

// The registry CODECS: every codec has corpus, dictionary and fuzz targets; no other list.
mod registry;
