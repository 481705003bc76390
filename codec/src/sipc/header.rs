//! Typed SIP-C header values. (being written)
