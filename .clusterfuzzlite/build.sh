#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ into $OUT, with `<target>_seed_corpus.zip` (the
# curated corpus/ and scenarios/ files that fuzz/targets.sh names) and `<target>.dict`.
#
# ClusterFuzzLite and OSS-Fuzz run it in their builder image with $SRC and $OUT set. By hand,
# without Docker (nightly Rust and cargo-fuzz installed):
#   SRC=/tmp/src OUT=/tmp/out bash .clusterfuzzlite/build.sh   # from the repository root
# With $SRC/imspec absent, the repository this script lives in is built.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
project=${SRC:?}/imspec
if [ ! -f "$project/fuzz/Cargo.toml" ]; then project=$here; fi
mkdir -p "${OUT:?}"
cd "$project"
# shellcheck source=../fuzz/targets.sh
. fuzz/targets.sh

# The builder image's cargo is nightly; elsewhere ask rustup for nightly (sanitizers need it).
if ! cargo --version | grep -q nightly && command -v rustup >/dev/null; then
  export RUSTUP_TOOLCHAIN=nightly
fi
(cd fuzz && cargo fuzz build -O)
bin=fuzz/target/x86_64-unknown-linux-gnu/release
for t in $(cd fuzz && cargo fuzz list); do
  cp "$bin/$t" "$OUT/$t"
  seeds=$(fuzz_seeds "$t")
  if [ -n "$seeds" ]; then
    # One flat folder, each file named after its path (fragments/login.yaml exists twice).
    flat=$(mktemp -d)
    # shellcheck disable=SC2086
    find $seeds -type f ! -name '.*' | while read -r f; do cp "$f" "$flat/${f//\//_}"; done
    rm -f "$OUT/${t}_seed_corpus.zip"
    (cd "$flat" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
    rm -rf "$flat"
  fi
  dict=$(fuzz_dict "$t")
  if [ -n "$dict" ]; then cp "$dict" "$OUT/$t.dict"; fi
done
