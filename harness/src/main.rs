//! The `imspec` command line. (being written)
fn main() {}
