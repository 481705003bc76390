//! Law 1 for generated LeanCloud commands (every field of the schema, enum values named or
//! not, required fields possibly absent, hence the lenient decoder): encoding in either framing decodes to the same command with the predicted length,
//! the two framings agree, and the readable JSON form round-trips.
#![no_main]

use std::fmt;

use arbitrary::{Arbitrary, Unstructured};
use imspec_codec::leancloud::{self, Format, GenericCommand};
use imspec_codec::testing::{self, LeanCloudBase64Lenient, LeanCloudLenient};
use libfuzzer_sys::fuzz_target;

/// A generated command whose `Debug` shows its binary frame first, then the value.
struct Command(GenericCommand);

impl<'a> Arbitrary<'a> for Command {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        GenericCommand::arbitrary(u).map(Self)
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::new();
        leancloud::encode(&self.0, Format::Protobuf2, &mut bytes);
        writeln!(
            f,
            "// imspec_codec::leancloud::decode, Protobuf2 ({} bytes):",
            bytes.len()
        )?;
        writeln!(f, "{}", imspec_fuzz::byte_string(&bytes))?;
        write!(f, "// value: {:?}", self.0)
    }
}

fuzz_target!(|c: Command| {
    if let Err(e) = testing::value_round_trip::<LeanCloudLenient>(&c.0) {
        panic!("{e}");
    }
    if let Err(e) = testing::value_round_trip::<LeanCloudBase64Lenient>(&c.0) {
        panic!("{e}");
    }
    let mut bytes = Vec::new();
    leancloud::encode(&c.0, Format::Protobuf2, &mut bytes);
    match testing::leancloud_frame(&bytes, Format::Protobuf2, true) {
        Ok(Some(back)) => assert_eq!(back, c.0),
        Ok(None) => panic!("its own encoding is refused"),
        Err(e) => panic!("{e}"),
    }
});
