# Sourced by .ci/fuzz-smoke and .clusterfuzzlite/build.sh: where each fuzz target's seeds and
# dictionary are, by its name (<proto>_<subject>[_<oracle>]). Paths are relative to the
# repository root. A new target for a new protocol needs no change here: `<proto>_…` finds
# corpus/<proto>/ and fuzz/dict/<proto>.dict.

# The protocol a target belongs to (its corpus and dictionary name).
fuzz_proto() {
  local p=${1%%_*}
  case $p in
    sipc) echo fetion ;;
    server) local q=${1#server_}; echo "${q%%_*}" ;;
    *) echo "$p" ;;
  esac
}

# The seed folders of a target: the curated corpus, read in place.
fuzz_seeds() {
  case $1 in
    scenario_*) echo scenarios ;;
    stream_*) ls -d corpus/*/valid ;;
    *)
      local p k
      p=$(fuzz_proto "$1")
      for k in valid lenient invalid regressions; do
        if [ -d "corpus/$p/$k" ]; then echo "corpus/$p/$k"; fi
      done
      ;;
  esac
}

# The dictionary of a target, if there is one.
fuzz_dict() {
  local p
  case $1 in
    scenario_*) p=scenario ;;
    msgr_*) p=msnp ;;
    *) p=$(fuzz_proto "$1") ;;
  esac
  if [ -f "fuzz/dict/$p.dict" ]; then echo "fuzz/dict/$p.dict"; fi
}
