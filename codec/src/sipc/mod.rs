//! Fetion SIP-C messages. (being written)
pub mod body;
pub mod header;
