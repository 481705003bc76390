//! LeanCloud in the protocol registry ([`crate::registry`]).

use super::{Format, Limits};
use crate::registry::{self, Codec, Decoded, End, Framing, Options};

/// The LeanCloud realtime codec: `leancloud` in [`CODECS`](crate::CODECS). An input is one
/// binary frame (`lc.protobuf2`), or with [`Options::text`] one base64 text frame
/// (`lc.proto2base64`) per non-empty line.
#[derive(Clone, Copy, Debug)]
pub struct LeanCloud;

impl Codec for LeanCloud {
    fn name(&self) -> &'static str {
        "leancloud"
    }
    fn about(&self) -> &'static str {
        "LeanCloud realtime GenericCommands (see --framing)"
    }
    fn framing(&self) -> Framing {
        Framing::Message
    }
    fn fuzz_targets(&self) -> &'static [&'static str] {
        &["leancloud_parse", "leancloud_roundtrip"]
    }
    fn decode(&self, input: &[u8], options: &Options) -> Decoded {
        let limits = limits(options.lenient);
        if !options.text {
            let decoded = super::decode_with(input, Format::Protobuf2, &limits);
            return registry::decode_whole(input, 0, decoded);
        }
        let mut frames = Vec::new();
        let mut at = 0;
        for line in input.split_inclusive(|&b| b == b'\n') {
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if !text.is_empty() {
                let decoded = super::decode_with(text, Format::Proto2Base64, &limits);
                let one = registry::decode_whole(text, at, decoded);
                frames.extend(one.frames);
                if one.end != End::Clean {
                    return Decoded {
                        frames,
                        end: one.end,
                    };
                }
            }
            at += line.len();
        }
        Decoded {
            frames,
            end: End::Clean,
        }
    }
    #[cfg(feature = "testing")]
    fn corpus(&self) -> &dyn crate::testing::corpus::Corpus {
        self
    }
}

fn limits(lenient: bool) -> Limits {
    if lenient {
        Limits::lenient()
    } else {
        Limits::default()
    }
}

/// The corpus checks: a file's framing follows its extension, `.bin` a binary frame,
/// `.b64` the text of a base64 frame; every file is one frame. Snapshots are JSON (the
/// readable form), described by the frame (hex for binary).
#[cfg(feature = "testing")]
mod corpus {
    use super::super::{self as leancloud, Format};
    use super::LeanCloud;
    use crate::testing::corpus::{Corpus, Refusal, Snapshot, hex, kind_at, kind_name};
    use crate::testing::{leancloud_frame, leancloud_scan_agrees};

    impl Corpus for LeanCloud {
        fn describe(&self, file: &str, input: &[u8]) -> String {
            match frame_format(file) {
                Some(Format::Proto2Base64) => String::from_utf8_lossy(input).into_owned(),
                Some(Format::Protobuf2) | None => hex(input),
            }
        }
        fn valid<'a>(&self, file: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
            let format = format_of(file)?;
            let cmd = leancloud_frame(input, format, true)?
                .ok_or_else(|| format!("refused: {:?}", leancloud::decode(input, format).err()))?;
            if leancloud::decode(input, format).as_ref() != Ok(&cmd) {
                return Err("the default decoder gives another command".into());
            }
            Ok(Snapshot::json(cmd))
        }
        fn lenient<'a>(&self, file: &str, input: &'a [u8]) -> Result<Snapshot<'a>, String> {
            let format = format_of(file)?;
            let cmd = leancloud_frame(input, format, false)?.ok_or("refused even leniently")?;
            let mut again = Vec::new();
            leancloud::encode(&cmd, format, &mut again);
            let strict = leancloud::decode(input, format);
            if strict.is_ok() && again == input {
                return Err(
                    "accepted by default and re-encodes exactly: it belongs in valid/".into(),
                );
            }
            let mut view = serde_json::Map::new();
            view.insert(
                "default".into(),
                match strict {
                    Ok(_) => "accepted".into(),
                    Err(e) => kind_at(e).into(),
                },
            );
            view.insert(
                "decoded".into(),
                serde_json::to_value(&cmd).map_err(|e| e.to_string())?,
            );
            view.insert(
                "reencoded".into(),
                if again == input {
                    "exact".into()
                } else {
                    hex(&again).into()
                },
            );
            Ok(Snapshot::json(view))
        }
        fn invalid(&self, file: &str, input: &[u8]) -> Result<Refusal, String> {
            let format = format_of(file)?;
            let Err(error) = leancloud::decode(input, format) else {
                return Err("accepted".into());
            };
            if format == Format::Protobuf2 {
                leancloud_scan_agrees(input)?;
            }
            let caret = match format {
                Format::Protobuf2 => {
                    format!("{}\n{}^^", hex(input), " ".repeat(2 * error.offset()))
                }
                Format::Proto2Base64 => format!(
                    "{}\n{}^",
                    String::from_utf8_lossy(input),
                    " ".repeat(error.offset())
                ),
            };
            let report = format!("{} @ {}\n{caret}", kind_name(error.kind()), error.offset());
            Ok(Refusal { error, report })
        }
        fn regression(&self, file: &str, input: &[u8]) -> Result<(), String> {
            // Other files there are other targets' inputs (`server_leancloud`'s programs).
            if frame_format(file).is_none() {
                return Ok(());
            }
            for format in [Format::Protobuf2, Format::Proto2Base64] {
                leancloud_frame(input, format, false).map_err(|e| format!("as {format:?}: {e}"))?;
                leancloud_scan_agrees(input)?;
            }
            Ok(())
        }
    }

    fn format_of(file: &str) -> Result<Format, String> {
        frame_format(file).ok_or_else(|| "a LeanCloud frame file ends in .bin or .b64".into())
    }

    /// The framing of a frame file, by extension; `None` for other files.
    fn frame_format(file: &str) -> Option<Format> {
        if file.ends_with(".b64") {
            Some(Format::Proto2Base64)
        } else if file.ends_with(".bin") {
            Some(Format::Protobuf2)
        } else {
            None
        }
    }
}
