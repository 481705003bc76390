//! Private scanning helpers shared by the protocol modules: lines, tokens, decimal numbers.

use crate::{Error, ErrorKind};

/// One line found by [`line`]: `buf[start..end]` is its text without the line ending, and the
/// next line starts at `next`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) next: usize,
}

/// Finds the line that starts at `start`.
///
/// `Ok(None)` when no line break follows yet (incomplete). A line must end in CRLF; a bare LF is
/// accepted only with `allow_bare_lf` (captures pasted from logs lose their CRs). A CR not
/// followed by LF is an error at that CR.
///
/// Only the first CR or LF decides, so that the error (kind and offset) is the same however
/// the input is cut: a later bare LF must not be reported before an earlier bare CR, and a CR
/// that is the last byte seen so far may still start a CRLF.
pub(crate) fn line(buf: &[u8], start: usize, allow_bare_lf: bool) -> Result<Option<Line>, Error> {
    let rest = buf.get(start..).unwrap_or_default();
    let Some(rel) = memchr::memchr2(b'\r', b'\n', rest) else {
        return Ok(None);
    };
    let at = start + rel;
    match (rest.get(rel), rest.get(rel + 1)) {
        (Some(b'\r'), Some(b'\n')) => Ok(Some(Line {
            start,
            end: at,
            next: at + 2,
        })),
        (Some(b'\r'), None) => Ok(None),
        (Some(b'\n'), _) if allow_bare_lf => Ok(Some(Line {
            start,
            end: at,
            next: at + 1,
        })),
        _ => Err(Error::new(ErrorKind::BadLineEnding, at)),
    }
}

/// Parses an unsigned decimal number of at most `max_digits` digits (no sign, no white space).
/// `None` when empty, not all digits, too long or overflowing.
pub(crate) fn decimal(bytes: &[u8], max_digits: usize) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > max_digits {
        return None;
    }
    let mut n: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// The number of decimal digits of `n` (for `encoded_len`).
pub(crate) fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// `buf[start..end]` as UTF-8, or a `Utf8` error at the first bad byte.
///
/// Inlined: called out of line, building and returning the `Result` cost about 30
/// instructions per SIP-C parse around `from_utf8`'s own (callgrind, seed 004's `M`).
#[inline]
pub(crate) fn utf8(buf: &[u8], start: usize, end: usize) -> Result<&str, Error> {
    let bytes = buf.get(start..end).unwrap_or_default();
    core::str::from_utf8(bytes).map_err(|e| Error::new(ErrorKind::Utf8, start + e.valid_up_to()))
}

/// The offset of `part` (a slice borrowed from `buf`) within `buf`.
pub(crate) fn offset_in(buf: &[u8], part: &str) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(buf.as_ptr() as usize)
        .min(buf.len())
}

/// The position of the first CR or LF in `bytes`.
///
/// Header values are short, where `memchr2`'s set-up costs more than it saves; this reads
/// eight bytes at a time and marks the bytes equal to CR or LF with the "has zero byte" bit
/// trick (`(v - 0x01..) & !v & 0x80..` of `w ^ 0x0D..` and `w ^ 0x0A..`). The trick may mark
/// a byte above a real match but never one below it, so the lowest mark is the first break.
///
/// Most words hold no control byte at all, so each is first tested with one "has a byte
/// below 0x0E" mask (`(w - 0x0E..) & !w & 0x80..`, which also never marks below a real
/// match): only a word with a byte below 0x0E looks further, first at the lowest byte so
/// marked (the break itself, in the usual value), then with the two exact tests. That
/// halved the instructions per word (callgrind, seed 004's `M`).
pub(crate) fn find_line_break(bytes: &[u8]) -> Option<usize> {
    find_line_break_from(bytes, 0)
}

/// [`find_line_break`] in `bytes[from..]`, as an offset into `bytes`. Reading the words
/// straight from `bytes` (not from a sub-slice cut into chunks) saves the header scan the
/// set-up of both per line.
#[inline]
pub(crate) fn find_line_break_from(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at.wrapping_add(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let low = w.wrapping_sub(ONES * 0x0E) & !w & HIGHS;
        if low != 0 {
            let first = (low.trailing_zeros() / 8) as usize;
            if matches!(word.get(first), Some(b'\r' | b'\n')) {
                return Some(at + first);
            }
            let marks = zero_bytes(w ^ (ONES * 0x0D)) | zero_bytes(w ^ (ONES * 0x0A));
            if marks != 0 {
                return Some(at + (marks.trailing_zeros() / 8) as usize);
            }
        }
        at += 8;
    }
    bytes
        .get(at..)
        .unwrap_or_default()
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .map(|p| at + p)
}

/// The first `limit` bytes of `buf`. A head is scanned only this far: whether it fits its
/// bound is then judged the same way whatever the input holds past the bound, and however it
/// was cut (an error past the bound, seen only when the bytes after it arrived at once, never
/// wins over the bound; fuzz stream_chunking).
pub(crate) fn within(buf: &[u8], limit: usize) -> &[u8] {
    buf.get(..limit).unwrap_or(buf)
}

/// Whether `b` may appear in a token (a header name, method, verb): visible ASCII except
/// separators that the grammars use (`:`, space, and the controls).
pub(crate) const fn is_token(b: u8) -> bool {
    TOKEN[b as usize]
}

const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0x21;
    while i < 0x7f {
        t[i] = i != b':' as usize;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_crlf_and_incomplete() {
        let l = line(b"ab\r\ncd", 0, false).unwrap().unwrap();
        assert_eq!((l.start, l.end, l.next), (0, 2, 4));
        assert!(line(b"ab\r\ncd", 4, false).unwrap().is_none());
        assert!(line(b"ab\r", 0, false).unwrap().is_none());
    }

    #[test]
    fn line_bare_lf_is_opt_in() {
        assert_eq!(line(b"ab\n", 0, false).unwrap_err().offset(), 2);
        let l = line(b"ab\n", 0, true).unwrap().unwrap();
        assert_eq!((l.end, l.next), (2, 3));
        assert_eq!(line(b"a\rb\r\n", 0, true).unwrap_err().offset(), 1);
        assert_eq!(line(b"a\rb", 0, true).unwrap_err().offset(), 1);
    }

    // Why: a later bare LF was reported before an earlier bare CR once the LF had arrived
    // (fuzz stream_chunking), so the error depended on how the stream was cut.
    #[test]
    fn line_first_break_decides_however_the_input_is_cut() {
        let stream = b"\rw\xff\xff\n";
        for lenient in [false, true] {
            for cut in 2..=stream.len() {
                let e = line(&stream[..cut], 0, lenient).unwrap_err();
                assert_eq!(
                    (e.kind(), e.offset()),
                    (ErrorKind::BadLineEnding, 0),
                    "{cut}"
                );
            }
            assert!(line(&stream[..1], 0, lenient).unwrap().is_none());
        }
        assert_eq!(line(b"ab\n\r", 0, false).unwrap_err().offset(), 2);
        assert_eq!(line(b"x\rab\r", 1, false).unwrap_err().offset(), 1);
        assert!(line(b"x\rab\r", 2, false).unwrap().is_none());
    }

    #[test]
    fn find_line_break_agrees_with_a_plain_scan() {
        let mut text = b"0123456789abcdef\tghijklmnopqrstuvwxyz".to_vec();
        for len in 0..text.len() {
            for at in 0..=len {
                for brk in [b'\r', b'\n', b'\t', 0x0e, 0x00] {
                    let mut t = text[..len].to_vec();
                    if at < len {
                        t[at] = brk;
                    }
                    let plain = t.iter().position(|&b| b == b'\r' || b == b'\n');
                    assert_eq!(find_line_break(&t), plain, "{t:?}");
                    for from in 0..=len {
                        let plain = t[from..]
                            .iter()
                            .position(|&b| b == b'\r' || b == b'\n')
                            .map(|p| from + p);
                        assert_eq!(find_line_break_from(&t, from), plain, "{t:?} from {from}");
                    }
                }
            }
        }
        text.clear();
        assert_eq!(find_line_break(&text), None);
    }

    #[test]
    fn decimal_bounds() {
        assert_eq!(decimal(b"0", 3), Some(0));
        assert_eq!(decimal(b"123", 3), Some(123));
        assert_eq!(decimal(b"1234", 3), None);
        assert_eq!(decimal(b"", 3), None);
        assert_eq!(decimal(b"-1", 3), None);
        assert_eq!(decimal(b"99999999999999999999", 20), None);
        assert_eq!(decimal_len(0), 1);
        assert_eq!(decimal_len(10), 2);
        assert_eq!(decimal_len(u64::MAX), 20);
    }
}
