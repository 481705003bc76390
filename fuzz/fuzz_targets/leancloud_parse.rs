//! Raw bytes into the LeanCloud decoder, as a binary frame and as a base64 text frame: no
//! panic; the wire scan (`leancloud::check_with`, lenient) accepts exactly what prost
//! accepts, and by default its error, inside the frame, is the one `decode` reports; on success the laws of `testing::leancloud_frame` hold (laws 1–2, the other
//! framing decodes to the same command, the readable JSON form round-trips).
#![no_main]

use imspec_codec::leancloud::{self, Format, GenericCommand, Limits, Message as _};
use imspec_codec::testing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // With every leniency on, the scan accepts exactly what prost accepts.
    let scan = leancloud::check_with(data, &Limits::lenient());
    let prost = GenericCommand::decode(data);
    match (&scan, &prost) {
        (Ok(()), Ok(_)) | (Err(_), Err(_)) => {}
        _ => panic!("scan and prost disagree: scan {scan:?}, prost {prost:?}"),
    }
    // By default, decode reports the scan's error, inside the frame.
    match (
        leancloud::check(data),
        leancloud::decode(data, Format::Protobuf2),
    ) {
        (Ok(()), Ok(_)) => {}
        (Err(e), Err(d)) => {
            assert_eq!(e, d, "decode and check disagree");
            assert!(e.offset() <= data.len(), "{e:?} is past the frame");
        }
        (scan, decoded) => panic!("check {scan:?}, decode {decoded:?}"),
    }
    if let Err(e) = leancloud::decode(data, Format::Proto2Base64) {
        assert!(e.offset() <= data.len(), "{e:?} is past the text frame");
    }
    for format in [Format::Protobuf2, Format::Proto2Base64] {
        if let Err(e) = testing::leancloud_frame(data, format, false) {
            panic!("{format:?}: {e}");
        }
    }
});
