//! SIP-C bodies. (being written)
