//! Crash files of the codec-side fuzz targets whose input is not a plain frame, replayed as
//! the target reads them (`*_parse` files are ordinary streams: the corpus test replays them).

use std::path::{Path, PathBuf};

use imspec_codec::testing::{self, Msnp, Msrp, Sip, Sipc};

/// The `stream_chunking` target's body: byte `n`, then `n % 8` little-endian `u16` cut points
/// (as many as the input holds), then the stream; every framer must decode the stream the
/// same whole and cut. Mirrors `fuzz/fuzz_targets/stream_chunking.rs`.
fn stream_chunking(data: &[u8]) -> Result<(), String> {
    let Some((&n, rest)) = data.split_first() else {
        return Ok(());
    };
    let n = usize::from(n % 8).min(rest.len() / 2);
    let (cut_bytes, stream) = rest.split_at(n * 2);
    let cuts: Vec<usize> = cut_bytes
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
        .collect();
    for check in [
        testing::chunking::<Sipc>,
        testing::chunking::<Msnp>,
        testing::chunking::<Sip>,
        testing::chunking::<Msrp>,
    ] {
        check(stream, &cuts)?;
    }
    // The target samples cut points; here every chunking must agree too.
    let every: Vec<usize> = (1..stream.len()).collect();
    for check in [
        testing::chunking::<Sipc>,
        testing::chunking::<Msnp>,
        testing::chunking::<Sip>,
        testing::chunking::<Msrp>,
    ] {
        check(stream, &every)?;
    }
    Ok(())
}

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

fn replay(file: &str) {
    let path = regressions().join(file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    stream_chunking(&data).unwrap_or_else(|e| panic!("{file}: {e}"));
}

// Why: a bare LF was reported before an earlier bare CR once both had arrived, so the stream
// `\r w \xff \xff \n` ended in `Utf8@2` whole and `BadLineEnding@0` when cut after `\r w`.
#[test]
fn fuzz_stream_chunking_8f7ec0df() {
    replay("fetion/regressions/stream_chunking-8f7ec0df");
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
                stream_chunking(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 1, "no stream_chunking regression found");
}
