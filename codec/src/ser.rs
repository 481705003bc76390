//! Serde helpers: bodies serialize as text when they are UTF-8, else as a list of bytes.

use serde::Serializer;

pub(crate) fn bytes<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match core::str::from_utf8(bytes) {
        Ok(text) => s.serialize_str(text),
        Err(_) => s.collect_seq(bytes.iter()),
    }
}
