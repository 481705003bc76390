//! MSNP 21–24 commands. (being written)
pub mod msgr;
