//! `sipc::parse_ref` against `sipc::parse`: one parser, two forms of its result. On every
//! prefix of every SIP-C corpus file and on arbitrary bytes, strictly and leniently, both
//! give the same outcome (the same error, the same `Needed`, the same length) and a complete
//! `MessageRef` reads as the `Message` does: start line, each header by name and in order,
//! body, and `to_message` equal to it.

use imspec_codec::Status;
use imspec_codec::sipc::{self, Limits};
use proptest::prelude::*;

/// What differs between the two results on `buf`, if anything.
fn agree(buf: &[u8], limits: &Limits) -> Result<(), String> {
    let (msg, view) = match (
        sipc::parse_with(buf, limits),
        sipc::parse_ref_with(buf, limits),
    ) {
        (Ok(Status::Complete((msg, n))), Ok(Status::Complete((view, m)))) => {
            if n != m {
                return Err(format!("length {n} vs {m}"));
            }
            (msg, view)
        }
        (Ok(Status::Incomplete(a)), Ok(Status::Incomplete(b))) if a == b => return Ok(()),
        (Err(a), Err(b)) if a == b => return Ok(()),
        (a, b) => return Err(format!("parse: {a:?}\nparse_ref: {b:?}")),
    };
    let same = |what: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{what} differs\n message: {msg:?}\n view: {view:?}"
            ))
        }
    };
    same("to_message", view.to_message() == msg)?;
    same("start", view.start() == msg.start)?;
    same("is_request", view.is_request() == msg.is_request())?;
    same("body", view.body() == msg.body.as_ref())?;
    same("header_count", view.header_count() == msg.headers.len())?;
    let listed: Vec<(&str, &str)> = msg
        .headers
        .iter()
        .map(|h| (h.name.as_ref(), h.value.as_ref()))
        .collect();
    same("headers", view.headers().collect::<Vec<_>>() == listed)?;
    for (name, _) in &listed {
        for name in [name.to_string(), name.to_ascii_lowercase()] {
            same(
                &format!("header({name:?})"),
                view.header(&name) == msg.header(&name),
            )?;
        }
    }
    same("absent header", view.header("No-Such-Header").is_none())
}

fn agree_everywhere(buf: &[u8]) -> Result<(), String> {
    for limits in [Limits::default(), Limits::lenient()] {
        agree(buf, &limits)?;
    }
    Ok(())
}

#[test]
fn parse_ref_agrees_with_parse_on_every_prefix_of_the_corpus() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/fetion");
    let mut files = 0;
    for folder in ["valid", "lenient", "invalid", "regressions"] {
        let dir = std::fs::read_dir(format!("{root}/{folder}")).expect("corpus folder");
        for entry in dir {
            let path = entry.expect("corpus entry").path();
            let bytes = std::fs::read(&path).expect("corpus file");
            for cut in 0..=bytes.len() {
                agree_everywhere(&bytes[..cut])
                    .unwrap_or_else(|e| panic!("{}, first {cut} bytes: {e}", path.display()));
            }
            files += 1;
        }
    }
    assert!(files > 40, "only {files} corpus files");
}

proptest! {
    #[test]
    fn parse_ref_agrees_with_parse_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        agree_everywhere(&bytes).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn parse_ref_agrees_with_parse_on_header_lines(
        lines in prop::collection::vec(("[A-Za-z]{1,3}", "[ \t]?", "[ -~]{0,12}", "[ \t]?"), 0..20),
        body in "[a-z]{0,8}",
    ) {
        let mut buf = b"M 123 SIP-C/2.0\r\n".to_vec();
        for (name, lead, value, trail) in &lines {
            buf.extend_from_slice(format!("{name}:{lead}{value}{trail}\r\n").as_bytes());
        }
        buf.extend_from_slice(format!("\r\n{body}").as_bytes());
        agree_everywhere(&buf).map_err(TestCaseError::fail)?;
    }
}
