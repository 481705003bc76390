//! Corpus snapshot tests: one glob-driven test per corpus folder (STYLE.md "Tests").
//!
//! * `valid/*`: every frame of the file decodes, re-encodes to exactly its input bytes, every
//!   proper prefix is incomplete and any chunking gives the same frames; the decoded frames
//!   are snapshotted, with the escaped input as the snapshot's description.
//! * `lenient/*`: the strict decoder refuses the file, the lenient one accepts it, and its
//!   re-encoding is a fixpoint; the decoded frames are snapshotted.
//! * `invalid/*`: the lenient decoder fails with the kind and absolute offset that
//!   `corpus/<proto>/invalid.tsv` records (a file without a row, or a row without a file, is a
//!   failure) and the default decoder fails too; `kind @ offset` and a caret line are
//!   snapshotted.
//! * `regressions/*`: decoding does not panic and the laws hold; no snapshot.
//!
//! Snapshots live in the workspace's top-level `snapshots/codec/` (the design card), not in
//! insta's default `codec/tests/snapshots/`: every test goes through [`snapshot_settings`].
//! cargo-insta (1.49) looks for pending `.snap.new` files only under package roots, so
//! `cargo insta test --accept` and `cargo insta review` leave them pending there. Write
//! snapshots directly instead and review them with `git diff snapshots/`:
//! `cargo insta test -p imspec-codec --force-update-snapshots -- corpus` or
//! `INSTA_UPDATE=always cargo test -p imspec-codec --test tests corpus`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use imspec_codec::msnp::msgr::{self, Document};
use imspec_codec::msnp::payload::{Layered, Payload};
use imspec_codec::sip::message_summary::{self, MessageSummary};
use imspec_codec::testing::{
    self, Codec, Msnp, MsnpLenient, Msrp, MsrpLenient, Sip, SipLenient, Sipc, SipcLenient,
    StreamEnd,
};
use imspec_codec::{Error, ErrorKind, Status, msnp, msrp, sip, sipc};
use serde::Serialize;

// ---------------------------------------------------------------------------------------
// Fetion SIP-C

#[test]
fn fetion_valid() {
    glob_corpus("fetion/valid", |input| {
        let entries: Vec<_> = valid_frames::<Sipc>(input)
            .into_iter()
            .map(|(offset, length)| Entry {
                offset,
                length,
                frame: sipc_frame(&input[offset..], &sipc::Limits::default()),
                payload: None::<()>,
            })
            .collect();
        insta::assert_yaml_snapshot!(entries);
    });
}

#[test]
fn fetion_lenient() {
    glob_corpus("fetion/lenient", |input| {
        let (strict, frames) = lenient_frames::<Sipc, SipcLenient>(input);
        let frames: Vec<_> = frames
            .into_iter()
            .map(|(offset, length)| Entry {
                offset,
                length,
                frame: sipc_frame(&input[offset..], &sipc::Limits::lenient()),
                payload: None::<()>,
            })
            .collect();
        insta::assert_yaml_snapshot!(Lenient { strict, frames });
    });
}

#[test]
fn fetion_invalid() {
    invalid_corpus("fetion", stream_error::<Sipc>, stream_error::<SipcLenient>);
}

#[test]
fn fetion_regressions() {
    glob_corpus("fetion/regressions", regression_laws::<Sipc>);
}

fn sipc_frame<'a>(buf: &'a [u8], limits: &sipc::Limits) -> sipc::Message<'a> {
    match sipc::parse_with(buf, limits) {
        Ok(Status::Complete((msg, _))) => msg,
        other => panic!("the laws accepted a frame here, the parser now says {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// MSNP

#[test]
fn msnp_valid() {
    glob_corpus("msnp/valid", |input| {
        let entries: Vec<_> = valid_frames::<Msnp>(input)
            .into_iter()
            .map(|(offset, length)| {
                let frame = msnp_frame(&input[offset..], &msnp::Limits::default());
                // The payload is the frame's last bytes; borrow it from the input, not the frame.
                let payload =
                    payload_view(&input[offset + length - frame.payload.len()..offset + length]);
                Entry {
                    offset,
                    length,
                    frame,
                    payload,
                }
            })
            .collect();
        insta::assert_yaml_snapshot!(entries);
    });
}

#[test]
fn msnp_lenient() {
    glob_corpus("msnp/lenient", |input| {
        let (strict, frames) = lenient_frames::<Msnp, MsnpLenient>(input);
        let frames: Vec<_> = frames
            .into_iter()
            .map(|(offset, length)| Entry {
                offset,
                length,
                frame: msnp_frame(&input[offset..], &msnp::Limits::lenient()),
                payload: None::<()>,
            })
            .collect();
        insta::assert_yaml_snapshot!(Lenient { strict, frames });
    });
}

#[test]
fn msnp_invalid() {
    invalid_corpus("msnp", stream_error::<Msnp>, stream_error::<MsnpLenient>);
}

#[test]
fn msnp_regressions() {
    glob_corpus("msnp/regressions", regression_laws::<Msnp>);
}

fn msnp_frame<'a>(buf: &'a [u8], limits: &msnp::Limits) -> msnp::Command<'a> {
    match msnp::parse_with(buf, limits) {
        Ok(Status::Complete((cmd, _))) => cmd,
        other => panic!("the laws accepted a frame here, the parser now says {other:?}"),
    }
}

/// How a payload decodes: layered when a `Routing:` block follows (directly in MSNP21, after
/// the outer headers in MSNP24), else outer headers and body. Payload errors are data here
/// ("framing ok, body invalid"): they are snapshotted, not asserted away.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum PayloadView<'a> {
    Layered(Layered<'a>),
    Headers(Payload<'a>),
    Error(String),
}

fn payload_view(payload: &[u8]) -> Option<PayloadView<'_>> {
    if payload.is_empty() {
        return None;
    }
    let layered = payload.starts_with(b"Routing:")
        || Payload::parse(payload).is_ok_and(|p| p.body.starts_with(b"Routing:"));
    let view = if layered {
        Layered::parse(payload).map(PayloadView::Layered)
    } else {
        Payload::parse(payload).map(PayloadView::Headers)
    };
    Some(view.unwrap_or_else(|e| PayloadView::Error(kind_at(e))))
}

// ---------------------------------------------------------------------------------------
// MSGR XML documents (bare payload bodies)

#[test]
fn msgr_valid() {
    glob_corpus("msgr/valid", |input| {
        let doc = msgr_document(input, &msgr::Limits::default())
            .unwrap_or_else(|e| panic!("valid document rejected: {}", kind_at(e)));
        msgr_law(&doc);
        insta::assert_yaml_snapshot!(doc);
    });
}

#[test]
fn msgr_lenient() {
    glob_corpus("msgr/lenient", |input| {
        let strict = match msgr_document(input, &msgr::Limits::default()) {
            Ok(doc) => panic!("the strict decoder accepts this document: {doc:?}"),
            Err(e) => kind_at(e),
        };
        let doc = msgr_document(input, &msgr::Limits::lenient())
            .unwrap_or_else(|e| panic!("lenient document rejected: {}", kind_at(e)));
        msgr_law(&doc);
        insta::assert_yaml_snapshot!(Lenient {
            strict,
            frames: doc
        });
    });
}

#[test]
fn msgr_invalid() {
    invalid_corpus(
        "msgr",
        |input| msgr_document(input, &msgr::Limits::default()).err(),
        |input| msgr_document(input, &msgr::Limits::lenient()).err(),
    );
}

#[test]
fn msgr_regressions() {
    glob_corpus("msgr/regressions", |input| {
        for limits in [msgr::Limits::default(), msgr::Limits::lenient()] {
            if let Ok(doc) = msgr_document(input, &limits) {
                msgr_law(&doc);
            }
        }
    });
}

fn msgr_document<'a>(input: &'a [u8], limits: &msgr::Limits) -> Result<Document<'a>, Error> {
    msgr::parse_document_bytes(input, limits)
}

/// Law 4: XML bodies round-trip semantically, never byte for byte. The encoding always
/// escapes, so it must decode with the strict limits even when the input needed leniency.
fn msgr_law(doc: &Document<'_>) {
    let mut out = Vec::new();
    doc.encode(&mut out);
    match msgr_document(&out, &msgr::Limits::default()) {
        Ok(back) => assert_eq!(
            &back.into_owned(),
            &doc.clone().into_owned(),
            "re-decoding the encoding differs:\n{}",
            String::from_utf8_lossy(&out)
        ),
        Err(e) => panic!(
            "the encoding does not decode ({}):\n{}",
            kind_at(e),
            String::from_utf8_lossy(&out)
        ),
    }
}

// ---------------------------------------------------------------------------------------
// SIP (RFC 3261) with RFC 3842 message-summary bodies

#[test]
fn sip_valid() {
    glob_corpus("sip/valid", |input| {
        let frames: Vec<_> = valid_frames::<Sip>(input)
            .into_iter()
            .map(|(offset, length)| {
                let frame = sip_frame(&input[offset..], &sip::Limits::default());
                (offset, length, frame)
            })
            .collect();
        // The typed view borrows the frame, so the frames are collected first.
        let entries: Vec<_> = frames
            .iter()
            .map(|(offset, length, frame)| Entry {
                offset: *offset,
                length: *length,
                frame,
                payload: Some(sip_typed(frame)),
            })
            .collect();
        insta::assert_yaml_snapshot!(entries);
    });
}

#[test]
fn sip_lenient() {
    glob_corpus("sip/lenient", |input| {
        let (strict, frames) = lenient_frames::<Sip, SipLenient>(input);
        let frames: Vec<_> = frames
            .into_iter()
            .map(|(offset, length)| Entry {
                offset,
                length,
                frame: sip_frame(&input[offset..], &sip::Limits::lenient()),
                payload: None::<()>,
            })
            .collect();
        insta::assert_yaml_snapshot!(Lenient { strict, frames });
    });
}

#[test]
fn sip_invalid() {
    invalid_corpus("sip", stream_error::<Sip>, stream_error::<SipLenient>);
}

#[test]
fn sip_regressions() {
    glob_corpus("sip/regressions", |input| {
        regression_laws::<Sip>(input);
        regression_laws::<SipLenient>(input);
        // The sip_parse target also decodes every accepted body as a message summary.
        for limits in [sip::Limits::default(), sip::Limits::lenient()] {
            if let Ok(Status::Complete((msg, _))) = sip::parse_with(input, &limits) {
                for summary_limits in [
                    message_summary::Limits::default(),
                    message_summary::Limits::lenient(),
                ] {
                    if let Ok(summary) = message_summary::parse_with(&msg.body, &summary_limits) {
                        let bytes = summary.to_bytes();
                        assert_eq!(message_summary::parse(&bytes), Ok(summary));
                    }
                }
            }
        }
    });
}

fn sip_frame<'a>(buf: &'a [u8], limits: &sip::Limits) -> sip::Message<'a> {
    match sip::parse_with(buf, limits) {
        Ok(Status::Complete((msg, _))) => msg,
        other => panic!("the laws accepted a frame here, the parser now says {other:?}"),
    }
}

/// What the typed accessors read from a SIP message (each a value, or `kind @ offset` within
/// the header value), and its message-summary body. A typed value whose canonical form
/// differs from the raw text is shown with its `canonical` text.
#[derive(Serialize)]
struct SipTyped<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    call_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cseq: Option<Typed<sip::header::CSeq<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<Typed<sip::header::NameAddr<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<Typed<sip::header::NameAddr<'a>>>,
    vias: Typed<Vec<sip::header::Via<'a>>>,
    #[serde(skip_serializing_if = "is_empty_list")]
    contacts: Typed<Vec<sip::header::NameAddr<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<Typed<sip::header::Value<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_state: Option<Typed<sip::header::Value<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<Typed<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<Typed<sip::header::ContentType<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_summary: Option<SummaryView<'a>>,
}

/// A typed header value, or where its text is wrong.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Typed<T> {
    Value(T),
    Error(String),
}

/// A message-summary body: the value, whether re-encoding it gives the body back byte for
/// byte, and whether its status line agrees with its counts.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum SummaryView<'a> {
    Summary {
        summary: MessageSummary<'a>,
        canonical: bool,
        consistent: bool,
    },
    Error(String),
}

fn typed<T>(r: Result<T, Error>) -> Typed<T> {
    r.map_or_else(|e| Typed::Error(kind_at(e)), Typed::Value)
}

fn is_empty_list<T>(t: &Typed<Vec<T>>) -> bool {
    matches!(t, Typed::Value(v) if v.is_empty())
}

fn sip_typed<'a>(msg: &'a sip::Message<'a>) -> SipTyped<'a> {
    let is_summary = msg
        .content_type()
        .is_some_and(|ct| ct.is_ok_and(|ct| ct.is("application", "simple-message-summary")));
    SipTyped {
        call_id: msg.call_id(),
        cseq: msg.cseq().map(typed),
        from: msg.from().map(typed),
        to: msg.to().map(typed),
        vias: typed(msg.vias()),
        contacts: typed(msg.contacts()),
        event: msg.event().map(typed),
        subscription_state: msg.subscription_state().map(typed),
        expires: msg.expires().map(typed),
        content_type: msg.content_type().map(typed),
        message_summary: is_summary.then(|| summary_view(&msg.body)),
    }
}

/// Law 1 for message-summary bodies (value → bytes → value), checked on every corpus body.
fn summary_view(body: &[u8]) -> SummaryView<'_> {
    match message_summary::parse(body) {
        Ok(summary) => {
            let bytes = summary.to_bytes();
            assert_eq!(summary.encoded_len(), bytes.len());
            assert_eq!(
                message_summary::parse(&bytes).map(MessageSummary::into_owned),
                Ok(summary.clone().into_owned()),
                "the canonical encoding decodes differently"
            );
            SummaryView::Summary {
                canonical: bytes == body,
                consistent: summary.is_consistent(),
                summary,
            }
        }
        Err(e) => SummaryView::Error(kind_at(e)),
    }
}

// ---------------------------------------------------------------------------------------
// MSRP (RFC 4975)

#[test]
fn msrp_valid() {
    glob_corpus("msrp/valid", |input| {
        let frames: Vec<_> = valid_frames::<Msrp>(input)
            .into_iter()
            .map(|(offset, length)| {
                let frame = msrp_frame(&input[offset..], &msrp::Limits::default());
                (offset, length, frame)
            })
            .collect();
        // The typed view borrows the frame, so the frames are collected first.
        let entries: Vec<_> = frames
            .iter()
            .map(|(offset, length, frame)| Entry {
                offset: *offset,
                length: *length,
                frame,
                payload: Some(msrp_typed(frame)),
            })
            .collect();
        insta::assert_yaml_snapshot!(entries);
    });
}

#[test]
fn msrp_lenient() {
    glob_corpus("msrp/lenient", |input| {
        let (strict, frames) = lenient_frames::<Msrp, MsrpLenient>(input);
        let frames: Vec<_> = frames
            .into_iter()
            .map(|(offset, length)| Entry {
                offset,
                length,
                frame: msrp_frame(&input[offset..], &msrp::Limits::lenient()),
                payload: None::<()>,
            })
            .collect();
        insta::assert_yaml_snapshot!(Lenient { strict, frames });
    });
}

#[test]
fn msrp_invalid() {
    invalid_corpus("msrp", stream_error::<Msrp>, stream_error::<MsrpLenient>);
}

#[test]
fn msrp_regressions() {
    glob_corpus("msrp/regressions", |input| {
        regression_laws::<Msrp>(input);
        regression_laws::<MsrpLenient>(input);
    });
}

fn msrp_frame<'a>(buf: &'a [u8], limits: &msrp::Limits) -> msrp::Chunk<'a> {
    match msrp::parse_with(buf, limits) {
        Ok(Status::Complete((chunk, _))) => chunk,
        other => panic!("the laws accepted a frame here, the parser now says {other:?}"),
    }
}

/// What the typed accessors read from an MSRP chunk, and whether its Byte-Range fits its
/// body (docs/protocols/sip.md §6.3).
#[derive(Serialize)]
struct MsrpTyped<'a> {
    to_path: Option<Typed<msrp::header::Path<'a>>>,
    from_path: Option<Typed<msrp::header::Path<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<Typed<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    byte_range: Option<Typed<msrp::header::ByteRange>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    byte_range_fits_body: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Typed<msrp::header::Status<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    success_report: Option<Typed<msrp::header::Report>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_report: Option<Typed<msrp::header::Report>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<Typed<msrp::header::ContentType<'a>>>,
}

fn msrp_typed<'a>(chunk: &'a msrp::Chunk<'a>) -> MsrpTyped<'a> {
    let fits = match (chunk.byte_range(), &chunk.body) {
        (Some(Ok(range)), Some(body)) if chunk.flag != msrp::Flag::Aborted => {
            Some(range.fits(body.len() as u64))
        }
        (Some(Ok(range)), None) if chunk.method() == Some(&msrp::Method::SEND) => {
            Some(range.fits(0))
        }
        _ => None,
    };
    MsrpTyped {
        to_path: chunk.to_path().map(typed),
        from_path: chunk.from_path().map(typed),
        message_id: chunk.message_id().map(typed),
        byte_range: chunk.byte_range().map(typed),
        byte_range_fits_body: fits,
        status: chunk.status_header().map(typed),
        success_report: chunk.success_report().map(typed),
        failure_report: chunk.failure_report().map(typed),
        content_type: chunk.content_type().map(typed),
    }
}

// ---------------------------------------------------------------------------------------
// Shared machinery

/// One decoded frame of a corpus file, as snapshotted.
#[derive(Serialize)]
struct Entry<F, P> {
    offset: usize,
    length: usize,
    frame: F,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<P>,
}

/// A lenient file as snapshotted: what the strict decoder says, then the lenient frames.
#[derive(Serialize)]
struct Lenient<T> {
    strict: String,
    frames: T,
}

/// The insta settings every corpus test uses: snapshots go to the workspace's top-level
/// `snapshots/codec/`. insta resolves a relative snapshot path against the test file, so the
/// path is made absolute from this crate's manifest directory.
fn snapshot_settings() -> insta::Settings {
    let codec_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = codec_dir.parent().unwrap_or(codec_dir);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace.join("snapshots").join("codec"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// Runs `check` on every file of `corpus/<folder>/*` (dot files skipped) with the snapshot
/// settings, the file's escaped bytes as the snapshot description.
fn glob_corpus(folder: &str, mut check: impl FnMut(&[u8])) {
    snapshot_settings().bind(|| {
        insta::glob!("../..", &format!("corpus/{folder}/*"), |path| {
            if is_hidden(path) {
                return;
            }
            let input = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut settings = insta::Settings::clone_current();
            settings.set_description(describe(&input));
            settings.bind(|| check(&input));
        });
    });
}

/// Laws 1–3 for a curated valid file: every frame re-encodes to exactly its bytes (with the
/// right `encoded_len`), proper prefixes are incomplete, and chunking at every byte decodes
/// the same frames. Returns each frame's `(offset, length)`.
fn valid_frames<C: Codec>(input: &[u8]) -> Vec<(usize, usize)> {
    let frames = testing::exact::<C>(input).unwrap_or_else(|e| panic!("law 2 (exact): {e}"));
    assert!(
        !frames.is_empty(),
        "a valid corpus file holds at least one frame"
    );
    for &(offset, length) in &frames {
        let Ok(Status::Complete((frame, _))) = C::parse(&input[offset..offset + length]) else {
            panic!("byte {offset}: the frame no longer parses on its own");
        };
        testing::value_round_trip::<C>(&frame)
            .unwrap_or_else(|e| panic!("law 1 at byte {offset}: {e}"));
    }
    every_chunking::<C>(input);
    frames
}

/// Lenient files: refused by `Strict` (its error is returned, as `kind @ offset`), accepted
/// by `Lenient` with a fixpoint re-encoding. Returns each frame's `(offset, length)`.
fn lenient_frames<Strict: Codec, Lenient: Codec>(input: &[u8]) -> (String, Vec<(usize, usize)>) {
    let Some(strict) = stream_error::<Strict>(input) else {
        panic!("the strict decoder accepts this file: it belongs in valid/");
    };
    let mut frames = Vec::new();
    let mut at = 0;
    while at < input.len() {
        match testing::fixpoint::<Lenient>(&input[at..]) {
            Ok(Some(n)) => {
                frames.push((at, n));
                at += n;
            }
            Ok(None) => panic!("byte {at}: the lenient decoder does not find a complete frame"),
            Err(e) => panic!("law 2 (fixpoint) at byte {at}: {e}"),
        }
    }
    every_chunking::<Lenient>(input);
    (kind_at(strict), frames)
}

/// Regressions: whatever the decoder says, it must not panic, and what it accepts obeys the
/// fixpoint and chunking laws.
fn regression_laws<C: Codec>(input: &[u8]) {
    testing::fixpoint::<C>(input).unwrap_or_else(|e| panic!("law 2 (fixpoint): {e}"));
    every_chunking::<C>(input);
}

fn every_chunking<C: Codec>(input: &[u8]) {
    let cuts: Vec<usize> = (1..input.len()).collect();
    testing::chunking::<C>(input, &cuts).unwrap_or_else(|e| panic!("law 3 (chunking): {e}"));
}

/// The first error in a stream of frames, with its offset from the start of the stream.
fn stream_error<C: Codec>(input: &[u8]) -> Option<Error> {
    match testing::decode_chunked::<C>(input, &[]) {
        (_, StreamEnd::Error(e)) => Some(e),
        (_, StreamEnd::Clean(_)) => None,
    }
}

/// Checks `corpus/<proto>/invalid/*` against `corpus/<proto>/invalid.tsv`. A file in
/// `invalid/` is refused by every configuration: the row records the error of the lenient
/// decoder (what is still wrong once every leniency is on), and the default decoder must
/// refuse the file too. The snapshot shows `kind @ offset` with a caret under the offending
/// byte, then the default decoder's error when it differs.
fn invalid_corpus(
    proto: &str,
    decode: impl Fn(&[u8]) -> Option<Error>,
    decode_leniently: impl Fn(&[u8]) -> Option<Error>,
) {
    let manifest = manifest(proto);
    invalid_files_match_manifest(proto, &manifest);
    // Every file is checked and snapshotted before the mismatches are reported together.
    let mut mismatches = Vec::new();
    glob_corpus(&format!("{proto}/invalid"), |input| {
        let name = current_file_name();
        let (kind, offset) = &manifest[&name];
        let (Some(error), Some(strict)) = (decode_leniently(input), decode(input)) else {
            mismatches.push(format!(
                "{proto}/invalid/{name}: a decoder accepts it (lenient: {:?}, default: {:?}); invalid.tsv says {kind} @ {offset}",
                decode_leniently(input).map(kind_at),
                decode(input).map(kind_at)
            ));
            return;
        };
        let got = kind_name(error.kind());
        if (got.as_str(), error.offset()) != (kind.as_str(), *offset) {
            mismatches.push(format!(
                "{proto}/invalid/{name}: decoder reports {got} @ {}, invalid.tsv says {kind} @ {offset}",
                error.offset()
            ));
        }
        let mut report = format!(
            "{} @ {}\n{}",
            got,
            error.offset(),
            caret(input, error.offset())
        );
        if strict != error {
            let _ = write!(
                report,
                "\ndefault limits: {}\n{}",
                kind_at(strict),
                caret(input, strict.offset())
            );
        }
        insta::assert_snapshot!(format!("{proto}_invalid"), report);
    });
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Every file of `corpus/<proto>/invalid/` has a row in `invalid.tsv`, and every row a file.
pub(super) fn invalid_files_match_manifest(
    proto: &str,
    manifest: &BTreeMap<String, (String, usize)>,
) {
    let files: Vec<String> = std::fs::read_dir(corpus_dir().join(proto).join("invalid"))
        .unwrap_or_else(|e| panic!("corpus/{proto}/invalid: {e}"))
        .filter_map(|entry| {
            entry
                .ok()
                .map(|e| e.file_name().to_string_lossy().into_owned())
        })
        .filter(|name| !name.starts_with('.'))
        .collect();
    for name in &files {
        assert!(
            manifest.contains_key(name),
            "corpus/{proto}/invalid/{name} has no row in invalid.tsv"
        );
    }
    for name in manifest.keys() {
        assert!(
            files.contains(name),
            "invalid.tsv names {name}, which is not in corpus/{proto}/invalid/"
        );
    }
}

/// `corpus/<proto>/invalid.tsv`: file → (kind, offset).
pub(super) fn manifest(proto: &str) -> BTreeMap<String, (String, usize)> {
    let path = corpus_dir().join(proto).join("invalid.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut cols = line.split('\t');
        let (Some(file), Some(kind), Some(offset), Some(_why)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            panic!(
                "{}:{}: expected file, kind, offset, why",
                path.display(),
                i + 1
            );
        };
        let offset = offset
            .parse()
            .unwrap_or_else(|e| panic!("{}:{}: offset {offset:?}: {e}", path.display(), i + 1));
        assert!(
            rows.insert(file.to_owned(), (kind.to_owned(), offset))
                .is_none(),
            "{}: {file} appears twice",
            path.display()
        );
    }
    rows
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("corpus")
}

/// The file name of the corpus file insta's glob is visiting.
fn current_file_name() -> String {
    let settings = insta::Settings::clone_current();
    let path = settings
        .input_file()
        .unwrap_or_else(|| panic!("called outside insta::glob!"));
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// The snake_case name `ErrorKind` serializes to (the manifest's `kind` column).
fn kind_name(kind: ErrorKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("ErrorKind serializes as {other:?}"),
    }
}

fn kind_at(e: Error) -> String {
    format!("{} @ {}", kind_name(e.kind()), e.offset())
}

/// The input as text for the snapshot's description (the YAML header escapes line endings
/// and control characters itself); bytes that are not UTF-8 are written `\xNN`.
fn describe(input: &[u8]) -> String {
    let mut out = String::new();
    for chunk in input.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// One line of input for a caret display: line endings, controls and bytes that are not
/// UTF-8 are shown as escapes so that every byte is visible.
fn escape(input: &[u8]) -> String {
    let mut out = String::new();
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// The input line holding byte `offset`, escaped, and a caret under that byte (or just past
/// the line's end when the offset is the end of the input).
fn caret(input: &[u8], offset: usize) -> String {
    let at = offset.min(input.len());
    let start = input[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let end = input[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(input.len(), |p| at + p + 1);
    let before = escape(&input[start..at]);
    let line = escape(&input[start..end]);
    format!(
        "{}\n{}^",
        line.trim_end_matches('\n'),
        " ".repeat(before.chars().count())
    )
}
