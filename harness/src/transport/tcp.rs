//! TCP connections (tokio), with `TCP_NODELAY` so small scenario frames are not delayed.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::{BoxFuture, BoxStream, Connector, Endpoint, TransportError, first_address};

/// Connects services by name to the addresses given with `--target NAME=HOST:PORT`.
#[derive(Clone, Debug, Default)]
pub struct Tcp {
    services: BTreeMap<String, SocketAddr>,
}

impl Tcp {
    /// A connector for these services.
    pub fn new(services: BTreeMap<String, SocketAddr>) -> Self {
        Self { services }
    }

    /// The services and their addresses.
    pub fn services(&self) -> &BTreeMap<String, SocketAddr> {
        &self.services
    }
}

impl Connector for Tcp {
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            let addr = match to {
                Endpoint::Service(s) => self
                    .services
                    .get(s)
                    .ok_or_else(|| TransportError::NoService(s.clone()))?
                    .to_string(),
                Endpoint::Address(a) => first_address(a)?.to_owned(),
            };
            let stream =
                TcpStream::connect(&addr)
                    .await
                    .map_err(|source| TransportError::Unreachable {
                        to: addr.clone(),
                        source,
                    })?;
            // Latency matters more than throughput for scripted exchanges; failure is harmless.
            let _ = stream.set_nodelay(true);
            Ok(Box::new(stream) as BoxStream)
        })
    }
}
