//! The Fetion hub's part of the state-machine fuzzer (`server_fetion`): a main-server and a
//! chat-server connection per account that log in with the digest, start chats, join them
//! with the credential, invite, relay messages and answer the server's requests.

use std::collections::HashMap;

use imspec_codec::sipc::digest::{FETION_DOMAIN, fetion_digest};
use imspec_codec::sipc::header::Auth;
use imspec_codec::{Status, sipc};

use super::{Args, Cut, Input, Model, Role, run as run_model};
use crate::accounts::DEFAULT_PASSWORD;
use crate::{ConnId, Service};

/// Runs the Fetion hub (main and chat server) over the program in `data`.
pub fn run(data: &[u8]) -> Result<(), String> {
    run_model::<FetionModel>(data)
}

/// Account ids the Fetion model logs in with.
const SIDS: &[&str] = &["100000001", "100000002", "100000003"];

/// The Fetion main and chat server.
#[derive(Debug, Default)]
pub struct FetionModel {
    conns: HashMap<ConnId, FetionConn>,
    /// Chat credentials the server issued: (sid, credential).
    credentials: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct FetionConn {
    sid: Option<String>,
    nonce: Option<String>,
    /// `I:` and `Q:` of the last request the server sent here.
    last_request: Option<(String, String)>,
    next: u32,
}

impl Model for FetionModel {
    type Hub = crate::fetion::Hub;
    const SERVICES: &'static [Service] = &[Service::Fetion, Service::FetionChat];
    const STEPS_MS: &'static [u64] = &[
        1,
        1000,
        crate::fetion::RELAY_TIMEOUT_MS + 1,
        crate::fetion::CREDENTIAL_TTL_MS + 1,
    ];

    fn start() -> Result<(Self, Self::Hub), String> {
        let config = crate::fetion::Config::new("127.0.0.1:8081");
        Ok((Self::default(), crate::fetion::Hub::new(config)))
    }

    fn cut_client(buf: &[u8]) -> Cut {
        cut_sipc(buf)
    }

    fn cut_server(buf: &[u8]) -> Cut {
        cut_sipc(buf)
    }

    fn frame(
        &mut self,
        kind: u8,
        args: Args,
        conn: ConnId,
        _service: Service,
        input: &mut Input<'_>,
    ) -> Option<Vec<u8>> {
        let credentials = self.credentials.clone();
        let c = self.conns.entry(conn).or_default();
        c.next += 1;
        let n = c.next;
        let version = if args.flag(1) {
            sipc::Version::V4
        } else {
            sipc::Version::V2
        };
        let sid = c
            .sid
            .clone()
            .unwrap_or_else(|| Args::pick(SIDS, args.who).unwrap_or("100000001").to_owned());
        let request = |method: sipc::Method<'static>, q: &str| {
            sipc::Message::request(method, "fetion.com.cn", version)
                .with_header("F", sid.clone())
                .with_header("I", n.to_string())
                .with_header("Q", format!("{n} {q}"))
        };
        let msg = match kind % 12 {
            0 => {
                c.sid = Some(sid.clone());
                request(sipc::Method::REGISTER, "R")
            }
            1 => {
                c.sid = Some(sid.clone());
                let nonce = c.nonce.clone().unwrap_or_default();
                let mut response =
                    fetion_digest(&sid, FETION_DOMAIN, DEFAULT_PASSWORD, &nonce, "c");
                if args.flag(2) {
                    response.replace_range(..1, "0");
                }
                let auth = Auth::Digest {
                    params: [("response", response.as_str()), ("cnonce", "c")]
                        .into_iter()
                        .collect(),
                };
                request(sipc::Method::REGISTER, "R").with_header("A", auth.to_string())
            }
            2 => request(sipc::Method::REGISTER, "R").with_header("X", "0"),
            3 => request(sipc::Method::SERVICE, "S").with_header("N", "StartChat"),
            4 => {
                let event = Args::pick(
                    &["KeepAlive", "SetPresence", "InviteBuddy", "Nope"],
                    args.choice,
                )?;
                request(sipc::Method::SERVICE, "S").with_header("N", event)
            }
            5 => {
                // Join the chat server with a credential issued to this sid (or any).
                let mut cred = credentials
                    .iter()
                    .rev()
                    .find(|(s, _)| *s == sid)
                    .or_else(|| credentials.last())
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default();
                if args.flag(2) {
                    cred.push('9');
                }
                c.sid = Some(sid.clone());
                request(sipc::Method::REGISTER, "R")
                    .with_header("A", Auth::ticks(cred).to_string())
                    .with_header("K", "text/plain")
            }
            6 => {
                let other = Args::pick(SIDS, args.other)?;
                let body = format!(
                    "<args><contacts><contact uri=\"{}\" /></contacts></args>",
                    crate::fetion::uri(other)
                );
                request(sipc::Method::SERVICE, "S")
                    .with_header("N", "InviteBuddy")
                    .with_body(body.into_bytes())
            }
            7 => request(sipc::Method::MESSAGE, "M")
                .with_header("C", "text/plain")
                .with_body(input.chunk(64).to_vec()),
            8 => request(sipc::Method::BYE, "B"),
            9 => {
                // The client's answer to the last request the server sent here.
                let (i, q) = c.last_request.clone()?;
                sipc::Message::response(version, 200, "OK")
                    .with_header("I", i)
                    .with_header("Q", q)
            }
            10 => {
                // Odd requests: no I or no Q, unknown methods, a long Call-ID.
                let method = Args::pick(&["O", "IN", "SUB", "XYZ", "M"], args.other)?;
                let method = sipc::Method::new(method)?;
                let mut m = sipc::Message::request(method, "fetion.com.cn", version)
                    .with_header("F", sid.clone());
                match args.choice % 3 {
                    0 => m = m.with_header("I", n.to_string()),
                    1 => m = m.with_header("Q", format!("{n} X")),
                    _ => {
                        m = m
                            .with_header("I", "9".repeat(usize::from(args.who % 64) + 1))
                            .with_header("Q", format!("{n} X"));
                    }
                }
                m
            }
            _ => request(sipc::Method::SERVICE, "S").with_header("N", "KeepAlive"),
        };
        Some(msg.to_bytes())
    }

    fn observe(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), String> {
        let Ok(Status::Complete((msg, _))) = sipc::parse(frame) else {
            return Err("internal: observed frame does not parse".into());
        };
        let c = self.conns.entry(conn).or_default();
        // The challenge and the chat-server credential, read through the codec's typed
        // headers (a value it rejects teaches the model nothing).
        if let Some(Ok(w)) = msg.challenge()
            && let Some(nonce) = w.nonce()
        {
            c.nonce = Some(nonce.to_owned());
        }
        let cred = match msg.auth() {
            Some(Ok(Auth::Cs { credential, .. })) => Some(credential.into_owned()),
            _ => None,
        };
        if let Some(cred) = cred {
            // A StartChat 200 is for this connection's sid; an INVITE names its receiver.
            let sid = match msg.start {
                sipc::StartLine::Request { ref target, .. } => Some(target.to_string()),
                sipc::StartLine::Response { .. } => c.sid.clone(),
            };
            if let Some(sid) = sid {
                self.credentials.push((sid, cred));
                if self.credentials.len() > 16 {
                    self.credentials.remove(0);
                }
            }
        }
        if let Some(method) = msg.method() {
            c.last_request = Some((
                msg.header("I").unwrap_or_default().to_owned(),
                msg.header("Q").unwrap_or_default().to_owned(),
            ));
            match method.as_str() {
                "BN" => {
                    msg.events()
                        .map_err(|e| format!("BN body does not decode: {e}"))?;
                }
                "I" => {
                    msg.session()
                        .map_err(|e| format!("INVITE body does not decode: {e}"))?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn cut_sipc(buf: &[u8]) -> Cut {
    // Read in place: only the kind, `I` and `Q` are looked at.
    match sipc::parse_ref(buf) {
        Ok(Status::Complete((msg, len))) => {
            let key = format!(
                "{:?} {:?}",
                msg.header("I").unwrap_or_default(),
                msg.header("Q").unwrap_or_default()
            );
            let role = if msg.is_request() {
                Role::Request(key)
            } else {
                Role::Reply(key)
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

#[cfg(test)]
mod tests {
    use super::super::tests::send;
    use super::super::{Args, Cut, Input, Model, run_traced};
    use super::*;

    #[test]
    fn fetion_login_startchat_join_and_message() {
        let data = [
            vec![0, 0],                      // connect fetion (conn 1)
            send(0, 0, [0, 0, 0, 0], b""),   // R without A: 401
            send(0, 1, [0, 0, 0, 0], b""),   // R with the digest: 200
            send(0, 3, [0, 0, 0, 0], b""),   // StartChat: 200 with a credential
            vec![0, 1],                      // connect fetion-chat (conn 2)
            send(1, 5, [0, 0, 0, 0], b""),   // chat R with the credential: 200
            send(1, 7, [0, 0, 0, 0], b"hi"), // M with no other member: 404
            vec![7, 2],                      // past the relay timeout
        ]
        .concat();
        let trace = run_traced::<FetionModel>(&data).unwrap();
        assert_eq!(
            trace,
            [
                "1: SIP-C/2.0 401 Unauthorized",
                "1: SIP-C/2.0 200 OK",
                "1: SIP-C/2.0 200 OK",
                "2: SIP-C/2.0 200 OK",
                "2: SIP-C/2.0 404 Not Found",
            ]
        );
    }

    /// The planted fuzz-only mutant panics on the long Call-ID that frame kind 10 can send.
    #[test]
    fn fetion_program_reaches_the_planted_bug() {
        let data = [vec![0, 0], send(0, 10, [40, 0, 0, 2], b"")].concat();
        run(&data).unwrap();
        let crashed = std::panic::catch_unwind(|| run_traced::<Planted>(&data));
        assert!(crashed.is_err(), "the planted bug did not fire");
    }

    /// The Fetion model against the server with the planted mutant.
    struct Planted(FetionModel);

    impl Model for Planted {
        type Hub = crate::fetion::Hub;
        const SERVICES: &'static [Service] = FetionModel::SERVICES;
        const STEPS_MS: &'static [u64] = FetionModel::STEPS_MS;
        fn start() -> Result<(Self, Self::Hub), String> {
            let mut config = crate::fetion::Config::new("127.0.0.1:8081");
            config.mutant = Some(crate::Mutant::FetionCrashOnLongCallId);
            Ok((
                Self(FetionModel::default()),
                crate::fetion::Hub::new(config),
            ))
        }
        fn cut_client(buf: &[u8]) -> Cut {
            FetionModel::cut_client(buf)
        }
        fn cut_server(buf: &[u8]) -> Cut {
            FetionModel::cut_server(buf)
        }
        fn frame(
            &mut self,
            kind: u8,
            args: Args,
            conn: ConnId,
            service: Service,
            input: &mut Input<'_>,
        ) -> Option<Vec<u8>> {
            self.0.frame(kind, args, conn, service, input)
        }
        fn observe(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), String> {
            self.0.observe(conn, frame)
        }
    }
}
