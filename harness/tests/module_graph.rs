//! The harness's module graph has no circle (issue 13, item 4): neither between its top-level
//! modules (`scenario`, `proto`, `transport`, `runner`, `report`, …) nor between the files of
//! the crate. An edge is a path a file names outside comments, string literals and its
//! `#[cfg(test)]` items: `crate::a::b`, `super::x`, and the relative `use child::…` of a parent
//! module. `pub mod x;` declarations are not edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file of the crate by its module path (`["runner", "actor"]`; `[]` is `lib.rs`).
type ModPath = Vec<String>;

#[test]
fn the_harness_has_no_import_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = modules(&src);
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let code = without_tests(&code_only(&text));
        for target in references(&code, module, path, &files) {
            if target != *module && !target.is_empty() {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    assert!(
        edges.values().map(BTreeSet::len).sum::<usize>() > 40,
        "the scan found too few edges to mean anything: {edges:?}"
    );
    if let Some(cycle) = find_cycle(&edges) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} uses {}", show(&w[..1]), show(&w[1..])))
            .collect();
        panic!(
            "files import each other in a circle: {} ({})",
            show(&cycle),
            steps.join("; ")
        );
    }
    let mut top: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (from, tos) in &edges {
        // `lib.rs` (the empty path) only declares and re-exports: it is no top-level module.
        let Some(from) = from.first() else {
            continue;
        };
        for to in tos {
            if *from != to[0] {
                top.entry(vec![from.clone()])
                    .or_default()
                    .insert(vec![to[0].clone()]);
            }
        }
    }
    if let Some(cycle) = find_cycle(&top) {
        panic!(
            "top-level modules import each other in a circle: {}",
            show(&cycle)
        );
    }
}

#[test]
fn the_scan_sees_a_circle_when_there_is_one() {
    let a = vec!["a".to_owned()];
    let b = vec!["b".to_owned()];
    let c = vec!["c".to_owned()];
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    edges.entry(a.clone()).or_default().insert(b.clone());
    edges.entry(b.clone()).or_default().insert(c.clone());
    assert_eq!(find_cycle(&edges), None);
    edges.entry(c.clone()).or_default().insert(a.clone());
    assert!(find_cycle(&edges).is_some());
    let files: BTreeMap<ModPath, PathBuf> = [
        (vec![], PathBuf::from("lib.rs")),
        (vec!["p".into()], PathBuf::from("p/mod.rs")),
        (vec!["p".into(), "x".into()], PathBuf::from("p/x.rs")),
        (vec!["q".into()], PathBuf::from("q.rs")),
    ]
    .into();
    let code = code_only(
        "//! crate::q in a doc\nuse super::{Frame, x::Y};\npub(in crate::p) fn f() {}\npub(super) fn g() { crate::q::g(\"crate::p\"); }\n#[cfg(test)]\nmod tests { use crate::p::x::Z; }\n",
    );
    let found = references(
        &without_tests(&code),
        &vec!["p".into(), "x".into()],
        Path::new("p/x.rs"),
        &files,
    );
    assert_eq!(
        found,
        BTreeSet::from([
            vec!["p".into()],
            vec!["p".into(), "x".into()],
            vec!["q".into()]
        ])
    );
}

/// Every `.rs` file under `src` by its module path.
fn modules(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let mut module: ModPath = rel
                .parent()
                .into_iter()
                .flat_map(|p| p.components())
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if stem != "mod" && stem != "lib" {
                module.push(stem);
            }
            out.insert(module, path);
        }
    }
    out
}

/// The text with comments removed and string and char literals emptied.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            i = end;
        } else if b[i] == b'r' && matches!(b.get(i + 1), Some(b'"' | b'#')) && is_start(b, i) {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let from = i + 2 + hashes;
            i = text[from..]
                .find(&close)
                .map_or(b.len(), |e| from + e + close.len());
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && (b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\')) {
            // A char literal (`'{'`, `'\n'`, `'\u{1F600}'`); a lifetime has no closing quote.
            let end = text[i + 1..].find('\'').map_or(b.len(), |e| i + 1 + e + 1);
            i = end;
            out.push_str("' '");
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_start(b: &[u8], i: usize) -> bool {
    i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// The code without its `#[cfg(test)]` items (the item after the attribute, to its `;` or its
/// matching `}`).
fn without_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let open = after.find('{');
        let semi = after.find(';');
        let end = match (open, semi) {
            (Some(o), Some(s)) if s < o => s + 1,
            (Some(o), _) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (j, c) in after[o..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + j + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, Some(s)) => s + 1,
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The files that `code` (of the file `module`) names.
fn references(
    code: &str,
    module: &ModPath,
    path: &Path,
    files: &BTreeMap<ModPath, PathBuf>,
) -> BTreeSet<ModPath> {
    let is_mod_rs = path
        .file_name()
        .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
    // The module that `super` names, and the one relative `use` paths start from.
    let own: ModPath = module.clone();
    let parent: ModPath = own[..own.len().saturating_sub(1)].to_vec();
    let children: BTreeSet<String> = files
        .keys()
        .filter(|k| k.len() == own.len() + 1 && k.starts_with(&own))
        .map(|k| k[own.len()].clone())
        .collect();
    let mut found = BTreeSet::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !is_start(b, i) || !(b[i].is_ascii_alphabetic() || b[i] == b'_') {
            i += 1;
            continue;
        }
        let word_end = i + b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        let word = &code[i..word_end];
        // `pub(super)`, `pub(in crate::a)` name where an item is visible, not what it uses.
        let before = code[..i].trim_end();
        let visibility = before.ends_with("pub(") || before.ends_with("(in");
        let base: Option<ModPath> = match word {
            _ if visibility => None,
            "crate" => Some(Vec::new()),
            "super" => Some(parent.clone()),
            "self" => Some(own.clone()),
            w if is_mod_rs && children.contains(w) && preceded_by_use(code, i) => Some(own.clone()),
            _ => None,
        };
        match base {
            Some(base) if word == "crate" || word == "super" || word == "self" => {
                let (paths, end) = use_tree(code, word_end);
                for p in paths {
                    let mut full = base.clone();
                    full.extend(p);
                    found.insert(resolve(&full, files));
                }
                i = end.max(word_end);
            }
            Some(base) => {
                let (paths, end) = use_tree(code, word_end);
                for p in paths {
                    let mut full = base.clone();
                    full.push(word.to_owned());
                    full.extend(p);
                    found.insert(resolve(&full, files));
                }
                i = end.max(word_end);
            }
            None => i = word_end,
        }
    }
    found
}

fn preceded_by_use(code: &str, i: usize) -> bool {
    let before = code[..i].trim_end();
    before.ends_with("use") && is_start(before.as_bytes(), before.len() - 3)
}

/// The paths of a use tree that follows a path root at `at` (`::a::b`, `::{a, b::{c, d}}`),
/// and where it ends. A root alone gives one empty path.
fn use_tree(code: &str, at: usize) -> (Vec<ModPath>, usize) {
    let b = code.as_bytes();
    let skip_ws = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        j
    };
    let mut j = at;
    let mut prefix: ModPath = Vec::new();
    loop {
        let k = skip_ws(j);
        if !code[k..].starts_with("::") {
            return (vec![prefix], j);
        }
        let k = skip_ws(k + 2);
        if b.get(k) == Some(&b'{') {
            let mut out = Vec::new();
            let mut m = k + 1;
            loop {
                m = skip_ws(m);
                match b.get(m) {
                    None => return (out, m),
                    Some(b'}') => return (out, m + 1),
                    Some(b',') => m += 1,
                    Some(c) if c.is_ascii_alphabetic() || *c == b'_' || *c == b'*' => {
                        let e = m + b[m..]
                            .iter()
                            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'*')
                            .count();
                        let head = code[m..e].to_owned();
                        let (subs, end) = use_tree(code, e);
                        for s in subs {
                            let mut p = prefix.clone();
                            if head != "self" && head != "*" {
                                p.push(head.clone());
                            }
                            p.extend(s);
                            out.push(p);
                        }
                        // `as name` and anything else up to the next `,` or `}`.
                        m = end;
                        while m < b.len() && b[m] != b',' && b[m] != b'}' {
                            m += 1;
                        }
                    }
                    Some(_) => m += 1,
                }
            }
        }
        let e = k + b[k..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        if e == k {
            return (vec![prefix], k);
        }
        prefix.push(code[k..e].to_owned());
        j = e;
    }
}

/// The file that defines what `path` names: its longest prefix that is a file of the crate.
fn resolve(path: &ModPath, files: &BTreeMap<ModPath, PathBuf>) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| files.contains_key(p))
        .unwrap_or_default()
}

/// A circle in `edges`, as the list of its nodes (the first repeated at the end).
fn find_cycle(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        n: &ModPath,
        edges: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        marks: &mut BTreeMap<ModPath, Mark>,
        stack: &mut Vec<ModPath>,
    ) -> Option<Vec<ModPath>> {
        match marks.get(n) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(n.clone());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(n.clone(), Mark::Open);
        stack.push(n.clone());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, marks, stack) {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(n.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in edges.keys() {
        if let Some(c) = visit(n, edges, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

fn show(cycle: &[ModPath]) -> String {
    cycle
        .iter()
        .map(|m| {
            if m.is_empty() {
                "lib".to_owned()
            } else {
                m.join("::")
            }
        })
        .collect::<Vec<_>>()
        .join(" -> ")
}
