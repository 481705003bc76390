//! LeanCloud realtime (`imspec_codec::leancloud`, docs/protocols/leancloud.md).
//!
//! A frame is one WebSocket message holding one `GenericCommand`. The WebSocket client
//! ([`crate::transport::ws`]) hands the runner one *record* per message; this module cuts
//! records, decodes the command with the codec (binary messages as `protobuf2`, text messages
//! as `proto2base64`) and builds the records to send from a step's `command:`, written in the
//! codec's readable form (`{cmd: direct, directMessage: {cid: "${conv}", msg: hi}}`).
//!
//! * `i`: assigned from the connection's counter (1, 2, …) unless the command gives one;
//!   `i: null` sends none. The client's receipt ack (`cmd: ack`) is fire-and-forget in the
//!   SDK and carries no `i` unless the step writes one.
//! * Pairing: a frame with `i` is the reply to the pending command with that `i` (a reply
//!   with `cmd: error` included); a frame without `i` is a push (§4.6 (1)).
//! * Fields: the readable form flattened into dotted paths. `cmd`, `op`, `i`, `peerId`,
//!   `directMessage.id`; a list gives every element under the path without an index, in
//!   order (`unreadMessage.convs.cid`: one value per tuple, for `count`, `each`, `order`)
//!   and each element under its index (`unreadMessage.convs[0].unread`). Also `json` (the
//!   whole command as compact JSON), `ws` (`binary`, `text`, `close`, `refused`, or `sent`
//!   for a frame we built), `size` (message bytes), `close.code` / `close.reason` of a close
//!   frame and `error` of a refused message.
//! * Barrier: `{cmd: echo}` with a fresh `i`; any reply counts (an error included: before
//!   `session/open` that is 4105, §4.6 (2)).
//! * Template values: a string under the name of an integer field (`timestamp: "${t}"`)
//!   that reads as an integer is sent as a number, `"true"`/`"false"` under a boolean field
//!   as a boolean; the codec's readable form wants JSON numbers and booleans there.

use imspec_codec::leancloud::{self, Format, GenericCommand};
use imspec_codec::{Error, ErrorKind, Needed, Status};
use serde_json::Value;

use super::{ActorOptions, Frame, FrameKeys, Opened, Opening, Pairing, Protocol, Skeleton, Spec};
use crate::transport::{BoxFuture, BoxStream, ws};

/// The subprotocol an actor offers: its `format:` and `version:` (the loader has checked
/// their values), defaults for the rest.
pub fn ws_options(given: Option<&ActorOptions>) -> ws::Options {
    let mut o = ws::Options::default();
    if let Some(g) = given {
        if let Some(f) = g.format.as_deref().and_then(ws::Format::from_name) {
            o.format = f;
        }
        if let Some(v) = &g.version {
            o.version.clone_from(v);
        }
    }
    o
}

/// The LeanCloud protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeanCloud;

impl Protocol for LeanCloud {
    fn name(&self) -> &'static str {
        "leancloud"
    }

    fn about(&self) -> &'static str {
        "LeanCloud realtime over WebSocket."
    }

    fn about_service(&self, service: &str) -> &'static str {
        let _ = service;
        "LeanCloud realtime (WebSocket)."
    }

    fn services(&self) -> &'static [&'static str] {
        &[ws::SERVICE]
    }

    fn frame_keys(&self) -> FrameKeys {
        FrameKeys::command(
            "a LeanCloud frame needs `command:` (the GenericCommand in readable form) or `raw:`",
        )
    }

    fn handshake(&self) -> Option<&'static str> {
        Some("WebSocket")
    }

    /// The WebSocket upgrade (§2.1): as the client offering the actor's subprotocol, or, in a
    /// client case, as the server picking one of [`ws::SUBPROTOCOLS`].
    fn open<'a>(
        &'a self,
        stream: BoxStream,
        opening: Opening<'a>,
    ) -> BoxFuture<'a, Result<Opened, String>> {
        Box::pin(async move {
            if opening.accepts {
                let (stream, subprotocol) = ws::accept(stream).await?;
                return Ok(Opened {
                    stream,
                    note: Some((None, format!("WebSocket subprotocol {subprotocol}"))),
                });
            }
            let options = ws_options(opening.options);
            let host = opening.host?;
            let stream = ws::upgrade(stream, &host, &options).await?;
            Ok(Opened {
                stream,
                note: Some((
                    Some("connect"),
                    format!("WebSocket subprotocol {}", options.subprotocol()),
                )),
            })
        })
    }

    fn carried(&self) -> &'static str {
        "websocket"
    }

    fn takes_actor_options(&self, service: &str) -> bool {
        service == ws::SERVICE
    }

    /// Before `session/open` every command is answered with error 4105 (§4.6 (2)).
    fn liveness(&self) -> &'static [&'static str] {
        &[
            "    command: { cmd: echo }\n",
            "    command: { cmd: echo }\n",
        ]
    }

    fn key_label(&self, f: &Frame) -> Option<String> {
        f.get("i").map(|i| format!("i {i}"))
    }

    fn label_detail(&self, f: &Frame) -> Option<String> {
        f.get("op").map(str::to_owned)
    }

    fn skeleton(&self) -> Option<Skeleton> {
        Some(Skeleton {
            actors: "actors:\n  alice: leancloud\n",
            steps: r#"  - connect: alice
  - include: open
    with: { actor: alice, peer: alice }
  - send: alice
    as: echo
    command: { cmd: echo }
  - expect: alice
    reply: echo
    match: { cmd: echo, i: "${echo.i}" }
"#,
        })
    }

    fn parse(&self, buf: &[u8]) -> Result<Status<(Frame, usize)>, Error> {
        let Some((tag, payload, used)) = ws::cut(buf) else {
            return Ok(Status::Incomplete(match ws::declared_len(buf) {
                Some(n) => Needed::bytes(ws::HEADER + n - buf.len()),
                None => Needed::bytes(ws::HEADER - buf.len()),
            }));
        };
        let bytes = buf.get(..used).unwrap_or_default();
        let frame = match tag {
            b'b' | b'm' | b'B' => command_frame(payload, Format::Protobuf2, tag, bytes)?,
            b't' | b'T' => command_frame(payload, Format::Proto2Base64, tag, bytes)?,
            b'c' => {
                let code = payload
                    .get(..2)
                    .map_or(0, |c| u16::from_be_bytes([c[0], c[1]]));
                let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default());
                let mut f = Frame::of(bytes);
                f.set_summary(format!("WebSocket close {code} {reason}"));
                f.push("ws", "close");
                f.push_num("close.code", code);
                f.push("close.reason", reason);
                f
            }
            b'x' => {
                let why = String::from_utf8_lossy(payload).into_owned();
                let mut f = Frame::of(bytes);
                f.set_summary(format!("refused: {why}"));
                f.push("ws", "refused");
                f.push("error", why);
                f
            }
            _ => return Err(Error::new(ErrorKind::Protobuf, 0)),
        };
        Ok(Status::Complete((frame, used)))
    }

    fn build(&self, spec: &Spec, counter: u64) -> Result<Vec<u8>, String> {
        let Some(written) = &spec.command else {
            return Err("a LeanCloud frame needs `command:`".into());
        };
        let mut value = written.clone();
        coerce(&mut value, None);
        let Value::Object(map) = &mut value else {
            return Err("`command:` must be a map (the GenericCommand's fields)".into());
        };
        let is_ack = map.get("cmd").and_then(Value::as_str) == Some("ack");
        match map.get("i") {
            Some(Value::Null) => {
                map.remove("i");
            }
            Some(_) => {}
            None if is_ack => {}
            None => {
                map.insert("i".into(), Value::from(counter));
            }
        }
        let cmd: GenericCommand = serde_json::from_value(value)
            .map_err(|e| format!("`command:` is not a GenericCommand: {e}"))?;
        let mut out = Vec::new();
        leancloud::encode(&cmd, Format::Protobuf2, &mut out);
        Ok(ws::record(b'm', &out))
    }

    fn request_key(&self, frame: &Frame) -> Option<String> {
        frame.get("i").map(str::to_owned)
    }

    fn request_key_of(&self, bytes: &[u8]) -> Option<String> {
        let (tag, payload, used) = ws::cut(bytes)?;
        let format = match tag {
            b'm' | b'B' => Format::Protobuf2,
            b'T' => Format::Proto2Base64,
            _ => return None,
        };
        if used != bytes.len() {
            return None;
        }
        leancloud::decode(payload, format)
            .ok()?
            .i
            .map(|i| i.to_string())
    }

    fn pairing(&self, frame: &Frame) -> Pairing {
        match frame.get("i") {
            Some(i) => Pairing::Key(i.to_owned()),
            None => Pairing::Push,
        }
    }

    fn barrier(&self) -> Spec<'static> {
        Spec {
            command: Some(serde_json::json!({ "cmd": "echo" })),
            ..Spec::default()
        }
    }

    fn fields(&self) -> &'static [&'static str] {
        TOP_FIELDS
    }

    fn known_field(&self, name: &str) -> bool {
        let top = name.split(['.', '[']).next().unwrap_or(name);
        TOP_FIELDS.contains(&top) || ["json", "ws", "size", "close", "error"].contains(&top)
    }

    fn raw(&self, bytes: Vec<u8>) -> Vec<u8> {
        ws::record(b'B', &bytes)
    }

    /// The readable form (`binary {"cmd":"ack",…}`) instead of escaped protobuf bytes.
    fn log_text(&self, bytes: &[u8]) -> String {
        match self.parse(bytes) {
            Ok(Status::Complete((f, _))) => match f.get("ws") {
                Some(kind @ ("binary" | "text")) => format!("{kind} {}", f.summary()),
                _ => f.summary(),
            },
            _ => super::escape(bytes),
        }
    }
}

/// The fields of `GenericCommand` (docs/protocols/leancloud.md §3.1), the first step of every field path.
const TOP_FIELDS: &[&str] = &[
    "cmd",
    "op",
    "appId",
    "peerId",
    "i",
    "installationId",
    "priority",
    "service",
    "serverTs",
    "clientTs",
    "notificationType",
    "dataMessage",
    "sessionMessage",
    "errorMessage",
    "directMessage",
    "ackMessage",
    "unreadMessage",
    "readMessage",
    "rcpMessage",
    "logsMessage",
    "convMessage",
    "roomMessage",
    "presenceMessage",
    "reportMessage",
    "patchMessage",
    "pubsubMessage",
    "blacklistMessage",
];

/// Names of the schema's integer fields (`int32`/`int64`, not enums), the same in every
/// message that has them (codec `leancloud::message`).
const INT_FIELDS: &[&str] = &[
    "ackAt",
    "appCode",
    "clientTs",
    "code",
    "configBitmap",
    "convType",
    "count",
    "flag",
    "fromts",
    "i",
    "l",
    "lastPatchTime",
    "lastUnreadNotifTime",
    "lctype",
    "limit",
    "maxAckTimestamp",
    "maxReadTimestamp",
    "notifTime",
    "notificationType",
    "patchCode",
    "patchTimestamp",
    "priority",
    "readAt",
    "serverTs",
    "service",
    "skip",
    "stTtl",
    "statusTTL",
    "t",
    "tempConvTTL",
    "timestamp",
    "tots",
    "tt",
    "unread",
];

/// Names of the schema's boolean fields.
const BOOL_FIELDS: &[&str] = &[
    "bin",
    "hasMore",
    "initiative",
    "mentionAll",
    "mentioned",
    "offline",
    "queryAllMembers",
    "r",
    "read",
    "recall",
    "sp",
    "statusPub",
    "statusSub",
    "stored",
    "tIncluded",
    "tempConv",
    "transient",
    "ttIncluded",
    "unique",
    "will",
];

/// Turns interpolated strings under integer and boolean field names into JSON numbers and
/// booleans (`key` is the name the value sits under; list elements inherit it).
fn coerce(v: &mut Value, key: Option<&str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                coerce(x, Some(k));
            }
        }
        Value::Array(a) => {
            for x in a {
                coerce(x, key);
            }
        }
        Value::String(s) => {
            let Some(k) = key else { return };
            if INT_FIELDS.contains(&k) {
                if let Ok(n) = s.trim().parse::<i64>() {
                    *v = Value::from(n);
                }
            } else if BOOL_FIELDS.contains(&k) {
                match s.as_str() {
                    "true" => *v = Value::Bool(true),
                    "false" => *v = Value::Bool(false),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// The frame of a command record; a command the codec refuses is the connection's error, at
/// its offset in the record stream.
fn command_frame(payload: &[u8], format: Format, tag: u8, bytes: &[u8]) -> Result<Frame, Error> {
    let cmd = leancloud::decode(payload, format).map_err(|e| e.shifted(ws::HEADER))?;
    let json = serde_json::to_value(&cmd).unwrap_or(Value::Null);
    let text = json.to_string();
    let mut f = Frame::of(bytes);
    f.set_summary(text.clone());
    f.push(
        "ws",
        match tag {
            b'b' => "binary",
            b't' => "text",
            _ => "sent",
        },
    );
    flatten(&json, "", &mut f);
    f.push("json", text);
    f.push_num("size", payload.len());
    Ok(f)
}

/// Every scalar of `v` under its dotted path; list elements both with and without index.
pub(crate) fn flatten(v: &Value, path: &str, out: &mut Frame) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                flatten(x, &join(k), out);
            }
        }
        Value::Array(a) => {
            for x in a {
                flatten(x, path, out);
            }
            for (i, x) in a.iter().enumerate() {
                flatten(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Null => {}
        Value::String(s) => out.push_named(path, s),
        Value::Bool(b) => out.push_named(path, b.to_string()),
        Value::Number(n) => out.push_named(path, n.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_options_take_the_actor_options() {
        let given = ActorOptions {
            format: Some("proto2base64".into()),
            version: Some("1".into()),
        };
        assert_eq!(ws_options(Some(&given)).subprotocol(), "lc.proto2base64.1");
        assert_eq!(ws_options(None), ws::Options::default());
    }
    use serde_json::json;

    fn build(command: Value, counter: u64) -> Vec<u8> {
        let spec = Spec {
            command: Some(command),
            ..Spec::default()
        };
        LeanCloud.build(&spec, counter).unwrap()
    }

    fn frame(bytes: &[u8]) -> Frame {
        match LeanCloud.parse(bytes).unwrap() {
            Status::Complete((f, n)) => {
                assert_eq!(n, bytes.len());
                f
            }
            Status::Incomplete(_) => panic!("incomplete"),
        }
    }

    #[test]
    fn build_assigns_i_and_coerces_templated_numbers() {
        let bytes = build(
            json!({"cmd": "patch", "op": "modify", "patchMessage": {"patches": [
                {"cid": "c1", "mid": "123", "timestamp": "1700000000000", "recall": "true"}]}}),
            7,
        );
        let f = frame(&bytes);
        assert_eq!(f.get("i"), Some("7"));
        assert_eq!(f.get("ws"), Some("sent"));
        assert_eq!(f.get("patchMessage.patches.mid"), Some("123"));
        assert_eq!(
            f.get("patchMessage.patches[0].timestamp"),
            Some("1700000000000")
        );
        assert_eq!(f.get("patchMessage.patches.recall"), Some("true"));
        assert_eq!(LeanCloud.request_key_of(&bytes).as_deref(), Some("7"));
        assert_eq!(LeanCloud.request_key(&f).as_deref(), Some("7"));
    }

    #[test]
    fn acks_and_null_i_carry_no_i() {
        for cmd in [
            json!({"cmd": "ack", "ackMessage": {"cid": "c", "fromts": 1, "tots": 2}}),
            json!({"cmd": "direct", "i": null}),
        ] {
            let bytes = build(cmd, 3);
            assert_eq!(frame(&bytes).get("i"), None);
            assert_eq!(LeanCloud.request_key_of(&bytes), None);
        }
        assert_eq!(
            frame(&build(json!({"cmd": "ack", "i": 9}), 3)).get("i"),
            Some("9")
        );
    }

    #[test]
    fn received_frames_pair_by_i_lists_flatten_twice() {
        let cmd: GenericCommand = serde_json::from_value(json!({"cmd": "unread",
            "unreadMessage": {"convs": [{"cid": "a", "unread": 2}, {"cid": "b", "unread": 1}],
                              "notifTime": 5}}))
        .unwrap();
        let mut b = Vec::new();
        leancloud::encode(&cmd, Format::Protobuf2, &mut b);
        let f = frame(&ws::record(b'b', &b));
        assert_eq!(f.get("ws"), Some("binary"));
        assert_eq!(LeanCloud.pairing(&f), Pairing::Push);
        assert_eq!(
            f.values("unreadMessage.convs.cid").collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(f.get("unreadMessage.convs[1].unread"), Some("1"));
        let mut t = Vec::new();
        let reply: GenericCommand =
            serde_json::from_value(json!({"cmd": "session", "op": "opened", "i": 4})).unwrap();
        leancloud::encode(&reply, Format::Proto2Base64, &mut t);
        let f = frame(&ws::record(b't', &t));
        assert_eq!((f.get("ws"), f.get("op")), (Some("text"), Some("opened")));
        assert_eq!(LeanCloud.pairing(&f), Pairing::Key("4".into()));
    }

    #[test]
    fn partial_records_are_incomplete_and_bad_commands_errors() {
        let bytes = build(json!({"cmd": "echo"}), 1);
        for n in 0..bytes.len() {
            assert!(matches!(
                LeanCloud.parse(&bytes[..n]),
                Ok(Status::Incomplete(_))
            ));
        }
        let e = LeanCloud
            .parse(&ws::record(b'b', b"\xff\xff\xff"))
            .unwrap_err();
        assert!(e.offset() >= ws::HEADER);
        let spec = Spec {
            command: Some(json!({"cmd": "direct", "bogus": 1})),
            ..Spec::default()
        };
        assert!(LeanCloud.build(&spec, 1).unwrap_err().contains("bogus"));
    }

    #[test]
    fn close_and_refused_records_are_pushes() {
        let mut p = 4111u16.to_be_bytes().to_vec();
        p.extend_from_slice(b"conflict");
        let f = frame(&ws::record(b'c', &p));
        assert_eq!(
            (f.get("close.code"), f.get("ws")),
            (Some("4111"), Some("close"))
        );
        let f = frame(&ws::record(
            b'x',
            b"text message on an lc.protobuf2 connection",
        ));
        assert_eq!(LeanCloud.pairing(&f), Pairing::Push);
        assert!(LeanCloud.known_field("directMessage.id"));
        assert!(LeanCloud.known_field("unreadMessage.convs[0].unread"));
        assert!(!LeanCloud.known_field("headers.I"));
    }
}

#[cfg(test)]
mod load_tests {
    use std::path::Path;

    use crate::scenario::{FrameSpec, StepKind, Tree, load_str};

    const CASE: &str = "title: t\nprotocol: leancloud\nparams: { c: conv }\nactors:\n  a: { service: leancloud, format: proto2base64, version: 1 }\n  b: leancloud\nsteps:\n  - connect: a\n  - send: a\n    command: { cmd: direct, i: null, directMessage: { cid: \"${c}\", r: true, l: 3 } }\n";

    #[test]
    fn leancloud_cases_load_actor_options_and_commands() {
        let s = load_str(Path::new("scenarios/leancloud/x.yaml"), CASE).unwrap();
        let a = &s.actor_options["a"];
        assert_eq!(
            (a.format.as_deref(), a.version.as_deref()),
            (Some("proto2base64"), Some("1"))
        );
        assert!(!s.actor_options.contains_key("b"));
        let StepKind::Send(send) = &s.steps[1].kind else {
            panic!("not a send");
        };
        let Some(Tree::Map(m)) = &send.frame.command else {
            panic!("no command");
        };
        assert_eq!(m[1], ("i".into(), Tree::Null));
        assert_ne!(send.frame, FrameSpec::default());
    }

    #[test]
    fn leancloud_loader_refuses_bad_options_and_foreign_keys() {
        for (from, bad, why) in [
            ("format: proto2base64", "format: json", "unknown format"),
            ("version: 1", "version: 2", "unknown version"),
            ("version: 1", "color: red", "did not match"),
        ] {
            let text = CASE.replace(from, bad);
            let e = load_str(Path::new("scenarios/leancloud/x.yaml"), &text).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
        let text = CASE.replace("    command:", "    verb: PNG\n    command:");
        let e = load_str(Path::new("scenarios/leancloud/x.yaml"), &text).unwrap_err();
        assert!(e.to_string().contains("`verb`"), "{e}");
        let text = CASE.replace("    command: {", "    body: x\n    xcommand: {");
        assert!(load_str(Path::new("scenarios/leancloud/x.yaml"), &text).is_err());
    }
}
