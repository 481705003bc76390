//! The `<is-composing>` body of IN requests.

use super::*;

/// The `<is-composing>` body of IN requests: `<is-composing><state>nudge</state></is-composing>`.
///
/// ```text
/// is-composing = "<is-composing><state>" text "</state></is-composing>"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct IsComposing<'a> {
    /// The state text, unescaped (`nudge`; openfetion also sends `active` and `idle`).
    pub state: Cow<'a, str>,
}

impl<'a> IsComposing<'a> {
    /// A state (`nudge`).
    pub fn new(state: impl Into<Cow<'a, str>>) -> Self {
        Self {
            state: state.into(),
        }
    }

    /// Decodes an `<is-composing>` body.
    pub fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(utf8(body)?, MAX_DEPTH);
        let root = container(&mut r, "is-composing")?;
        let mut state = None;
        while let Some(child) = r.next_child(&root)? {
            if child.name() != "state" || state.is_some() {
                return Err(unexpected(&child));
            }
            no_attributes(&child)?;
            state = Some(r.text(&child)?);
        }
        let state = state.ok_or(Error::new(ErrorKind::Missing, r.closed_at()))?;
        r.finish()?;
        Ok(Self { state })
    }

    /// Whether this is a nudge (the window shake).
    pub fn is_nudge(&self) -> bool {
        self.state == "nudge"
    }

    /// Writes the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<is-composing>");
        xml::text_element(out, "state", &self.state);
        out.extend_from_slice(b"</is-composing>");
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        "<is-composing><state></state></is-composing>".len() + xml::escaped_text_len(&self.state)
    }

    /// The body as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// The same body owning its text.
    pub fn into_owned(self) -> IsComposing<'static> {
        IsComposing {
            state: own(self.state),
        }
    }
}
