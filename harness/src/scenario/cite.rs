//! Checks a rule's `source:` against the repository: every rule must cite something a reader
//! can open.
//!
//! ```text
//! source    = citation *( ";" citation )          ; ";" inside (…) or "…" does not split
//! citation  = reference [ SP remark ]
//! reference = path [ SP sections ]                ; a file of the repository, e.g. docs/protocols/fetion.md
//!           / "seed" SP 3DIGIT                    ; a seed listed in docs/protocols/README.md
//!           / "RFC" SP 1*DIGIT [ SP sections ]
//! sections  = section *( "," SP section )
//! section   = "§" number [ "-" number ]           ; number = 1*DIGIT *( "." 1*DIGIT )
//! remark    = any text (a quotation, a parenthesised note, a section title of a seed)
//! ```
//!
//! A path is any first word that contains `/` or `.`; it must name a file under the
//! repository root. A section cited in a Markdown file must be one of its headings
//! (`## §3.2 Title`). RFC sections are checked for their form only.

use std::collections::BTreeSet;
use std::path::Path;

/// Where the seeds are listed (`seed NNN` in a heading or table row of this file).
pub const SEED_INDEX: &str = "docs/protocols/README.md";

/// Checks one `source:` value; `root` is the repository root. The error says which citation
/// is wrong and why.
pub fn check(source: &str, root: &Path) -> Result<(), String> {
    let citations = split(source);
    if citations.iter().all(|c| c.trim().is_empty()) {
        return Err("empty source: cite a repository file, a seed or an RFC".into());
    }
    for c in citations {
        check_citation(c.trim(), root).map_err(|e| format!("`{}`: {e}", c.trim()))?;
    }
    Ok(())
}

/// The `§` numbers a Markdown file defines as headings (`# §1 …`, `### §2.3 …`).
pub fn sections_of(markdown: &str) -> BTreeSet<String> {
    markdown
        .lines()
        .filter_map(|l| {
            let t = l.trim_start_matches('#');
            if t.len() == l.len() {
                return None;
            }
            let t = t.trim_start().strip_prefix('§')?;
            let n: String = t
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let n = n.trim_end_matches('.');
            (!n.is_empty()).then(|| n.to_owned())
        })
        .collect()
}

fn check_citation(c: &str, root: &Path) -> Result<(), String> {
    let (first, rest) = c.split_once(' ').unwrap_or((c, ""));
    match first {
        "" => Err("empty citation".into()),
        "RFC" => {
            let (number, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                return Err("expected `RFC <number>`".into());
            }
            sections(rest)?;
            Ok(())
        }
        "seed" => {
            let number = rest.split(' ').next().unwrap_or("");
            if number.len() != 3 || !number.bytes().all(|b| b.is_ascii_digit()) {
                return Err("expected `seed NNN` (three digits)".into());
            }
            let index = std::fs::read_to_string(root.join(SEED_INDEX))
                .map_err(|e| format!("cannot read {SEED_INDEX}: {e}"))?;
            if !index.contains(&format!("seed {number}")) {
                return Err(format!("seed {number} is not listed in {SEED_INDEX}"));
            }
            Ok(())
        }
        path if path.contains('/') || path.contains('.') => {
            let path = path.trim_end_matches([',', ':']);
            if path.starts_with('/') || path.split('/').any(|p| p == "..") {
                return Err("a repository path is relative and stays inside the repository".into());
            }
            let file = root.join(path);
            if !file.is_file() {
                return Err(format!("{path} does not exist in the repository"));
            }
            let cited = sections(rest)?;
            if cited.is_empty() {
                return Ok(());
            }
            if !path.ends_with(".md") {
                return Err(format!("{path} is not Markdown: it has no § sections"));
            }
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("cannot read {path}: {e}"))?;
            let have = sections_of(&text);
            for s in cited {
                for end in s.split('-') {
                    if !have.contains(end) {
                        return Err(format!("{path} has no section §{end}"));
                    }
                }
            }
            Ok(())
        }
        _ => Err(
            "cite a repository file (docs/protocols/fetion.md §3.2), a seed (seed 004) or an \
             RFC (RFC 3261 §8.2.6.2)"
                .into(),
        ),
    }
}

/// The leading `§a, §b-c` list of `rest` (empty when `rest` does not start with `§`).
fn sections(rest: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut s = rest;
    while let Some(after) = s.strip_prefix('§') {
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(after.len());
        let number = after[..end].trim_end_matches('.');
        let well_formed = !number.is_empty()
            && number.split('-').all(|n| {
                !n.is_empty()
                    && n.split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            });
        if !well_formed {
            return Err(format!("bad section number `§{}`", &after[..end]));
        }
        out.push(number);
        match after[end..].strip_prefix(", ") {
            Some(next) if next.starts_with('§') => s = next,
            _ => break,
        }
    }
    Ok(out)
}

/// Splits at `;` outside parentheses and double quotes.
fn split(source: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0);
    for (i, c) in source.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ';' if !quoted && depth == 0 => {
                out.push(&source[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&source[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docs/protocols")).unwrap();
        std::fs::write(
            dir.path().join("docs/protocols/README.md"),
            "# Protocols\n\n| seed 004 | Fetion chat |\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("docs/protocols/fetion.md"),
            "# Fetion\n\n## §1 Scope\n\n### §3.2 Methods\n\n#### §3.2.1. Detail\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        dir
    }

    #[test]
    fn good_citations_pass() {
        let r = root();
        for s in [
            "docs/protocols/fetion.md §3.2; seed 004",
            "docs/protocols/fetion.md §1, §3.2.1 (remark; with a semicolon); RFC 3261 §8.2.6.2",
            "seed 004 \"Handling Conflicts\"; RFC 3265 §3.1.4.3, §3.2.4",
            "RFC 3903 §4-6",
            "docs/protocols/fetion.md §1-3.2",
            "notes.txt (a file without sections)",
        ] {
            assert_eq!(check(s, r.path()), Ok(()), "{s}");
        }
    }

    #[test]
    fn bad_citations_fail() {
        let r = root();
        for (s, why) in [
            ("PROTOCOLS.md §3.7 (1)", "PROTOCOLS.md does not exist"),
            (
                "docs/protocols/sip.md §1",
                "docs/protocols/sip.md does not exist",
            ),
            ("docs/protocols/fetion.md §9", "has no section §9"),
            ("docs/protocols/fetion.md §1, §4.1", "has no section §4.1"),
            ("docs/protocols/fetion.md §x", "bad section number"),
            ("seed 002", "seed 002 is not listed"),
            ("seed 4", "three digits"),
            ("issue 4 (bad input)", "cite a repository file"),
            (
                "docs/protocols/fetion.md §1; MIR, JSK",
                "cite a repository file",
            ),
            ("RFC three", "expected `RFC <number>`"),
            ("/etc/passwd", "relative"),
            ("notes.txt §1", "not Markdown"),
            ("", "empty source"),
        ] {
            let e = check(s, r.path()).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn headings_define_sections() {
        let s = sections_of("## §2 A\ntext §9\n### §2.10. B\n#no\n# §x\n");
        assert_eq!(s.into_iter().collect::<Vec<_>>(), ["2", "2.10"]);
    }
}
