//! Raw bytes into the SIP-C decoder, strict and lenient: no panic, laws 1–2 on success, and
//! leniency changes nothing on strictly valid input (`imspec_fuzz::parse_laws`). On a decoded
//! frame, the `A:` value (`Message::auth_with`): the lenient reader (`TICKSauth=`, loose
//! parameters) agrees with the strict one wherever that accepts, and what it reads it reads
//! again the same from its canonical writing. The in-place form (`sipc::parse_ref_with`)
//! gives the same outcome, and on a decoded frame reads the same headers, by name and in
//! order, and the same message.
#![no_main]

use imspec_codec::Status;
use imspec_codec::sipc::{self, header::Auth};
use imspec_codec::testing::{Sipc, SipcLenient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = imspec_fuzz::parse_laws::<Sipc, SipcLenient>(data) {
        panic!("{e}");
    }
    let lenient = sipc::Limits::lenient();
    let (msg, view) = match (
        sipc::parse_with(data, &lenient),
        sipc::parse_ref_with(data, &lenient),
    ) {
        (Ok(Status::Complete((msg, n))), Ok(Status::Complete((view, m)))) if n == m => (msg, view),
        (Ok(Status::Incomplete(a)), Ok(Status::Incomplete(b))) if a == b => return,
        (Err(a), Err(b)) if a == b => return,
        (a, b) => panic!("parse: {a:?}\nparse_ref: {b:?}"),
    };
    assert_eq!(view.to_message(), msg);
    let listed: Vec<(&str, &str)> = msg
        .headers
        .iter()
        .map(|h| (h.name.as_ref(), h.value.as_ref()))
        .collect();
    assert_eq!(view.headers().collect::<Vec<_>>(), listed);
    for (name, _) in &listed {
        assert_eq!(view.header(name), msg.header(name), "{name:?}");
    }
    let Some(loose) = msg.auth_with(&lenient) else {
        return;
    };
    if let Some(Ok(strict)) = msg.auth() {
        assert_eq!(loose.as_ref(), Ok(&strict));
    }
    if let Ok(auth) = loose {
        let text = auth.to_string();
        assert_eq!(
            Auth::parse_with(&text, &lenient).as_ref(),
            Ok(&auth),
            "{text:?}"
        );
    }
});
