//! A scan of the protobuf wire format that finds the byte where decoding fails.
//!
//! prost's `DecodeError` says what went wrong but not where. When prost refuses a frame,
//! [`scan`] walks it with the schema: keys, varints, lengths, UTF-8 of `string` fields,
//! nested messages, and unknown fields (skipped as prost skips them, groups included). It
//! follows prost's rules, so it accepts exactly the frames prost accepts (the tests and the
//! `leancloud_parse` fuzz target check this), and its first error is at the first offending
//! byte:
//!
//! * [`ErrorKind::Protobuf`] at the key of a field whose wire type is invalid (6, 7, a stray
//!   end-group, a group end with another number), whose number is 0, or whose wire type is
//!   not the one its schema field needs; at a varint longer than ten bytes or cut off;
//! * [`ErrorKind::BadLength`] at the length of a length-delimited field that runs past the
//!   end of its message, or at a fixed-width value cut off;
//! * [`ErrorKind::Utf8`] at the first byte of a `string` field that is not UTF-8;
//! * [`ErrorKind::LimitExceeded`] where prost's recursion limit (100 nested messages or
//!   groups) is reached;
//! * [`ErrorKind::Missing`], only with [`Required::Enforce`], at the first byte of a message
//!   body that lacks a proto2 `required` field (its end, for an empty body).

use crate::{Error, ErrorKind};

/// A message of the schema: its name and fields, for the scan and the schema test.
pub(crate) trait Schema {
    /// The proto message name.
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the schema test"))]
    const NAME: &'static str;
    /// The fields, in tag order.
    const FIELDS: &'static [Field];
}

/// One field of a [`Schema`].
#[derive(Clone, Copy, Debug)]
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "names and kinds are read by the schema test")
)]
pub(crate) struct Field {
    /// The field number.
    pub(crate) tag: u32,
    /// The proto name, which is also the serde name.
    pub(crate) name: &'static str,
    /// The prost kind, as written in the struct (`string, optional`).
    pub(crate) kind: &'static str,
    /// What the scan expects on the wire.
    pub(crate) wire: Wire,
    /// A proto2 `required` field (a `Option` all the same; see [`Required`]).
    pub(crate) required: bool,
}

/// Whether the scan refuses a message without its proto2 `required` fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Required {
    /// Refuse, as the SDK's protobufjs does: [`ErrorKind::Missing`] at the message's start.
    Enforce,
    /// Accept, as prost does.
    Ignore,
}

/// What a field's value looks like on the wire.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wire {
    /// `int32`, `int64`, `bool` and enums: a varint.
    Varint,
    /// `string`: length-delimited UTF-8.
    Text,
    /// `bytes`: length-delimited.
    Bytes,
    /// A nested message: length-delimited, scanned with its own schema.
    Message(fn(&[u8], usize, u32, Required) -> Result<(), Error>),
}

/// How a Rust field type travels on the wire.
pub(crate) trait Typed {
    const WIRE: Wire;
}

impl Typed for Option<i32> {
    const WIRE: Wire = Wire::Varint;
}

impl Typed for Option<i64> {
    const WIRE: Wire = Wire::Varint;
}

impl Typed for Option<bool> {
    const WIRE: Wire = Wire::Varint;
}

impl Typed for Option<String> {
    const WIRE: Wire = Wire::Text;
}

impl Typed for Vec<String> {
    const WIRE: Wire = Wire::Text;
}

impl Typed for Option<Vec<u8>> {
    const WIRE: Wire = Wire::Bytes;
}

impl<M: Schema> Typed for Option<M> {
    const WIRE: Wire = Wire::Message(scan::<M>);
}

impl<M: Schema> Typed for Vec<M> {
    const WIRE: Wire = Wire::Message(scan::<M>);
}

/// prost's recursion budget for one decode (`prost::RECURSION_LIMIT`).
pub(crate) const RECURSION_LIMIT: u32 = 100;

/// Scans `buf`, the body of a message `M` that starts at absolute offset `base`, with
/// `budget` levels of nesting left (prost's recursion counter).
pub(crate) fn scan<M: Schema>(
    buf: &[u8],
    base: usize,
    budget: u32,
    required: Required,
) -> Result<(), Error> {
    let mut at = 0;
    // Which of M::FIELDS were seen (no message has more than 64 fields; the schema test
    // checks), for the required ones.
    let mut seen = 0u64;
    while at < buf.len() {
        let (tag, wire, next) = key(buf, at, base)?;
        let field = M::FIELDS.iter().position(|f| f.tag == tag);
        at = match field.and_then(|i| M::FIELDS.get(i).map(|f| (i, f))) {
            Some((i, field)) => {
                seen |= 1u64.checked_shl(i as u32).unwrap_or(0);
                known(buf, at, next, wire, field.wire, base, budget, required)?
            }
            None => skip(buf, at, next, wire, tag, base, budget)?,
        };
    }
    if required == Required::Enforce {
        let missing = M::FIELDS
            .iter()
            .enumerate()
            .any(|(i, f)| f.required && seen & 1u64.checked_shl(i as u32).unwrap_or(0) == 0);
        if missing {
            return Err(Error::new(ErrorKind::Missing, base));
        }
    }
    Ok(())
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

/// A field of the schema: its key at `key_at`, its value at `at`. Returns where it ends.
#[allow(
    clippy::too_many_arguments,
    reason = "a cursor struct would obscure the recursion"
)]
fn known(
    buf: &[u8],
    key_at: usize,
    at: usize,
    wire: u8,
    expected: Wire,
    base: usize,
    budget: u32,
    required: Required,
) -> Result<usize, Error> {
    let protobuf = |offset: usize| Error::new(ErrorKind::Protobuf, base + offset);
    match expected {
        Wire::Varint if wire == VARINT => varint(buf, at).map(|(_, end)| end).ok_or(protobuf(at)),
        Wire::Text if wire == LENGTH_DELIMITED => {
            let (start, end) = delimited(buf, at, base)?;
            let text = buf.get(start..end).unwrap_or_default();
            match core::str::from_utf8(text) {
                Ok(_) => Ok(end),
                Err(e) => Err(Error::new(ErrorKind::Utf8, base + start + e.valid_up_to())),
            }
        }
        Wire::Bytes if wire == LENGTH_DELIMITED => delimited(buf, at, base).map(|(_, end)| end),
        Wire::Message(scan_nested) if wire == LENGTH_DELIMITED => {
            if budget == 0 {
                return Err(Error::new(ErrorKind::LimitExceeded, base + key_at));
            }
            let (start, end) = delimited(buf, at, base)?;
            scan_nested(
                buf.get(start..end).unwrap_or_default(),
                base + start,
                budget - 1,
                required,
            )?;
            Ok(end)
        }
        _ => Err(protobuf(key_at)),
    }
}

/// Skips an unknown field as `prost::encoding::skip_field` does. Returns where it ends.
fn skip(
    buf: &[u8],
    key_at: usize,
    at: usize,
    wire: u8,
    tag: u32,
    base: usize,
    budget: u32,
) -> Result<usize, Error> {
    if budget == 0 {
        return Err(Error::new(ErrorKind::LimitExceeded, base + key_at));
    }
    match wire {
        VARINT => varint(buf, at)
            .map(|(_, end)| end)
            .ok_or(Error::new(ErrorKind::Protobuf, base + at)),
        FIXED64 => fixed(buf, at, 8, base),
        FIXED32 => fixed(buf, at, 4, base),
        LENGTH_DELIMITED => delimited(buf, at, base).map(|(_, end)| end),
        START_GROUP => {
            let mut at = at;
            loop {
                let (inner_tag, inner_wire, next) = key(buf, at, base)?;
                if inner_wire == END_GROUP {
                    if inner_tag != tag {
                        return Err(Error::new(ErrorKind::Protobuf, base + at));
                    }
                    break Ok(next);
                }
                at = skip(buf, at, next, inner_wire, inner_tag, base, budget - 1)?;
            }
        }
        _ => Err(Error::new(ErrorKind::Protobuf, base + key_at)),
    }
}

/// A field key at `at`: `(tag, wire type, end)`, refused as prost's `decode_key` refuses.
fn key(buf: &[u8], at: usize, base: usize) -> Result<(u32, u8, usize), Error> {
    let bad = Error::new(ErrorKind::Protobuf, base + at);
    let (key, next) = varint(buf, at).ok_or(bad)?;
    let key = u32::try_from(key).map_err(|_| bad)?;
    let wire = (key & 7) as u8;
    let tag = key >> 3;
    if wire > FIXED32 || tag == 0 {
        return Err(bad);
    }
    Ok((tag, wire, next))
}

/// A length-delimited value whose length varint is at `at`: `(start, end)` of its bytes.
fn delimited(buf: &[u8], at: usize, base: usize) -> Result<(usize, usize), Error> {
    let (len, start) = varint(buf, at).ok_or(Error::new(ErrorKind::Protobuf, base + at))?;
    let rest = buf.len() - start;
    match usize::try_from(len) {
        Ok(len) if len <= rest => Ok((start, start + len)),
        _ => Err(Error::new(ErrorKind::BadLength, base + at)),
    }
}

/// A fixed-width value of `width` bytes at `at`: where it ends.
fn fixed(buf: &[u8], at: usize, width: usize, base: usize) -> Result<usize, Error> {
    if buf.len() - at >= width {
        Ok(at + width)
    } else {
        Err(Error::new(ErrorKind::BadLength, base + at))
    }
}

/// A varint at `at`: `(value, end)`, or `None` when it is cut off or does not fit in 64 bits
/// (prost: more than ten bytes, or a tenth byte above 1).
fn varint(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *buf.get(at + i)?;
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((value, at + i + 1));
        }
    }
    None
}
