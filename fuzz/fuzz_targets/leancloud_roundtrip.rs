//! Law 1 for generated LeanCloud commands (every field of the schema, enum values named or
//! not, required fields possibly absent, hence the lenient decoder): encoding in either
//! framing decodes to the same command with the predicted length; the two framings agree
//! (the text frame is the binary frame in base64); the binary frame re-encodes byte for byte
//! from its decoding; the default decoder reads it the same or refuses it for a missing
//! required field only; and the readable JSON form round-trips.
//!
//! These are the laws of `imspec_codec::testing::leancloud_frame` (with `exact`) on the
//! command's own binary frame plus law 1 in the text framing, each computed once: the
//! command is encoded once per framing, and each frame decoded once per decoder.
#![no_main]

use std::fmt;

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use imspec_codec::leancloud::{self, Format, GenericCommand, Limits};
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

fn check(cmd: &GenericCommand) -> Result<(), String> {
    let lenient = Limits::lenient();
    // The binary framing: law 1, then the decoding re-encodes to the same frame.
    let bin = testing::encoding::<LeanCloudLenient>(cmd).map_err(|e| format!("Protobuf2: {e}"))?;
    let back = leancloud::decode_with(&bin, Format::Protobuf2, &lenient)
        .map_err(|e| format!("its own binary frame is refused: {e:?}"))?;
    if back != *cmd {
        return Err(format!(
            "binary re-decoding differs\n value: {cmd:?}\n back:  {back:?}"
        ));
    }
    let mut again = Vec::new();
    leancloud::encode(&back, Format::Protobuf2, &mut again);
    if again != bin {
        return Err(format!(
            "re-encoding differs\n frame:  {bin:02x?}\n again: {again:02x?}"
        ));
    }
    // Leniency changes nothing but the acceptance of a missing required field.
    testing::leancloud_leniency_agrees(&bin, Format::Protobuf2, &back)?;
    // The text framing: the binary frame in base64, and law 1.
    let text = testing::encoding::<LeanCloudBase64Lenient>(cmd)
        .map_err(|e| format!("Proto2Base64: {e}"))?;
    if text != STANDARD.encode(&bin).as_bytes() {
        return Err(format!(
            "the text frame is not the binary frame in base64\n text: {}",
            String::from_utf8_lossy(&text)
        ));
    }
    match leancloud::decode_with(&text, Format::Proto2Base64, &lenient) {
        Ok(same) if same == *cmd => {}
        other => return Err(format!("the text frame decodes to {other:?}, not {cmd:?}")),
    }
    // The readable form.
    testing::leancloud_json_round_trips(cmd)
}

fuzz_target!(|c: Command| {
    if let Err(e) = check(&c.0) {
        panic!("{e}");
    }
});
