//! Bytes as text for logs, reports and scenario files: [`escape`] renders any bytes as one
//! printable line (CR, LF, tab, backslash, other control characters and bytes that are not UTF-8
//! become `\r`, `\n`, `\t`, `\\`, `\xNN`), [`unescape`] reads that form back (a scenario's
//! `raw:` string), [`first_line`] and [`cut`] shorten a frame for a one-line summary without
//! splitting a UTF-8 character.

/// The first line of `bytes`, escaped for display.
pub fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len());
    escape(cut(bytes.get(..end).unwrap_or_default(), 200))
}

/// At most `max` bytes of `bytes`, never ending inside a UTF-8 character (a cut inside one
/// backs up to its start; bytes that are not UTF-8 are cut where they fall).
pub fn cut(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let mut end = max;
    // Back up over at most three continuation bytes to the start of the character.
    while end > 0 && max - end < 3 && bytes.get(end).is_some_and(|b| b & 0xc0 == 0x80) {
        end -= 1;
    }
    match bytes.get(end..).map(|rest| rest.utf8_chunks().next()) {
        // The character that starts at `end` is valid and crosses `max`: leave it out.
        Some(Some(chunk)) if !chunk.valid().is_empty() => bytes.get(..end).unwrap_or_default(),
        _ => bytes.get(..max).unwrap_or_default(),
    }
}

/// Bytes as text with CR, LF, tab, backslash, other control characters and non-UTF-8
/// bytes escaped.
pub fn escape(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    // Every logged frame passes through here: copy runs of plain text in one go.
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 16 + 8);
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut plain = 0;
        for (i, c) in valid.char_indices() {
            let short = match c {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                '\\' => "\\\\",
                c if c.is_control() => "",
                _ => continue,
            };
            out.push_str(valid.get(plain..i).unwrap_or_default());
            if short.is_empty() {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                out.push_str(short);
            }
            plain = i + c.len_utf8();
        }
        out.push_str(valid.get(plain..).unwrap_or_default());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Interprets `\r`, `\n`, `\t`, `\\`, `\xNN` in a `raw:` string.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some((_, 'r')) => out.push(b'\r'),
            Some((_, 'n')) => out.push(b'\n'),
            Some((_, 't')) => out.push(b'\t'),
            Some((_, '\\')) => out.push(b'\\'),
            Some((_, 'x')) => {
                let hex: String = (0..2)
                    .filter_map(|_| chars.next().map(|(_, h)| h))
                    .collect();
                let b = u8::from_str_radix(&hex, 16).map_err(|_| {
                    format!("raw: `\\x{hex}` at character {i} is not two hex digits")
                })?;
                out.push(b);
            }
            Some((_, other)) => {
                return Err(format!("raw: unknown escape `\\{other}` at character {i}"));
            }
            None => return Err("raw: a lone `\\` at the end".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_text_and_escapes_controls_backslash_and_bad_utf8() {
        assert_eq!(escape(b""), "");
        assert_eq!(escape(b"PNG 1 CON 0"), "PNG 1 CON 0");
        assert_eq!(
            escape(b"PNG 1 CON 0\r\n\tx\\y"),
            "PNG 1 CON 0\\r\\n\\tx\\\\y"
        );
        assert_eq!(escape("宋体\u{7f}\u{85}é".as_bytes()), "宋体\\x7f\\x85é");
        assert_eq!(escape(b"a\xffb\xc3"), "a\\xffb\\xc3");
        assert_eq!(escape(b"\x00\r"), "\\x00\\r");
    }

    #[test]
    fn issue_15_logs_cut_on_character_boundaries() {
        // Why: a wire log cut inside 你 showed `你\xe5\xa5`, read as `你�`.
        let text = "你好".as_bytes();
        assert_eq!(cut(text, 4), "你".as_bytes());
        assert_eq!(cut(text, 5), "你".as_bytes());
        assert_eq!(cut(text, 6), text);
        assert_eq!(cut(b"ab\xff\xfe", 3), b"ab\xff");
        assert_eq!(first_line(&"你".repeat(100).into_bytes()), "你".repeat(66));
    }
}
