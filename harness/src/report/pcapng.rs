//! The pcapng blocks the pcap report needs (IETF draft-ietf-opsawg-pcapng): one Section Header
//! Block, one Interface Description Block, Enhanced Packet Blocks. Little-endian; times in
//! microseconds (the default `if_tsresol`).
//!
//! Written here rather than taken from a crate: the one pcapng writer on crates.io
//! (`pcap-file`) has had no stable release since 2022; these three blocks are a page.

/// LINKTYPE_RAW: packets start with the IPv4 or IPv6 header.
pub const LINKTYPE_RAW: u16 = 101;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;

/// A pcapng file being written into memory.
#[derive(Debug)]
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// Starts a file: the section header (naming `application`) and one interface of `linktype`.
    pub fn new(linktype: u16, application: &str) -> Self {
        let mut w = Self { out: Vec::new() };
        let mut body = Vec::new();
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes()); // major version
        body.extend_from_slice(&0u16.to_le_bytes()); // minor version
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not given
        option(&mut body, SHB_USERAPPL, application.as_bytes());
        end_options(&mut body);
        w.block(SHB, &body);
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes()); // reserved
        body.extend_from_slice(&0u32.to_le_bytes()); // snaplen: no limit
        w.block(IDB, &body);
        w
    }

    /// One packet of interface 0 at `ts_us` microseconds since the Unix epoch, with an
    /// optional comment (Wireshark shows it as `frame.comment`).
    pub fn packet(&mut self, ts_us: u64, data: &[u8], comment: Option<&str>) {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let mut body = Vec::with_capacity(20 + data.len() + 4);
        body.extend_from_slice(&0u32.to_le_bytes()); // interface id
        body.extend_from_slice(&((ts_us >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts_us as u32).to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes()); // captured length
        body.extend_from_slice(&len.to_le_bytes()); // original length
        body.extend_from_slice(data);
        pad(&mut body);
        if let Some(c) = comment {
            option(&mut body, OPT_COMMENT, c.as_bytes());
            end_options(&mut body);
        }
        self.block(EPB, &body);
    }

    /// The file.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    fn block(&mut self, kind: u32, body: &[u8]) {
        let total = u32::try_from(12 + body.len()).unwrap_or(u32::MAX);
        self.out.extend_from_slice(&kind.to_le_bytes());
        self.out.extend_from_slice(&total.to_le_bytes());
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(&total.to_le_bytes());
    }
}

fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    let value = &value[..value.len().min(u16::MAX as usize - 3)];
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    pad(body);
}

fn end_options(body: &mut Vec<u8>) {
    body.extend_from_slice(&OPT_END.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
}

fn pad(body: &mut Vec<u8>) {
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Walks the blocks of a file: (type, body) each, checking both length fields.
    pub(crate) fn blocks(file: &[u8]) -> Vec<(u32, &[u8])> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < file.len() {
            let word = |i: usize| u32::from_le_bytes(file[i..i + 4].try_into().unwrap());
            let (kind, len) = (word(at), word(at + 4) as usize);
            assert_eq!(len % 4, 0, "block at {at} is not 32-bit aligned");
            assert_eq!(word(at + len - 4) as usize, len, "trailing length at {at}");
            out.push((kind, &file[at + 8..at + len - 4]));
            at += len;
        }
        assert_eq!(at, file.len());
        out
    }

    #[test]
    fn pcapng_blocks_are_framed_aligned_and_carry_the_packet() {
        let mut w = Writer::new(LINKTYPE_RAW, "imspec");
        w.packet(0x1_0000_0002, b"\x45abc", Some("case x"));
        w.packet(7, b"1234", None);
        let file = w.finish();
        let b = blocks(&file);
        assert_eq!(
            b.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [SHB, IDB, EPB, EPB]
        );
        assert_eq!(&b[0].1[..4], &BYTE_ORDER_MAGIC.to_le_bytes());
        assert_eq!(&b[1].1[..2], &LINKTYPE_RAW.to_le_bytes());
        let epb = b[2].1;
        assert_eq!(&epb[4..8], &1u32.to_le_bytes());
        assert_eq!(&epb[8..12], &2u32.to_le_bytes());
        assert_eq!(&epb[12..16], &4u32.to_le_bytes());
        assert_eq!(&epb[20..24], b"\x45abc");
        assert_eq!(&epb[24..26], &OPT_COMMENT.to_le_bytes());
        assert_eq!(&epb[26..28], &6u16.to_le_bytes());
        assert_eq!(&epb[28..34], b"case x");
        assert_eq!(b[3].1.len(), 24);
    }
}
