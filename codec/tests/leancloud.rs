//! LeanCloud tests beside the corpus ones (which `corpus.rs` runs for every codec, with
//! the checks of `imspec_codec::leancloud::LeanCloud`): files named in
//! `corpus/leancloud/constructed.json` must be exactly the encoding of their command there,
//! and property tests of the laws.
//!
//! Set `LEANCLOUD_WRITE_CONSTRUCTED=1` to (re)write the constructed files from
//! `constructed.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imspec_codec::Status;
use imspec_codec::leancloud::{self, Format, GenericCommand};
use imspec_codec::testing::{self, LeanCloud, LeanCloudBase64Lenient, LeanCloudLenient};
use proptest::prelude::*;

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
        testing::leancloud_scan_agrees(&bytes).map_err(TestCaseError::fail)?;
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
        testing::leancloud_scan_agrees(&frame).map_err(TestCaseError::fail)?;
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

/// A constructed frame's framing, by extension: `.b64` base64 text, else binary.
fn format_of(name: &str) -> Format {
    if name.ends_with(".b64") {
        Format::Proto2Base64
    } else {
        Format::Protobuf2
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

/// The codec adapters consume the whole frame.
#[test]
fn leancloud_codec_consumes_the_frame() {
    use imspec_codec::testing::FrameCodec as _;
    let Ok(Status::Complete((cmd, n))) = LeanCloud::parse(SDK_OPEN) else {
        panic!("the SDK's session/open does not decode");
    };
    assert_eq!(n, SDK_OPEN.len());
    assert_eq!(cmd.peer_id.as_deref(), Some("alice"));
}
