//! LeanCloud corpus and property tests (corpus/leancloud, snapshots in snapshots/codec/).
//!
//! A file's framing follows its extension: `.bin` is a binary frame (`lc.protobuf2.*`),
//! `.b64` the text of a base64 frame (`lc.proto2base64.*`). Every file is one frame.
//!
//! * `valid/*`: decodes, re-encodes to exactly its bytes and obeys
//!   [`testing::leancloud_frame`] (laws 1 and 2, the other framing, the JSON round trip); the
//!   readable form is snapshotted with the frame as the description (hex for binary).
//!   Files named in `constructed.json` must be exactly the encoding of their command there.
//! * `lenient/*`: decodes with `Limits::lenient()` and obeys the laws, but is refused by
//!   default (a missing proto2 `required` field) or does not re-encode to the same bytes
//!   (unknown fields, non-minimal varints, fields out of order); snapshotted.
//! * `invalid/*`: refused with the kind and offset `invalid.tsv` records; snapshotted.
//! * `regressions/*.{bin,b64}`: the laws hold, whatever the decoder says; no snapshot (other
//!   files there are other targets' inputs, e.g. `server_leancloud`'s programs).
//!
//! Set `LEANCLOUD_WRITE_CONSTRUCTED=1` to (re)write the constructed files from
//! `constructed.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use imspec_codec::leancloud::{self, Format, GenericCommand, Limits};
use imspec_codec::testing::{self, LeanCloud, LeanCloudBase64Lenient, LeanCloudLenient};
use imspec_codec::{Error, ErrorKind, Status};
use proptest::prelude::*;

use super::corpus;

#[test]
fn leancloud_valid() {
    glob("valid", |name, input| {
        let format = format_of(name);
        let cmd = testing::leancloud_frame(input, format, true)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| {
                panic!(
                    "{name}: refused: {:?}",
                    leancloud::decode(input, format).err()
                )
            });
        assert_eq!(
            leancloud::decode(input, format).as_ref(),
            Ok(&cmd),
            "{name}"
        );
        insta::assert_json_snapshot!(cmd);
    });
}

#[test]
fn leancloud_constructed() {
    let specs = constructed();
    let write = std::env::var_os("LEANCLOUD_WRITE_CONSTRUCTED").is_some();
    for (name, spec) in &specs {
        let cmd: GenericCommand =
            serde_json::from_value(spec.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut bytes = Vec::new();
        leancloud::encode(&cmd, format_of(name), &mut bytes);
        let path = corpus_dir().join("valid").join(name);
        if write {
            std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            on_disk, bytes,
            "{name} is not the encoding of its constructed.json entry"
        );
        // The readable form prints what the spec says (enum names, base64, no absent fields).
        assert_eq!(&serde_json::to_value(&cmd).unwrap(), spec, "{name}");
    }
}

#[test]
fn leancloud_lenient() {
    glob("lenient", |name, input| {
        let format = format_of(name);
        let cmd = testing::leancloud_frame(input, format, false)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: refused even leniently"));
        let mut again = Vec::new();
        leancloud::encode(&cmd, format, &mut again);
        let strict = leancloud::decode(input, format);
        assert!(
            strict.is_err() || again != input,
            "{name} is accepted by default and re-encodes exactly: it belongs in valid/"
        );
        let mut view = serde_json::Map::new();
        view.insert(
            "default".into(),
            match strict {
                Ok(_) => "accepted".into(),
                Err(e) => format!("{} @ {}", kind_name(e.kind()), e.offset()).into(),
            },
        );
        view.insert("decoded".into(), serde_json::to_value(&cmd).unwrap());
        view.insert(
            "reencoded".into(),
            if again == input {
                "exact".into()
            } else {
                hex(&again).into()
            },
        );
        insta::assert_json_snapshot!(view);
    });
}

#[test]
fn leancloud_invalid() {
    let manifest = corpus::manifest("leancloud");
    corpus::invalid_files_match_manifest("leancloud", &manifest);
    let mut mismatches = Vec::new();
    glob("invalid", |name, input| {
        let format = format_of(name);
        let (kind, offset) = &manifest[name];
        let Err(e) = leancloud::decode(input, format) else {
            mismatches.push(format!(
                "{name}: accepted; invalid.tsv says {kind} @ {offset}"
            ));
            return;
        };
        let got = kind_name(e.kind());
        if (got.as_str(), e.offset()) != (kind.as_str(), *offset) {
            mismatches.push(format!(
                "{name}: {got} @ {}, invalid.tsv says {kind} @ {offset}",
                e.offset()
            ));
        }
        if format == Format::Protobuf2 {
            scan_agrees_with_prost(input);
        }
        insta::assert_snapshot!(format!(
            "{got} @ {}\n{}",
            e.offset(),
            caret(input, format, e)
        ));
    });
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn leancloud_regressions() {
    glob("regressions", |name, input| {
        if frame_format(name).is_none() {
            return;
        }
        for format in [Format::Protobuf2, Format::Proto2Base64] {
            testing::leancloud_frame(input, format, false)
                .unwrap_or_else(|e| panic!("{name} as {format:?}: {e}"));
            scan_agrees_with_prost(input);
        }
    });
}

/// With every leniency on, the wire scan accepts exactly what prost accepts; with the
/// default limits, `decode` and `check` agree, with the same error.
fn scan_agrees_with_prost(input: &[u8]) {
    let scan = leancloud::check_with(input, &Limits::lenient());
    let prost = <GenericCommand as prost::Message>::decode(input);
    assert_eq!(
        scan.is_ok(),
        prost.is_ok(),
        "scan says {scan:?}, prost says {prost:?}"
    );
    if let Ok(cmd) = leancloud::decode_with(input, Format::Protobuf2, &Limits::lenient()) {
        assert_eq!(Ok(cmd), prost);
    }
    match (
        leancloud::check(input),
        leancloud::decode(input, Format::Protobuf2),
    ) {
        (Ok(()), Ok(_)) => {}
        (Err(e), Err(d)) => assert_eq!(e, d),
        (scan, decoded) => panic!("scan {scan:?}, decode {decoded:?}"),
    }
}

proptest! {
    #[test]
    fn leancloud_value_round_trip(cmd in command()) {
        testing::value_round_trip::<LeanCloudLenient>(&cmd).map_err(TestCaseError::fail)?;
        testing::value_round_trip::<LeanCloudBase64Lenient>(&cmd).map_err(TestCaseError::fail)?;
        let mut bytes = Vec::new();
        leancloud::encode(&cmd, Format::Protobuf2, &mut bytes);
        let back = testing::leancloud_frame(&bytes, Format::Protobuf2, true)
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(back, Some(cmd));
    }

    #[test]
    fn leancloud_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        scan_agrees_with_prost(&bytes);
        testing::leancloud_frame(&bytes, Format::Protobuf2, false).map_err(TestCaseError::fail)?;
        testing::leancloud_frame(&bytes, Format::Proto2Base64, false).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn leancloud_mutated_sdk_frames(at in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
        // One byte of a real session/open replaced, then the frame cut: most such frames are
        // refused somewhere inside, exercising the scan's offsets against prost.
        let mut frame = SDK_OPEN.to_vec();
        if let Some(b) = frame.get_mut(at % SDK_OPEN.len()) {
            *b = byte;
        }
        frame.truncate(cut.max(1));
        scan_agrees_with_prost(&frame);
        if let Err(e) = leancloud::decode(&frame, Format::Protobuf2) {
            prop_assert!(e.offset() <= frame.len(), "{e:?} past the end");
        }
    }
}

/// session/open as the SDK sends it in lc.protobuf2.3 (corpus/leancloud/valid).
const SDK_OPEN: &[u8] =
    include_bytes!("../../corpus/leancloud/valid/sdk-bin-01-c2s-session-open.bin");

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9]{1,12}",
        "\\PC{0,16}",
        Just("{\"_lctext\":\"hi\",\"_lctype\":-1}".to_owned()),
    ]
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    proptest::option::weighted(0.5, s)
}

fn session() -> impl Strategy<Value = leancloud::SessionCommand> {
    (
        opt(text()),
        opt(any::<bool>()),
        opt(text()),
        proptest::collection::vec(text(), 0..3),
        opt(any::<i32>()),
        opt(any::<i64>()),
        opt(any::<i64>()),
    )
        .prop_map(
            |(ua, r, tag, peers, code, patch, bitmap)| leancloud::SessionCommand {
                ua,
                r,
                tag,
                session_peer_ids: peers,
                code,
                last_patch_time: patch,
                config_bitmap: bitmap,
                ..Default::default()
            },
        )
}

fn direct() -> impl Strategy<Value = leancloud::DirectCommand> {
    (
        opt(text()),
        opt(text()),
        opt(any::<i64>()),
        opt(any::<bool>()),
        opt(proptest::collection::vec(any::<u8>(), 0..16)),
        proptest::collection::vec(text(), 0..3),
        opt(any::<bool>()),
        opt(any::<i32>()),
    )
        .prop_map(|(msg, cid, timestamp, r, bin, mentions, all, conv_type)| {
            leancloud::DirectCommand {
                msg,
                cid,
                timestamp,
                r,
                binary_msg: bin,
                mention_pids: mentions,
                mention_all: all,
                conv_type,
                ..Default::default()
            }
        })
}

fn patch() -> impl Strategy<Value = leancloud::PatchCommand> {
    (
        proptest::collection::vec(
            (
                opt(text()),
                opt(text()),
                opt(any::<bool>()),
                opt(any::<i64>()),
            ),
            0..3,
        ),
        opt(any::<i64>()),
    )
        .prop_map(|(items, last)| leancloud::PatchCommand {
            patches: items
                .into_iter()
                .map(|(cid, data, recall, code)| leancloud::PatchItem {
                    cid,
                    data,
                    recall,
                    patch_code: code,
                    ..Default::default()
                })
                .collect(),
            last_patch_time: last,
        })
}

fn unread() -> impl Strategy<Value = leancloud::UnreadCommand> {
    (
        proptest::collection::vec((opt(text()), opt(any::<i32>()), opt(any::<bool>())), 0..3),
        opt(any::<i64>()),
    )
        .prop_map(|(convs, notif)| leancloud::UnreadCommand {
            convs: convs
                .into_iter()
                .map(|(cid, unread, mentioned)| leancloud::UnreadTuple {
                    cid,
                    unread,
                    mentioned,
                    ..Default::default()
                })
                .collect(),
            notif_time: notif,
        })
}

fn command() -> impl Strategy<Value = GenericCommand> {
    (
        (
            opt(prop_oneof![0..=21i32, any::<i32>()]),
            opt(prop_oneof![1..=190i32, any::<i32>()]),
            opt(text()),
            opt(any::<i32>()),
            opt(any::<i64>()),
        ),
        (
            opt(session()),
            opt(direct()),
            opt(patch()),
            opt(unread()),
            opt(
                (any::<i32>(), text()).prop_map(|(code, reason)| leancloud::ErrorCommand {
                    code: Some(code),
                    reason: Some(reason),
                    ..Default::default()
                }),
            ),
        ),
    )
        .prop_map(
            |((cmd, op, peer_id, i, server_ts), (session, direct, patch, unread, error))| {
                GenericCommand {
                    cmd,
                    op,
                    peer_id,
                    i,
                    server_ts,
                    session_message: session,
                    direct_message: direct,
                    patch_message: patch,
                    unread_message: unread,
                    error_message: error,
                    ..Default::default()
                }
            },
        )
}

// ---------------------------------------------------------------------------------------
// Helpers

fn format_of(name: &str) -> Format {
    frame_format(name)
        .unwrap_or_else(|| panic!("{name}: a LeanCloud frame file ends in .bin or .b64"))
}

/// The framing of a frame file, by extension; `None` for other files (in `regressions/`, the
/// inputs of other targets such as `server_leancloud`, which their own tests replay).
fn frame_format(name: &str) -> Option<Format> {
    if name.ends_with(".b64") {
        Some(Format::Proto2Base64)
    } else if name.ends_with(".bin") {
        Some(Format::Protobuf2)
    } else {
        None
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/leancloud")
}

fn constructed() -> BTreeMap<String, serde_json::Value> {
    let path = corpus_dir().join("constructed.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `check(name, bytes)` on every file of `corpus/leancloud/<folder>/` with snapshots
/// written to the workspace's `snapshots/codec/` and the frame as the description.
fn glob(folder: &str, mut check: impl FnMut(&str, &[u8])) {
    let codec_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = codec_dir.parent().unwrap_or(codec_dir);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace.join("snapshots").join("codec"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::glob!("../..", &format!("corpus/leancloud/{folder}/*"), |path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') {
                return;
            }
            let input = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut settings = insta::Settings::clone_current();
            settings.set_description(match frame_format(&name) {
                Some(Format::Proto2Base64) => String::from_utf8_lossy(&input).into_owned(),
                Some(Format::Protobuf2) | None => hex(&input),
            });
            settings.bind(|| check(&name, &input));
        });
    });
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The frame with a caret under the offending byte: hex (two columns a byte) for binary
/// frames, the text itself for base64.
fn caret(input: &[u8], format: Format, e: Error) -> String {
    match format {
        Format::Protobuf2 => format!("{}\n{}^^", hex(input), " ".repeat(2 * e.offset())),
        Format::Proto2Base64 => format!(
            "{}\n{}^",
            String::from_utf8_lossy(input),
            " ".repeat(e.offset())
        ),
    }
}

fn kind_name(kind: ErrorKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("ErrorKind serializes as {other:?}"),
    }
}

/// The codec adapters consume the whole frame.
#[test]
fn leancloud_codec_consumes_the_frame() {
    use imspec_codec::testing::Codec as _;
    let Ok(Status::Complete((cmd, n))) = LeanCloud::parse(SDK_OPEN) else {
        panic!("the SDK's session/open does not decode");
    };
    assert_eq!(n, SDK_OPEN.len());
    assert_eq!(cmd.peer_id.as_deref(), Some("alice"));
}
