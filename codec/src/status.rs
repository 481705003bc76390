//! The outcome of feeding bytes to an incremental decoder.

use core::num::NonZeroUsize;

/// A decoder's answer when it did not fail: a complete value, or a request for more input.
///
/// Incomplete input is a status, not an error (httparse): a reader keeps what it has, reads more
/// and calls the decoder again with the longer buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// The value, decoded from a prefix of the input.
    Complete(T),
    /// The input ends before the value does.
    Incomplete(Needed),
}

/// How many more bytes an incomplete value needs, where the decoder knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needed {
    /// Not known yet (the header block has not ended).
    Unknown,
    /// At least this many more bytes (known once a length field was read).
    Bytes(NonZeroUsize),
}

impl Needed {
    /// `Bytes(n)` for `n > 0`, else `Unknown`.
    pub fn bytes(n: usize) -> Self {
        NonZeroUsize::new(n).map_or(Self::Unknown, Self::Bytes)
    }
}

impl<T> Status<T> {
    /// Whether this is `Complete`.
    pub fn is_complete(&self) -> bool {
        matches!(self, Self::Complete(_))
    }

    /// The value, if complete.
    pub fn complete(self) -> Option<T> {
        match self {
            Self::Complete(v) => Some(v),
            Self::Incomplete(_) => None,
        }
    }

    /// Maps the complete value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Self::Complete(v) => Status::Complete(f(v)),
            Self::Incomplete(n) => Status::Incomplete(n),
        }
    }
}

/// What incremental decoders return: `Ok(Complete(..))`, `Ok(Incomplete(..))` or an [`Error`](crate::Error).
pub type Result<T> = core::result::Result<Status<T>, crate::Error>;
