//! The driver protocol (docs/driver-protocol.md): JSON lines between imspec and the adapter
//! that runs a client under test. Not an IM protocol, so not in the codec: it is imspec's own
//! control channel, one JSON object per `\n`-terminated line.
//!
//! * imspec → driver: ops, `{"op":"login","user":"alice","password":"…","id":3}`. A step
//!   writes the op as `command:`; `id` is added from the connection's counter unless given.
//! * driver → imspec: answers `{"ok":true}` / `{"ok":false,"error":"…"}` (with the op's `id`
//!   when the driver echoes it; without one the answer goes to the oldest op still waiting),
//!   and events `{"event":"received","from":"bob","text":"hi"}` (pushes).
//! * Fields: the object flattened into dotted paths as in LeanCloud (`event`, `from`,
//!   `convs.cid`, `convs[0].unread`), plus `json` (the whole line).
//! * Barrier: `{"op":"ping"}`, which every driver answers `{"ok":true}` once it has handled
//!   everything before it.

use imspec_codec::{Error, ErrorKind, Needed, Status};
use serde_json::Value;

use super::{Frame, FrameKeys, Pairing, Protocol, Spec};

/// The service of the driver actor in a client case (`scenarios/clients/`,
/// docs/driver-protocol.md).
pub const DRIVER: &str = "driver";

/// Longest line accepted from a driver (a line without `\n` beyond this fails the case).
pub const MAX_LINE: usize = 1 << 20;

/// The driver protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Driver;

/// The module as the runner takes it.
pub fn module() -> &'static dyn Protocol {
    &Driver
}

impl Protocol for Driver {
    fn name(&self) -> &'static str {
        "driver"
    }

    fn about(&self) -> &'static str {
        "The driver protocol: JSON lines to the adapter of a client under test (docs/driver-protocol.md)."
    }

    fn about_service(&self, service: &str) -> &'static str {
        let _ = service;
        "In a client case (`scenarios/clients/`): the adapter that runs the client under test,\nspoken to in the driver protocol (docs/driver-protocol.md)."
    }

    fn services(&self) -> &'static [&'static str] {
        &[DRIVER]
    }

    fn scenario_protocol(&self) -> bool {
        false
    }

    /// Ops are written `command: {op: …}` (the loader reads them apart from frames).
    fn frame_keys(&self) -> FrameKeys {
        FrameKeys::command("a driver op needs `command:` (`{op: login, user: …}`)")
    }

    /// Answers and events are JSON objects whose fields a driver may extend (the driver
    /// protocol reserves names, it does not close the set): any dotted path is a field.
    fn fields(&self) -> &'static [&'static str] {
        &["ok", "error", "id", "event", "from", "text", "json"]
    }

    fn parse(&self, buf: &[u8]) -> Result<Status<(Frame, usize)>, Error> {
        let Some(end) = memchr_nl(buf) else {
            if buf.len() > MAX_LINE {
                return Err(Error::new(ErrorKind::LimitExceeded, MAX_LINE));
            }
            return Ok(Status::Incomplete(Needed::Unknown));
        };
        let used = end + 1;
        let line = buf.get(..end).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let f = Frame::of(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Status::Complete((f, used)));
        }
        let value: Value = serde_json::from_slice(line).map_err(|e| {
            // serde_json gives line and column only; the line is one line, so column - 1 is
            // the offset into it.
            Error::new(ErrorKind::Json, e.column().saturating_sub(1))
        })?;
        if !value.is_object() {
            return Err(Error::new(ErrorKind::Json, 0));
        }
        let mut f = Frame::of(buf.get(..used).unwrap_or_default());
        super::leancloud::flatten(&value, "", &mut f);
        let json = value.to_string();
        f.push("json", &json);
        f.set_summary(json);
        Ok(Status::Complete((f, used)))
    }

    fn build(&self, spec: &Spec, counter: u64) -> Result<Vec<u8>, String> {
        let Some(Value::Object(written)) = &spec.command else {
            return Err("a driver op is a map: `command: {op: login, user: alice}`".into());
        };
        let mut map = written.clone();
        if !map.get("op").is_some_and(Value::is_string) {
            return Err("a driver op needs `op:` (login, send, logout, …)".into());
        }
        map.entry("id").or_insert_with(|| Value::from(counter));
        let mut out = Value::Object(map).to_string().into_bytes();
        out.push(b'\n');
        Ok(out)
    }

    fn request_key(&self, frame: &Frame) -> Option<String> {
        frame.get("op")?;
        frame.get("id").map(str::to_owned)
    }

    fn pairing(&self, frame: &Frame) -> Pairing {
        if frame.fields.is_empty() {
            return Pairing::Ignore;
        }
        if frame.get("ok").is_none() {
            return Pairing::Push;
        }
        match frame.get("id") {
            Some(id) => Pairing::Key(id.to_owned()),
            // Every key starts with "": the oldest op still waiting.
            None => Pairing::KeyPrefix(String::new()),
        }
    }

    fn barrier(&self) -> Spec<'static> {
        Spec {
            command: Some(serde_json::json!({ "op": "ping" })),
            ..Spec::default()
        }
    }

    fn known_field(&self, _name: &str) -> bool {
        // Events carry whatever a driver reports; an absent field fails its check anyway.
        true
    }

    fn log_text(&self, bytes: &[u8]) -> String {
        super::escape(bytes.strip_suffix(b"\n").unwrap_or(bytes))
    }
}

fn memchr_nl(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> (Frame, usize) {
        match Driver.parse(bytes) {
            Ok(Status::Complete(x)) => x,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn driver_answers_pair_by_id_or_oldest_and_events_are_pushes() {
        let (f, n) = one(b"{\"ok\":true,\"id\":3}\n{\"event\":\"ready\"}\n");
        assert_eq!(n, 19);
        assert_eq!(Driver.pairing(&f), Pairing::Key("3".into()));
        let (f, _) = one(b"{\"ok\":false,\"error\":\"no\"}\r\n");
        assert_eq!(Driver.pairing(&f), Pairing::KeyPrefix(String::new()));
        assert_eq!(f.get("error"), Some("no"));
        let (f, _) = one(b"{\"event\":\"received\",\"from\":\"bob\",\"text\":\"hi\"}\n");
        assert_eq!(Driver.pairing(&f), Pairing::Push);
        assert_eq!(f.get("text"), Some("hi"));
        let (f, _) = one(b"\n");
        assert_eq!(Driver.pairing(&f), Pairing::Ignore);
    }

    #[test]
    fn driver_incomplete_and_bad_lines() {
        assert!(matches!(
            Driver.parse(b"{\"ok\":tr"),
            Ok(Status::Incomplete(_))
        ));
        let e = Driver.parse(b"{\"ok\":tru}\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Json);
        assert_eq!(Driver.parse(b"[1]\n").unwrap_err().kind(), ErrorKind::Json);
    }

    #[test]
    fn driver_ops_get_an_id_and_a_key() {
        let spec = Spec {
            command: Some(serde_json::json!({"op": "login", "user": "alice"})),
            ..Spec::default()
        };
        let bytes = Driver.build(&spec, 7).unwrap();
        assert!(bytes.ends_with(b"\n"));
        assert_eq!(Driver.request_key_of(&bytes).as_deref(), Some("7"));
        let no_op = Spec {
            command: Some(serde_json::json!({"user": "alice"})),
            ..Spec::default()
        };
        assert!(Driver.build(&no_op, 1).is_err());
    }
}
