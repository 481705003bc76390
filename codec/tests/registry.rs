//! The protocol registry `imspec_codec::CODECS` is complete and alone: every codec has its
//! corpus folders, its fuzz dictionary and its fuzz targets (which `fuzz/targets.sh` seeds
//! from its corpus, with its dictionary), every codec fuzz target belongs to one codec, and no
//! other file of the codec layer enumerates the codec protocols (CONTRIBUTING.md, "A sixth
//! protocol").

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use imspec_codec::CODECS;
use imspec_codec::registry::{Framing, Options, by_name};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| Path::new(".."))
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn registry_names_are_unique_and_found_by_name() {
    let mut names = BTreeSet::new();
    for codec in CODECS {
        assert!(
            names.insert(codec.name()),
            "{} twice in CODECS",
            codec.name()
        );
        assert!(
            codec
                .name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{}: a codec name is lower-case letters and digits (folder, file and target prefix)",
            codec.name()
        );
        let found = by_name(codec.name()).map(|c| c.name());
        assert_eq!(found, Some(codec.name()));
        assert!(!codec.about().is_empty(), "{}: about", codec.name());
    }
    assert!(by_name("xmpp").is_none());
}

#[test]
fn registry_every_codec_has_corpus_folders_and_a_dictionary() {
    let root = root();
    for codec in CODECS {
        let dir = root.join("corpus").join(codec.name());
        for folder in ["valid", "lenient", "invalid", "regressions"] {
            assert!(
                dir.join(folder).is_dir(),
                "corpus/{}/{folder}/ is missing",
                codec.name()
            );
        }
        assert!(
            dir.join("invalid.tsv").is_file(),
            "corpus/{}/invalid.tsv is missing",
            codec.name()
        );
        assert!(
            dir.join("SOURCES.md").is_file(),
            "corpus/{}/SOURCES.md (where each file comes from) is missing",
            codec.name()
        );
        let dict = root
            .join("fuzz/dict")
            .join(format!("{}.dict", codec.dictionary()));
        assert!(dict.is_file(), "{} is missing", dict.display());
    }
}

#[test]
fn registry_every_codec_has_its_fuzz_targets_seeded_from_its_corpus() {
    let root = root();
    let manifest = read(&root.join("fuzz/Cargo.toml"));
    for codec in CODECS {
        assert!(
            !codec.fuzz_targets().is_empty(),
            "{}: no fuzz target",
            codec.name()
        );
        for target in codec.fuzz_targets() {
            assert!(
                root.join("fuzz/fuzz_targets")
                    .join(format!("{target}.rs"))
                    .is_file(),
                "fuzz/fuzz_targets/{target}.rs is missing ({})",
                codec.name()
            );
            assert!(
                manifest.contains(&format!("name = \"{target}\"")),
                "fuzz/Cargo.toml has no [[bin]] {target}"
            );
            // The scripts that run the targets find seeds and dictionary by target name.
            let shell = |function: &str| {
                let out = Command::new("bash")
                    .arg("-c")
                    .arg(format!(". fuzz/targets.sh && {function} {target}"))
                    .current_dir(&root)
                    .output()
                    .unwrap_or_else(|e| panic!("bash: {e}"));
                assert!(out.status.success(), "{function} {target}");
                String::from_utf8_lossy(&out.stdout).into_owned()
            };
            let seeds = shell("fuzz_seeds");
            assert!(
                seeds
                    .lines()
                    .any(|l| l == format!("corpus/{}/valid", codec.name())),
                "fuzz/targets.sh seeds {target} from {seeds:?}, not corpus/{}/valid",
                codec.name()
            );
            assert_eq!(
                shell("fuzz_dict").trim(),
                format!("fuzz/dict/{}.dict", codec.dictionary()),
                "fuzz/targets.sh's dictionary of {target}"
            );
        }
    }
}

/// Every fuzz target file belongs to exactly one codec, or is one of the targets of the other
/// layers: `stream_*` (every stream codec), `scenario_*` (the harness), `server_*` (a hub).
#[test]
fn registry_every_codec_fuzz_target_belongs_to_one_codec() {
    let dir = root().join("fuzz/fuzz_targets");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let Some(target) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        if ["stream_", "scenario_", "server_"]
            .iter()
            .any(|p| target.starts_with(p))
        {
            continue;
        }
        let owners: Vec<_> = CODECS
            .iter()
            .filter(|c| c.fuzz_targets().contains(&target.as_str()))
            .map(|c| c.name())
            .collect();
        assert_eq!(
            owners.len(),
            1,
            "fuzz target {target} belongs to {owners:?}: list it in one codec's fuzz_targets()"
        );
    }
}

/// Every codec decodes its first valid corpus file through the registry (what `imspec
/// decode` runs), in its framing.
#[test]
fn registry_decode_reads_a_valid_file_of_every_codec() {
    for codec in CODECS {
        let dir = root().join("corpus").join(codec.name()).join("valid");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        let file = &files[0];
        let input = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let options = Options {
            lenient: false,
            text: file.extension().is_some_and(|e| e == "b64"),
        };
        let decoded = codec.decode(&input, &options);
        assert_eq!(
            decoded.end,
            imspec_codec::registry::End::Clean,
            "{}",
            file.display()
        );
        assert!(!decoded.frames.is_empty(), "{}", file.display());
        if codec.framing() != Framing::Stream {
            assert_eq!(decoded.frames.len(), 1, "{}", file.display());
        }
    }
}

/// `CODECS` is the only place the codec layer names its protocols: no other file of the
/// codec crate (sources and tests), of the fuzz crate's shared code and targets, or of the
/// CLI's `main.rs` (`imspec decode`) holds two or more codec names as string literals. Each
/// codec's own `codec.rs` (its entry: name, dictionary, targets) is exempt. Benchmarks are
/// not in scope: they measure chosen protocols' typed API, and a new protocol needs none.
#[test]
fn registry_is_the_only_enumeration_of_codec_protocols() {
    let root = root();
    let literals: Vec<String> = CODECS.iter().map(|c| format!("\"{}\"", c.name())).collect();
    let mut files = Vec::new();
    for dir in ["codec/src", "codec/tests", "fuzz/src", "fuzz/fuzz_targets"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.push(root.join("cli/src/main.rs"));
    assert!(files.len() > 20, "the scan found only {files:?}");
    let mut offenders = Vec::new();
    for file in &files {
        let exempt = file.ends_with("registry.rs")
            || file.file_name().is_some_and(|n| n == "codec.rs")
            || file.ends_with("codec/tests/registry.rs");
        if exempt {
            continue;
        }
        let text = read(file);
        let named: Vec<&str> = literals
            .iter()
            .filter(|l| text.contains(l.as_str()))
            .map(String::as_str)
            .collect();
        if named.len() >= 2 {
            offenders.push(format!("{}: {}", file.display(), named.join(", ")));
        }
    }
    assert!(
        offenders.is_empty(),
        "these files enumerate codec protocols; iterate imspec_codec::CODECS instead:\n{}",
        offenders.join("\n")
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
