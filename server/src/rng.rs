//! A small deterministic generator for nonces, credentials and message ids.
//!
//! The protocol state machines take no randomness from the environment (quinn-proto style):
//! the driver seeds them once, tests seed them with a constant, and a run is reproducible.
//! SplitMix64 (Steele, Lea, Flood 2014) is enough here: the values need to be unique and
//! unguessable by a test client, not cryptographically strong.

/// SplitMix64.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `n` random bytes as lower-case hex (`2n` digits).
    pub(crate) fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n * 2);
        while s.len() < n * 2 {
            let v = self.next_u64();
            for i in 0..8 {
                if s.len() == n * 2 {
                    break;
                }
                let b = (v >> (i * 8)) as u8;
                s.push(char::from(HEX[usize::from(b >> 4)]));
                s.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
        s
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_hex_has_requested_length_and_varies() {
        let mut r = Rng::new(1);
        let a = r.hex(16);
        let b = r.hex(16);
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        assert_eq!(Rng::new(1).hex(16), a);
        assert_eq!(r.hex(3).len(), 6);
    }
}
