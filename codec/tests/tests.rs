//! Integration tests of imspec-codec, one binary (ripgrep style).

// Property tests of the round-trip laws for every frame type.
mod roundtrip;
