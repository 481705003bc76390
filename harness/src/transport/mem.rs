//! In-memory connections: each connect makes a `tokio::io::duplex` pair and hands the server
//! half to a function (an embedded server's accept path, or a test's fake server).

use std::sync::Arc;

use tokio::io::DuplexStream;

use super::{BoxFuture, BoxStream, Connector, Endpoint, TransportError};

/// Buffer size of each direction of a duplex pair.
pub const DUPLEX_BUFFER: usize = 64 * 1024;

type Accept = dyn Fn(&Endpoint, DuplexStream) -> Result<(), TransportError> + Send + Sync;
type Dial = dyn Fn(&Endpoint) -> Result<DuplexStream, TransportError> + Send + Sync;

/// A connector that serves every connection in process.
#[derive(Clone)]
pub struct Mem {
    accept: Option<Arc<Accept>>,
    dial: Option<Arc<Dial>>,
}

impl std::fmt::Debug for Mem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mem")
    }
}

impl Mem {
    /// `accept` receives the endpoint asked for and the server half of a fresh duplex pair
    /// (it typically spawns a task); an error refuses the connection.
    pub fn new(
        accept: impl Fn(&Endpoint, DuplexStream) -> Result<(), TransportError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            accept: Some(Arc::new(accept)),
            dial: None,
        }
    }

    /// `dial` returns the client end of an in-memory connection to the endpoint (an embedded
    /// server's `connect_mem`).
    pub fn dialer(
        dial: impl Fn(&Endpoint) -> Result<DuplexStream, TransportError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            accept: None,
            dial: Some(Arc::new(dial)),
        }
    }
}

impl Connector for Mem {
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            if let Some(dial) = &self.dial {
                return Ok(Box::new(dial(to)?) as BoxStream);
            }
            let (client, server) = tokio::io::duplex(DUPLEX_BUFFER);
            if let Some(accept) = &self.accept {
                accept(to, server)?;
            }
            Ok(Box::new(client) as BoxStream)
        })
    }
}
