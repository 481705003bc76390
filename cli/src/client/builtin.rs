//! `imspec client-driver`: the built-in driver (`--driver builtin`), the one I/O loop around
//! the sans-IO reference clients. It speaks the driver protocol on stdin/stdout exactly as an
//! external adapter does (docs/driver-protocol.md), so the built-in path tests the protocol too.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use super::leancloud::{Client, Output};
use super::mutant::Mutant;
use super::{Output as StreamOutput, Peer};
use imspec_harness::client::host::env_name;
use imspec_harness::transport::{BoxStream, ws};

/// Runs the driver until stdin ends; returns the process exit code. The client is picked by
/// the service the case listens on (`IMSPEC_SIP`, `IMSPEC_FETION`, `IMSPEC_MSNP`, `IMSPEC_LEANCLOUD`).
pub async fn main(mutant: Option<Mutant>) -> u8 {
    let var = |service: &str| std::env::var(env_name(service)).ok();
    let outcome = if let Some(addr) = var("sip") {
        stream_loop(&addr, super::sip::Client::new(&addr, mutant)).await
    } else if let Some(addr) = var("fetion") {
        stream_loop(&addr, super::fetion::Client::new(mutant)).await
    } else if let Some(addr) = var("msnp") {
        stream_loop(&addr, super::msnp::Client::new(mutant)).await
    } else if let Some(addr) = var(ws::SERVICE) {
        leancloud(&addr, mutant).await
    } else {
        eprintln!(
            "imspec client-driver: no reference client for this case (none of IMSPEC_SIP, \
             IMSPEC_FETION, IMSPEC_MSNP, IMSPEC_LEANCLOUD is set)"
        );
        return 2;
    };
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("imspec client-driver: {e}");
            1
        }
    }
}

/// The I/O loop of a reference client over one TCP connection to `addr`.
async fn stream_loop<P: Peer>(addr: &str, mut client: P) -> std::io::Result<()> {
    use imspec_codec::Status;
    use std::time::Instant;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    let mut conn: Option<BoxStream> = None;
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    line(&mut stdout, &json!({"event": "ready"})).await?;
    loop {
        while let Some(o) = client.poll() {
            match o {
                StreamOutput::Connect => match TcpStream::connect(addr).await {
                    Ok(tcp) => {
                        let _ = tcp.set_nodelay(true);
                        let local = tcp
                            .local_addr()
                            .map_or_else(|_| "127.0.0.1:0".into(), |a| a.to_string());
                        conn = Some(Box::new(tcp));
                        buf.clear();
                        client.connected(&local);
                    }
                    Err(e) => {
                        eprintln!("connecting to {addr}: {e}");
                        client.connect_failed(&e.to_string());
                    }
                },
                StreamOutput::Send(bytes) => {
                    let written = match &mut conn {
                        Some(c) => c.write_all(&bytes).await.is_ok(),
                        None => false,
                    };
                    if !written {
                        conn = None;
                        client.closed();
                    }
                }
                StreamOutput::Line(v) => line(&mut stdout, &v).await?,
                StreamOutput::Disconnect => conn = None,
            }
        }
        let timer = client.next_timeout();
        tokio::select! {
            l = stdin.next_line() => match op_line(l?) {
                None => return Ok(()),
                Some(Ok(op)) => client.op(&op, Instant::now()),
                Some(Err(refusal)) => line(&mut stdout, &refusal).await?,
            },
            n = read(&mut conn, &mut buf) => {
                if !matches!(n, Ok(k) if k > 0) {
                    conn = None;
                    client.closed();
                    continue;
                }
                loop {
                    let used = match P::parse(&buf) {
                        Ok(Status::Complete((msg, used))) => {
                            client.message(&msg, Instant::now());
                            used
                        }
                        Ok(Status::Incomplete(_)) => break,
                        Err(e) => {
                            eprintln!("byte {}: {} (closing the connection)", e.offset(), e.kind());
                            conn = None;
                            client.closed();
                            break;
                        }
                    };
                    buf.drain(..used);
                }
            }
            () = sleep_until(timer) => client.timeout(Instant::now()),
        }
    }
}

async fn sleep_until(t: Option<std::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

async fn leancloud(addr: &str, mutant: Option<Mutant>) -> std::io::Result<()> {
    let mut client = Client::new(mutant);
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    let mut conn: Option<BoxStream> = None;
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    line(&mut stdout, &json!({"event": "ready"})).await?;
    loop {
        while let Some(o) = client.poll() {
            match o {
                Output::Connect => match open(addr).await {
                    Ok(s) => {
                        conn = Some(s);
                        buf.clear();
                    }
                    Err(e) => {
                        eprintln!("connecting to {addr}: {e}");
                        client.connect_failed(&e);
                    }
                },
                Output::Send(cmd) => {
                    let written = match (&mut conn, encode(&cmd)) {
                        (Some(c), Ok(bytes)) => c.write_all(&bytes).await.is_ok(),
                        (_, Err(e)) => {
                            eprintln!("cannot encode {cmd}: {e}");
                            true
                        }
                        (None, _) => false,
                    };
                    if !written {
                        conn = None;
                        client.closed();
                    }
                }
                Output::Line(v) => line(&mut stdout, &v).await?,
                Output::Disconnect => conn = None,
            }
        }
        tokio::select! {
            l = stdin.next_line() => match op_line(l?) {
                None => return Ok(()),
                Some(Ok(op)) => client.op(&op),
                Some(Err(refusal)) => line(&mut stdout, &refusal).await?,
            },
            n = read(&mut conn, &mut buf) => {
                if !matches!(n, Ok(k) if k > 0) {
                    conn = None;
                    client.closed();
                    continue;
                }
                while let Some((tag, payload, used)) = ws::cut(&buf) {
                    match tag {
                        b'b' | b't' => {
                            let format = if tag == b'b' {
                                imspec_codec::leancloud::Format::Protobuf2
                            } else {
                                imspec_codec::leancloud::Format::Proto2Base64
                            };
                            match imspec_codec::leancloud::decode(payload, format) {
                                Ok(cmd) => client.frame(&serde_json::to_value(&cmd).unwrap_or(Value::Null)),
                                Err(e) => eprintln!("byte {}: {} (command from the server ignored)", e.offset(), e.kind()),
                            }
                        }
                        _ => eprintln!("{}", imspec_harness::proto::escape(payload)),
                    }
                    buf.drain(..used);
                }
            }
        }
    }
}

/// An op from a stdin line: `None` at the end of input, `Err` with the answer refusing a line
/// that is not JSON. A blank line is a `ping` without `id` (answered, harmlessly, by nobody).
fn op_line(l: Option<String>) -> Option<Result<Value, Value>> {
    let l = l?;
    if l.trim().is_empty() {
        return Some(Ok(json!({"op": "ping"})));
    }
    Some(
        serde_json::from_str::<Value>(&l)
            .map_err(|e| json!({"ok": false, "error": format!("bad op line: {e}")})),
    )
}

async fn open(addr: &str) -> Result<BoxStream, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    ws::upgrade(Box::new(tcp), addr, &ws::Options::default()).await
}

fn encode(cmd: &Value) -> Result<Vec<u8>, String> {
    let cmd: imspec_codec::leancloud::GenericCommand =
        serde_json::from_value(cmd.clone()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    imspec_codec::leancloud::encode(&cmd, imspec_codec::leancloud::Format::Protobuf2, &mut out);
    Ok(ws::record(b'm', &out))
}

async fn read(conn: &mut Option<BoxStream>, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    match conn {
        Some(c) => c.read_buf(buf).await,
        None => std::future::pending().await,
    }
}

async fn line(out: &mut tokio::io::Stdout, v: &Value) -> std::io::Result<()> {
    let mut bytes = v.to_string().into_bytes();
    bytes.push(b'\n');
    out.write_all(&bytes).await?;
    out.flush().await
}
