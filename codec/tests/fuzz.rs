//! Crash files of the codec-side fuzz targets whose input is not a plain frame, replayed as
//! the target reads them (`*_parse` files are ordinary streams: the corpus test replays them).

use std::path::{Path, PathBuf};

use imspec_codec::testing;

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

fn replay(file: &str) {
    let path = regressions().join(file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    testing::stream_chunking(&data, true).unwrap_or_else(|e| panic!("{file}: {e}"));
}

// Why: a bare LF was reported before an earlier bare CR once both had arrived, so the stream
// `\r w \xff \xff \n` ended in `Utf8@2` whole and `BadLineEnding@0` when cut after `\r w`.
#[test]
fn fuzz_stream_chunking_8f7ec0df() {
    replay("fetion/regressions/stream_chunking-8f7ec0df");
}

// Why: a header line over the line limit was judged only once its end arrived, so 3,884
// bytes ended in `BadLineEnding@3455` whole and `LimitExceeded@1024` when cut.
#[test]
fn fuzz_stream_chunking_ff6616f6() {
    replay("msnp/regressions/stream_chunking-ff6616f6");
}

/// Every `stream_chunking-*` file under `corpus/*/regressions/` replays cleanly.
#[test]
fn fuzz_stream_chunking_regressions_replay() {
    let mut replayed = 0;
    for proto in std::fs::read_dir(regressions()).unwrap() {
        let Ok(files) = std::fs::read_dir(proto.unwrap().path().join("regressions")) else {
            continue;
        };
        for f in files {
            let path = f.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("stream_chunking-") {
                let data = std::fs::read(&path).unwrap();
                testing::stream_chunking(&data, true).unwrap_or_else(|e| panic!("{name}: {e}"));
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 1, "no stream_chunking regression found");
}
