//! The MSNP hub's part of the state-machine fuzzer (`server_msnp`): connections that log in
//! (CNT, ATH, BND), send messages one-to-one and to a group thread, page history and answer
//! the server's requests.

use std::collections::HashMap;

use imspec_codec::msnp::msgr;
use imspec_codec::msnp::payload::{Layered, Payload};
use imspec_codec::{Status, msnp};

use super::{Args, Cut, Input, Model, Role, run as run_model};
use crate::db::Open as _;
use crate::store::Store;
use crate::{ConnId, Service};

/// Runs the MSNP hub over the program in `data`.
pub fn run(data: &[u8]) -> Result<(), String> {
    run_model::<MsnpModel>(data)
}

/// Account names the MSNP model logs in with.
const NAMES: &[&str] = &["alice", "bob", "carol"];
/// The group thread the MSNP model uses.
const THREAD: &str = "19:fuzz@thread.skype";

/// The MSNP notification server.
#[derive(Debug, Default)]
pub struct MsnpModel {
    conns: HashMap<ConnId, MsnpConn>,
    last_message_id: u64,
}

#[derive(Debug, Default)]
struct MsnpConn {
    trid: u32,
    name: Option<String>,
    registration: Option<String>,
    sync: Option<String>,
}

impl Model for MsnpModel {
    type Hub = crate::msnp::Hub;
    const SERVICES: &'static [Service] = &[Service::Msnp];
    const STEPS_MS: &'static [u64] = &[1, 1000, 60_000];

    fn start() -> Result<(Self, Self::Hub), String> {
        // In memory (`crate::db`: persistent maps, not redb): creating and committing to a
        // redb database per input dominated this target's cost.
        let store = Store::in_memory().map_err(|e| format!("store: {e}"))?;
        let hub = crate::msnp::Hub::new(crate::msnp::Config::default(), store);
        Ok((Self::default(), hub))
    }

    fn cut_client(buf: &[u8]) -> Cut {
        match msnp::parse(buf) {
            Ok(Status::Complete((cmd, len))) => {
                let role = match cmd.trid {
                    None | Some(0) => Role::Unpairable,
                    Some(t) if cmd.verb == "ACK" => Role::Optional(t.to_string()),
                    Some(t) => Role::Request(t.to_string()),
                };
                Cut::Frame {
                    len,
                    role,
                    summary: imspec_codec::text::first_line(&buf[..len]),
                }
            }
            Ok(Status::Incomplete(_)) => Cut::Incomplete,
            Err(e) => Cut::Error(e.to_string()),
        }
    }

    fn cut_server(buf: &[u8]) -> Cut {
        match msnp::parse(buf) {
            Ok(Status::Complete((cmd, len))) => {
                let role = match cmd.trid {
                    // TrID 0 marks pushes (`SDG 0 MSGR`, `NFY 0 MSGR\PUT`).
                    None | Some(0) => Role::Other,
                    Some(t) => Role::Reply(t.to_string()),
                };
                Cut::Frame {
                    len,
                    role,
                    summary: imspec_codec::text::first_line(&buf[..len]),
                }
            }
            Ok(Status::Incomplete(_)) => Cut::Incomplete,
            Err(e) => Cut::Error(e.to_string()),
        }
    }

    fn frame(
        &mut self,
        kind: u8,
        args: Args,
        conn: ConnId,
        _service: Service,
        input: &mut Input<'_>,
    ) -> Option<Vec<u8>> {
        let c = self.conns.entry(conn).or_default();
        c.trid += 1;
        let trid = c.trid;
        let me = c
            .name
            .clone()
            .unwrap_or_else(|| Args::pick(NAMES, args.who).unwrap_or("alice").to_owned());
        let other = Args::pick(NAMES, args.other)?;
        let mut outer = String::new();
        if let Some(reg) = &c.registration
            && !args.flag(4)
        {
            outer = format!("Registration: {reg}\r\n");
        }
        let layered = |service: &str, message_type: &str, to: &str, body: &[u8]| {
            let mut l = Layered::default();
            l.routing.push("Routing", "1.0");
            l.routing.push("To", to.to_owned());
            l.routing.push(
                "From",
                format!("8:{me};epid={{00000000-0000-0000-0000-000000000001}}"),
            );
            l.reliability.push("Reliability", "1.0");
            l.service.push(service.to_owned(), "1.0");
            l.service.push("Message-Type", message_type.to_owned());
            l.service.push("Content-Type", "Text/plain; charset=UTF-8");
            l.set_body(body.to_vec());
            l.to_bytes()
        };
        let (verb, target, body): (&str, &str, Vec<u8>) = match kind % 13 {
            0 => ("CNT", "CON", b"<connect><ver>2</ver></connect>".to_vec()),
            1 => {
                c.name = Some(me.clone());
                let ticket = if args.flag(2) { "t=wrong" } else { "t=imspec" };
                let body = format!(
                    "<user><ssl-compact-ticket>{ticket}</ssl-compact-ticket><id>{me}</id></user>"
                );
                ("ATH", "CON\\USER", body.into_bytes())
            }
            2 => (
                "BND",
                "CON\\MSGR",
                b"<msgr><ver>2</ver><epid>{00000000-0000-0000-0000-000000000001}</epid></msgr>"
                    .to_vec(),
            ),
            3 => (
                "PUT",
                "MSGR\\CONTACTS",
                format!("<ml><skp><c n=\"{other}\" t=\"8\" /></skp></ml>").into_bytes(),
            ),
            4 => (
                "PUT",
                "MSGR\\PRESENCE",
                layered("Publication", "Presence", &format!("8:{me}"), b"<user />"),
            ),
            5 => (
                "PUT",
                "MSGR\\THREAD",
                format!(
                    "<thread><id>{THREAD}</id><members><member><mri>8:{other}</mri></member></members></thread>"
                )
                .into_bytes(),
            ),
            6 => {
                let to = if args.flag(1) {
                    THREAD.to_owned()
                } else {
                    format!("8:{other}")
                };
                let message_type = Args::pick(&["Text", "Control/Typing", "RichText"], args.choice)?;
                let text = input.chunk(64).to_vec();
                ("SDG", "MSGR", layered("Messaging", message_type, &to, &text))
            }
            7 => {
                let page = args.choice % 4;
                let body = format!(
                    "<recentconversations><start>0</start><pagesize>{page}</pagesize></recentconversations>"
                );
                ("GET", "MSGR\\RECENTCONVERSATIONS", body.into_bytes())
            }
            8 => {
                let page = args.choice % 4;
                let id = if args.flag(1) {
                    THREAD.to_owned()
                } else {
                    format!("8:{other}")
                };
                let sync = c
                    .sync
                    .as_ref()
                    .filter(|_| args.flag(8))
                    .map(|s| format!("<messagessyncstate>{s}</messagessyncstate>"))
                    .unwrap_or_default();
                let body = format!(
                    "<messagesbyconversation><id>{id}</id><start>0</start>{sync}<pagesize>{page}</pagesize></messagesbyconversation>"
                );
                ("GET", "MSGR\\MESSAGESBYCONVERSATION", body.into_bytes())
            }
            9 => ("ACK", "MSGR", Vec::new()),
            10 => ("PNG", "CON", Vec::new()),
            11 => ("OUT", "CON", Vec::new()),
            _ => {
                let verb = Args::pick(&["XYZ", "DEL", "GET", "PUT", "SDG"], args.choice)?;
                (verb, "MSGR\\NOPE", b"<x/>".to_vec())
            }
        };
        let mut payload = Vec::new();
        if !body.is_empty() || !outer.is_empty() || args.flag(8) {
            payload.extend_from_slice(outer.as_bytes());
            payload.extend_from_slice(b"\r\n");
            payload.extend_from_slice(&body);
        }
        let cmd = msnp::Command::new(verb, Some(trid), Some(target)).with_payload(payload);
        Some(cmd.to_bytes())
    }

    fn observe(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), String> {
        let Ok(Status::Complete((cmd, _))) = msnp::parse(frame) else {
            return Err("internal: observed frame does not parse".into());
        };
        let payload = match cmd.parse_payload() {
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                return Err(format!(
                    "`{}`: payload does not decode: {e}",
                    imspec_codec::text::first_line(frame)
                ));
            }
            None => Payload::default(),
        };
        let c = self.conns.entry(conn).or_default();
        let body = payload.body_text().unwrap_or_default();
        match (cmd.verb.as_ref(), cmd.trid) {
            ("BND", _) => {
                c.registration = payload.headers.get("Set-Registration").map(str::to_owned);
            }
            ("SDG" | "NFY", Some(0)) => {
                // A push carries the layered message as received.
                Layered::parse(&payload.body).map_err(|e| {
                    format!(
                        "`{}`: pushed layered message does not decode: {e}",
                        imspec_codec::text::first_line(frame)
                    )
                })?;
            }
            ("SDG", Some(_)) if body.contains("<messageid>") => {
                let id: u64 = between(body, "<messageid>", "</messageid>")
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("bad sdg-response: {body}"))?;
                if id <= self.last_message_id {
                    return Err(format!(
                        "message id {id} after {}: ids must grow strictly",
                        self.last_message_id
                    ));
                }
                self.last_message_id = id;
            }
            ("GET", Some(_)) => match msgr::parse_document(body) {
                Ok(msgr::Document::MessagesByConversationResponse(r)) => {
                    c.sync = Some(r.messages_sync_state.into_owned());
                }
                Ok(msgr::Document::RecentConversationsResponse(_)) => {}
                Ok(other) => return Err(format!("GET answered with {}", other.root_name())),
                Err(e) => return Err(format!("GET reply body does not decode: {e}: {body}")),
            },
            _ => {}
        }
        Ok(())
    }
}

fn between<'s>(s: &'s str, open: &str, close: &str) -> Option<&'s str> {
    let rest = &s[s.find(open)? + open.len()..];
    Some(&rest[..rest.find(close)?])
}

#[cfg(test)]
mod tests {
    use super::super::run_traced;
    use super::super::tests::send;
    use super::*;

    #[test]
    fn msnp_login_send_and_page() {
        let data = [
            vec![0, 0],                              // connect
            send(0, 0, [0, 0, 0, 0], b""),           // CNT
            send(0, 1, [0, 0, 0, 0], b""),           // ATH alice
            send(0, 2, [0, 0, 0, 0], b""),           // BND
            send(0, 6, [0, 0, 1, 0], b"hi"),         // SDG to bob
            send(0, 8, [0, 0, 1, 2], b""),           // GET history with bob, page size 2
            vec![6, 0, 4, b'x', b'y', b'\r', b'\n'], // raw junk: 200 and close
        ]
        .concat();
        let trace = run_traced::<MsnpModel>(&data).unwrap();
        let heads: Vec<String> = trace
            .iter()
            .map(|l| l.split(' ').take(4).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            heads,
            [
                "1: CNT 1 CON",
                "1: ATH 2 CON",
                "1: BND 3 CON",
                "1: SDG 4 MSGR",
                "1: GET 5 MSGR",
                "1: 200 0 CON"
            ],
            "{trace:#?}"
        );
    }
}
