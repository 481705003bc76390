//! The reference server. (being written)
