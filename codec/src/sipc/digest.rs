//! The SIP-C/2.0 login digest (docs/protocols/fetion.md §7.1).
//!
//! A client answers the `W: Digest algorithm="MD5-sess",nonce="…"` challenge of a `REGISTER`
//! with `A: Digest response="…",cnonce="…"`. The response is the MD5 scheme PyFetion computes
//! (`__get_response_md5`), not RFC 2617's:
//!
//! ```text
//! key      = MD5( sid ":" domain ":" password )          ; 16 raw bytes
//! H1       = MD5_HEX_UPPER( key ":" nonce ":" cnonce )
//! H2       = MD5_HEX_UPPER( "REGISTER:" sid )
//! response = MD5_HEX_UPPER( H1 ":" nonce ":" H2 )
//! ```
//!
//! The domain is [`FETION_DOMAIN`]. Reading the `A:`/`W:` parameters is
//! [`Message::auth`](super::Message::auth)'s job; this module only computes.

use md5::{Digest, Md5};

/// The SIP-C domain used in the digest key and in `sip:<sid>@<domain>` URIs.
pub const FETION_DOMAIN: &str = "fetion.com.cn";

/// The digest `response` for a `REGISTER` by `sid` with `password`, upper-case hex.
///
/// ```
/// use imspec_codec::sipc::digest::{FETION_DOMAIN, fetion_digest};
/// let r = fetion_digest("815389316", FETION_DOMAIN, "imspec", "N1", "C1");
/// assert_eq!(r.len(), 32);
/// assert!(r.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
/// ```
pub fn fetion_digest(sid: &str, domain: &str, password: &str, nonce: &str, cnonce: &str) -> String {
    let key = Md5::digest(format!("{sid}:{domain}:{password}").as_bytes());
    let mut h1_input = Vec::with_capacity(16 + 2 + nonce.len() + cnonce.len());
    h1_input.extend_from_slice(&key);
    h1_input.push(b':');
    h1_input.extend_from_slice(nonce.as_bytes());
    h1_input.push(b':');
    h1_input.extend_from_slice(cnonce.as_bytes());
    let h1 = md5_hex_upper(&h1_input);
    let h2 = md5_hex_upper(format!("REGISTER:{sid}").as_bytes());
    md5_hex_upper(format!("{h1}:{nonce}:{h2}").as_bytes())
}

/// MD5 of `data` as 32 upper-case hex digits.
pub fn md5_hex_upper(data: &[u8]) -> String {
    hex_upper(&Md5::digest(data))
}

/// Bytes as upper-case hex.
pub fn hex_upper(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recomputes the scheme step by step with independent hex formatting, so a swapped step or
    /// a lower-case stage in `fetion_digest` shows.
    #[test]
    fn fetion_digest_follows_pyfetion_steps() {
        let (sid, nonce, cnonce) = ("815389316", "5D1E7B0FE2AF4F1B", "AB12CD34");
        let key = Md5::digest(b"815389316:fetion.com.cn:imspec");
        let mut h1in = key.to_vec();
        h1in.extend_from_slice(b":5D1E7B0FE2AF4F1B:AB12CD34");
        let up = |d: &[u8]| {
            Md5::digest(d)
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        };
        let h1 = up(&h1in);
        let h2 = up(b"REGISTER:815389316");
        let want = up(format!("{h1}:{nonce}:{h2}").as_bytes());
        assert_eq!(
            fetion_digest(sid, FETION_DOMAIN, "imspec", nonce, cnonce),
            want
        );
        assert_ne!(
            fetion_digest(sid, FETION_DOMAIN, "imspeC", nonce, cnonce),
            want
        );
        assert_ne!(
            fetion_digest(sid, FETION_DOMAIN, "imspec", nonce, "AB12CD35"),
            want
        );
    }

    #[test]
    fn md5_known_vector() {
        // RFC 1321 test suite.
        assert_eq!(md5_hex_upper(b"abc"), "900150983CD24FB0D6963F7D28E17F72");
        assert_eq!(md5_hex_upper(b""), "D41D8CD98F00B204E9800998ECF8427E");
    }
}
