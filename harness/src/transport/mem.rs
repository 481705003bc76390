//! In-memory connections: each connect makes a `tokio::io::duplex` pair and hands the server
//! half to a function (an embedded server's accept path, or a test's fake server).

use std::sync::Arc;

use tokio::io::DuplexStream;

use super::{BoxFuture, BoxStream, Connector, Endpoint, TransportError};

/// Buffer size of each direction of a duplex pair.
pub const DUPLEX_BUFFER: usize = 64 * 1024;

type Accept = dyn Fn(&Endpoint, DuplexStream) -> Result<(), TransportError> + Send + Sync;

/// A connector that serves every connection in process.
#[derive(Clone)]
pub struct Mem {
    accept: Arc<Accept>,
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
            accept: Arc::new(accept),
        }
    }
}

impl Connector for Mem {
    fn connect<'a>(&'a self, to: &'a Endpoint) -> BoxFuture<'a, Result<BoxStream, TransportError>> {
        Box::pin(async move {
            let (client, server) = tokio::io::duplex(DUPLEX_BUFFER);
            (self.accept)(to, server)?;
            Ok(Box::new(client) as BoxStream)
        })
    }
}
