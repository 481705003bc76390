//! Corpus snapshot tests: for every codec of `imspec_codec::CODECS`, one glob over each
//! folder of `corpus/<name>/`; what each folder's files must satisfy, and what is
//! snapshotted, is the codec's `testing::corpus::Corpus` (its module says it):
//!
//! * `valid/*`: the laws hold and the decoded frames are snapshotted;
//! * `lenient/*`: refused by default, accepted leniently, snapshotted;
//! * `invalid/*`: refused with the kind and absolute offset that `corpus/<name>/invalid.tsv`
//!   records (a file without a row, or a row without a file, is a failure); `kind @ offset`
//!   and a caret line are snapshotted;
//! * `regressions/*`: decoding does not panic and the laws hold; no snapshot.
//!
//! A codec added to `CODECS` is tested here without a change to this file.
//!
//! Snapshots, `<name>_<folder>@<file>.snap`, live in the workspace's top-level
//! `snapshots/codec/` (the design card), not in insta's default `codec/tests/snapshots/`:
//! every test goes through [`snapshot_settings`]. cargo-insta (1.49) looks for pending
//! `.snap.new` files only under package roots, so `cargo insta test --accept` and
//! `cargo insta review` leave them pending there. Write snapshots directly instead and
//! review them with `git diff snapshots/`:
//! `cargo insta test -p imspec-codec --force-update-snapshots -- corpus` or
//! `INSTA_UPDATE=always cargo test -p imspec-codec --test tests corpus`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imspec_codec::testing::corpus::{Corpus, kind_at, kind_name};
use imspec_codec::{CODECS, Codec};

#[test]
fn corpus_valid() {
    for codec in CODECS {
        glob_corpus(*codec, "valid", |file, input| {
            let snapshot = codec
                .corpus()
                .valid(file, input)
                .unwrap_or_else(|e| panic!("{}/valid/{file}: {e}", codec.name()));
            assert_snapshot(&format!("{}_valid", codec.name()), snapshot);
        });
    }
}

#[test]
fn corpus_lenient() {
    for codec in CODECS {
        glob_corpus(*codec, "lenient", |file, input| {
            let snapshot = codec
                .corpus()
                .lenient(file, input)
                .unwrap_or_else(|e| panic!("{}/lenient/{file}: {e}", codec.name()));
            assert_snapshot(&format!("{}_lenient", codec.name()), snapshot);
        });
    }
}

#[test]
fn corpus_invalid() {
    // Every file is checked and snapshotted before the mismatches are reported together.
    let mut mismatches = Vec::new();
    for codec in CODECS {
        let proto = codec.name();
        let manifest = manifest(proto);
        invalid_files_match_manifest(proto, &manifest);
        glob_corpus(*codec, "invalid", |name, input| {
            let (kind, offset) = &manifest[name];
            let refusal = match codec.corpus().invalid(name, input) {
                Ok(r) => r,
                Err(e) => {
                    mismatches.push(format!(
                        "{proto}/invalid/{name}: {e}; invalid.tsv says {kind} @ {offset}"
                    ));
                    return;
                }
            };
            let got = kind_name(refusal.error.kind());
            if (got.as_str(), refusal.error.offset()) != (kind.as_str(), *offset) {
                mismatches.push(format!(
                    "{proto}/invalid/{name}: decoder reports {}, invalid.tsv says {kind} @ {offset}",
                    kind_at(refusal.error)
                ));
            }
            insta::assert_snapshot!(format!("{proto}_invalid"), refusal.report);
        });
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn corpus_regressions() {
    for codec in CODECS {
        glob_corpus(*codec, "regressions", |file, input| {
            codec
                .corpus()
                .regression(file, input)
                .unwrap_or_else(|e| panic!("{}/regressions/{file}: {e}", codec.name()));
        });
    }
}

fn assert_snapshot(name: &str, snapshot: imspec_codec::testing::corpus::Snapshot<'_>) {
    if snapshot.json {
        insta::assert_json_snapshot!(name, snapshot.value);
    } else {
        insta::assert_yaml_snapshot!(name, snapshot.value);
    }
}

// ---------------------------------------------------------------------------------------
// Shared machinery

/// The insta settings every corpus test uses: snapshots go to the workspace's top-level
/// `snapshots/codec/`. insta resolves a relative snapshot path against the test file, so the
/// path is made absolute from this crate's manifest directory.
fn snapshot_settings() -> insta::Settings {
    let codec_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = codec_dir.parent().unwrap_or(codec_dir);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace.join("snapshots").join("codec"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// Runs `check(file name, bytes)` on every file of `corpus/<codec>/<folder>/*` (dot files
/// skipped) with the snapshot settings, the codec's description of the file as the
/// snapshot's description.
fn glob_corpus(codec: &dyn Codec, folder: &str, mut check: impl FnMut(&str, &[u8])) {
    let corpus = codec.corpus();
    snapshot_settings().bind(|| {
        insta::glob!(
            "../..",
            &format!("corpus/{}/{folder}/*", codec.name()),
            |path| {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if name.starts_with('.') {
                    return;
                }
                let input =
                    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let mut settings = insta::Settings::clone_current();
                settings.set_description(Corpus::describe(corpus, &name, &input));
                settings.bind(|| check(&name, &input));
            }
        );
    });
}

/// Every file of `corpus/<proto>/invalid/` has a row in `invalid.tsv`, and every row a file.
fn invalid_files_match_manifest(proto: &str, manifest: &BTreeMap<String, (String, usize)>) {
    let files: Vec<String> = std::fs::read_dir(corpus_dir().join(proto).join("invalid"))
        .unwrap_or_else(|e| panic!("corpus/{proto}/invalid: {e}"))
        .filter_map(|entry| {
            entry
                .ok()
                .map(|e| e.file_name().to_string_lossy().into_owned())
        })
        .filter(|name| !name.starts_with('.'))
        .collect();
    for name in &files {
        assert!(
            manifest.contains_key(name),
            "corpus/{proto}/invalid/{name} has no row in invalid.tsv"
        );
    }
    for name in manifest.keys() {
        assert!(
            files.contains(name),
            "invalid.tsv names {name}, which is not in corpus/{proto}/invalid/"
        );
    }
}

/// `corpus/<proto>/invalid.tsv`: file → (kind, offset).
fn manifest(proto: &str) -> BTreeMap<String, (String, usize)> {
    let path = corpus_dir().join(proto).join("invalid.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut cols = line.split('\t');
        let (Some(file), Some(kind), Some(offset), Some(_why)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            panic!(
                "{}:{}: expected file, kind, offset, why",
                path.display(),
                i + 1
            );
        };
        let offset = offset
            .parse()
            .unwrap_or_else(|e| panic!("{}:{}: offset {offset:?}: {e}", path.display(), i + 1));
        assert!(
            rows.insert(file.to_owned(), (kind.to_owned(), offset))
                .is_none(),
            "{}: {file} appears twice",
            path.display()
        );
    }
    rows
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("corpus")
}
