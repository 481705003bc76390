//! `imspec serve`: run the reference server until SIGTERM or SIGINT.
//!
//! ```text
//! imspec serve [--fetion ADDR] [--msnp ADDR] [--gateway ADDR] [--sip ADDR] [--leancloud ADDR]
//!              [--data DIR] [--mutant NAME] [--accounts FILE] [--fetion-login digest|open]
//! ```
//!
//! With none of `--fetion`, `--msnp`, `--gateway`, `--sip` and `--leancloud`, all of them start on
//! `127.0.0.1:0`. `--sip` also starts the SIP mailbox's MSRP listener on the same host, port 0
//! (services `sip` and `msrp`; behaviour in [`imspec_server::sip`]); its offline store is
//! `DIR/sip.redb`. `--leancloud` serves LeanCloud realtime over WebSocket (`ws://ADDR/`, service
//! `leancloud`; behaviour in [`imspec_server::leancloud`]); its store is `DIR/leancloud.redb`.
//! `--fetion` also starts the Fetion chat server on the same host, port 0. `--gateway` starts
//! the MSNP HTTP gateway (`POST /gateway/gateway.dll`) in front of the same MSNP hub as
//! `--msnp`. One flushed line per listener goes to stdout: `listening <service> <host:port>`
//! (services `fetion`, `fetion-chat`, `msnp`, `msnp-gateway`: the names `imspec run --target`
//! takes).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use imspec_server::accounts::Accounts;
use imspec_server::{Mutant, Server, ServerConfig, Service};

/// Arguments of `imspec serve`.
#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    /// Start the Fetion SIP-C main server here (the chat server gets the same host, port 0).
    #[arg(long, value_name = "ADDR")]
    pub fetion: Option<SocketAddr>,
    /// Start the MSNP24 notification server here.
    #[arg(long, value_name = "ADDR")]
    pub msnp: Option<SocketAddr>,
    /// Keep history in DIR (survives restarts); default: a fresh temporary store.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Break exactly one rule (see `imspec selftest`); one of the mutant names.
    #[arg(long, value_name = "NAME")]
    pub mutant: Option<Mutant>,
    /// Accounts file: `id password` per line, `* password` for any other id. Default: any id,
    /// password `imspec`.
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<PathBuf>,
    /// Start the LeanCloud realtime WebSocket server here (subprotocols `lc.protobuf2.3`,
    /// `lc.proto2base64.3` and their version `1`; also answers `GET /v1/route`).
    #[arg(long, value_name = "ADDR")]
    pub leancloud: Option<SocketAddr>,
    /// Start the SIP server (registrar, offline MESSAGE store, MWI) here over TCP; its MSRP
    /// mailbox listener gets the same host, port 0.
    #[arg(long, value_name = "ADDR")]
    pub sip: Option<SocketAddr>,
    /// Start the MSNP HTTP gateway (`/gateway/gateway.dll`) here, in front of the MSNP hub.
    #[arg(long, value_name = "ADDR")]
    pub gateway: Option<SocketAddr>,
    /// How the Fetion main server answers the first `R`: `digest` (401 with a nonce, then the
    /// MD5 response is checked) or `open` (200 at once, no challenge).
    #[arg(long, default_value = "digest", value_name = "MODE")]
    pub fetion_login: imspec_server::fetion::Login,
}

/// Why `serve` failed; [`ServeError::exit_code`] maps it to the process exit code.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A usage error (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A listener could not be bound or the store opened (exit 1).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ServeError {
    /// 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) => 2,
            Self::Io(_) => 1,
        }
    }
}

impl ServeArgs {
    /// The server configuration these arguments ask for.
    pub fn config(&self) -> Result<ServerConfig, ServeError> {
        let accounts = match &self.accounts {
            Some(path) => Accounts::load(path).map_err(|e| ServeError::Usage(e.to_string()))?,
            None => Accounts::open(),
        };
        let local = ServerConfig::local();
        let none = self.fetion.is_none()
            && self.msnp.is_none()
            && self.gateway.is_none()
            && self.sip.is_none()
            && self.leancloud.is_none();
        let (fetion, msnp, gateway, sip, leancloud) = if none {
            (
                local.fetion,
                local.msnp,
                local.gateway,
                local.sip,
                local.leancloud,
            )
        } else {
            (
                self.fetion,
                self.msnp,
                self.gateway,
                self.sip,
                self.leancloud,
            )
        };
        Ok(ServerConfig {
            fetion,
            msnp,
            gateway,
            sip,
            leancloud,
            data: self.data.clone(),
            mutant: self.mutant,
            accounts,
            fetion_login: self.fetion_login,
            ..local
        })
    }
}

/// Runs `imspec serve` until SIGTERM or SIGINT.
pub async fn serve(args: ServeArgs) -> Result<(), ServeError> {
    let server = Server::start(args.config()?).await?;
    {
        // One write for every line: a reader that stops after the line it wanted (and closes
        // the pipe) cannot make a later line fail with EPIPE and take the server down.
        let mut lines = String::new();
        for (service, addr) in server.addrs() {
            lines.push_str(&format!("listening {service} {addr}\n"));
        }
        let mut out = std::io::stdout().lock();
        out.write_all(lines.as_bytes())?;
        out.flush()?;
    }
    if let Some(m) = args.mutant {
        eprintln!("imspec serve: mutant {m}: {}", m.describe());
    }
    wait_for_signal().await?;
    server.shutdown().await;
    Ok(())
}

/// The names of the services, for help texts.
pub fn service_names() -> Vec<&'static str> {
    Service::ALL.iter().map(|s| s.name()).collect()
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => Ok(()),
        r = tokio::signal::ctrl_c() => r,
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn serve_args_parse_and_map_to_config() {
        let cli = Cli::try_parse_from([
            "x",
            "--msnp",
            "127.0.0.1:0",
            "--mutant",
            "msnp-trid-mismatch",
        ])
        .unwrap();
        let cfg = cli.serve.config().unwrap();
        assert!(cfg.fetion.is_none() && cfg.msnp.is_some());
        assert_eq!(cfg.mutant, Some(Mutant::MsnpTridMismatch));
        let all = Cli::try_parse_from(["x"]).unwrap().serve.config().unwrap();
        assert!(all.fetion.is_some() && all.msnp.is_some() && all.gateway.is_some());
        assert!(all.leancloud.is_some());
        let lc = Cli::try_parse_from(["x", "--leancloud", "127.0.0.1:0"])
            .unwrap()
            .serve
            .config()
            .unwrap();
        assert!(lc.leancloud.is_some() && lc.msnp.is_none() && lc.sip.is_none());
        assert!(Cli::try_parse_from(["x", "--leancloud", "nowhere"]).is_err());
        assert!(all.sip.is_some());
        let gw = Cli::try_parse_from(["x", "--gateway", "127.0.0.1:0"])
            .unwrap()
            .serve
            .config()
            .unwrap();
        assert!(gw.gateway.is_some() && gw.msnp.is_none() && gw.fetion.is_none());
        assert!(Cli::try_parse_from(["x", "--mutant", "nope"]).is_err());
        let sip = Cli::try_parse_from(["x", "--sip", "127.0.0.1:5060"])
            .unwrap()
            .serve
            .config()
            .unwrap();
        assert_eq!(sip.sip, Some(SocketAddr::from(([127, 0, 0, 1], 5060))));
        assert!(sip.fetion.is_none() && sip.msnp.is_none() && sip.gateway.is_none());
        assert!(Cli::try_parse_from(["x", "--sip", "not-an-address"]).is_err());
    }

    /// The two registries name the same services: every service the reference server
    /// listens on is one a scenario's actor can name, under the same protocol (MSRP actors
    /// speak in SIP cases), and the reference server serves every service but the driver
    /// (the client side's own).
    #[test]
    fn serve_services_are_the_harness_registrys() {
        use imspec_harness::{proto, scenario};
        let case_protocol = |m: &dyn proto::Protocol| -> Option<&'static str> {
            scenario::Protocol::all()
                .find(|p| {
                    p.name() == m.name()
                        || p.module()
                            .address_protocols()
                            .iter()
                            .any(|a| a.name() == m.name())
                })
                .map(scenario::Protocol::name)
        };
        for s in Service::ALL {
            let module = proto::by_service(s.name())
                .unwrap_or_else(|| panic!("{s}: no harness module has this service"));
            assert_eq!(case_protocol(module), Some(s.protocol().name), "{s}");
        }
        let mut ours: Vec<&str> = imspec_server::PROTOCOLS.iter().map(|p| p.name).collect();
        let mut theirs: Vec<&str> = scenario::Protocol::all().map(|p| p.name()).collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs);
        let mut served: Vec<&str> = proto::services()
            .filter(|s| proto::by_service(s).and_then(case_protocol).is_some())
            .collect();
        let mut names = service_names();
        served.sort_unstable();
        names.sort_unstable();
        assert_eq!(names, served);
    }
}
