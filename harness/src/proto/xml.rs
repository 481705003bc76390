//! XML path selection for `xml:` checks and captures (scenarios/README.md §3.4).
//!
//! A path is slash-separated element names from the root, `*` for any name, `[*]` after a
//! name accepted as a no-op, and an optional final `@attribute`. The values are the text of
//! every match (unescaped; markup inside a matched element is kept verbatim) in document order.

use imspec_codec::xml::{Element, Reader};

const MAX_DEPTH: usize = 64;

/// The values `path` selects in `doc`, or a message with the byte offset of bad XML.
pub fn select(doc: &str, path: &str) -> Result<Vec<String>, String> {
    let segs: Vec<&str> = path
        .split('/')
        .map(|s| s.strip_suffix("[*]").unwrap_or(s))
        .collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(format!("xml path `{path}` has an empty step"));
    }
    if let Some(pos) = segs.iter().position(|s| s.starts_with('@'))
        && pos + 1 != segs.len()
    {
        return Err(format!(
            "xml path `{path}`: `@attribute` may only come last"
        ));
    }
    let mut r = Reader::new(doc, MAX_DEPTH);
    let mut out = Vec::new();
    let root = r.root().map_err(|e| format!("body is not XML: {e}"))?;
    let (first, rest) = segs.split_first().ok_or("empty xml path")?;
    if matches(first, root.name()) {
        walk(&mut r, &root, rest, &mut out)
            .map_err(|e| format!("body is not well-formed XML: {e}"))?;
    }
    Ok(out)
}

fn matches(seg: &str, name: &str) -> bool {
    seg == "*" || seg == name
}

fn walk<'a>(
    r: &mut Reader<'a>,
    el: &Element<'a>,
    rest: &[&str],
    out: &mut Vec<String>,
) -> Result<(), imspec_codec::Error> {
    match rest.split_first() {
        None => {
            out.push(r.text_or_markup(el, true)?.into_owned());
            Ok(())
        }
        Some((attr, [])) if attr.starts_with('@') => {
            if let Some(v) = el.attribute(attr.trim_start_matches('@'))? {
                out.push(v.into_owned());
            }
            r.skip(el)
        }
        Some((seg, tail)) => {
            while let Some(child) = r.next_element(el)? {
                if matches(seg, child.name()) {
                    walk(r, &child, tail, out)?;
                } else {
                    r.skip(&child)?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::select;

    #[test]
    fn selects_text_attributes_and_counts() {
        let doc =
            "<r><c><m><id>3</id></m><m><id>2</id></m></c><c><m><id>1</id></m></c><h>False</h></r>";
        assert_eq!(select(doc, "r/c/m/id").unwrap(), ["3", "2", "1"]);
        assert_eq!(select(doc, "r/c[*]/m").unwrap().len(), 3);
        assert_eq!(select(doc, "r/*/m/id").unwrap().len(), 3);
        assert_eq!(select(doc, "r/h").unwrap(), ["False"]);
        assert!(select(doc, "x/h").unwrap().is_empty());
        let ev = r#"<events><event type="UserEntered"><member uri="sip:1@f"/></event></events>"#;
        assert_eq!(select(ev, "events/event/@type").unwrap(), ["UserEntered"]);
        assert_eq!(select(ev, "events/event/member/@uri").unwrap(), ["sip:1@f"]);
    }

    #[test]
    fn bad_xml_reports_an_offset() {
        let e = select("<r><a>1</b></r>", "r/a").unwrap_err();
        assert!(e.contains("byte"), "{e}");
    }
}
