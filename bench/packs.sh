#!/usr/bin/env bash
# bench/packs.sh: S3 push and pull of many small files with packs (the default) against the
# same with `packs: false` (one object per request) and against one multipart upload / one GET
# of a tar of the same bytes, all in one run on one s3rver (127.0.0.1).
#
#   node node_modules/typescript/bin/tsc -p tsconfig.json   # build dist/ once
#   bash bench/packs.sh            # 50,000 files x 2 KiB (bench/gen.mjs small)
#   bash bench/packs.sh 5000       # the first 5,000 of them (whole folders of 500)
#   PAIRS=0 bash bench/packs.sh    # without the ratios in pairs (5 pairs by default)
#
# Each step is one whole command, timed with node start-up: `rvc push` to a fresh prefix, then
# `rvc pull` after deleting the cache and the data (fetch + checkout). The tar is made untimed;
# its upload and download are bench/remote-baseline.mjs (d) and (e), the SDK alone with rvc's
# part and queue size. Markdown on stdout and in bench/out/packs-<N>.md; progress on stderr.
#
# Environment: RVC, BENCH_DIR (see bench/lib.sh).

set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

N=${1:-50000}
PAIRS=${PAIRS:-5}
case "$N" in
  '' | *[!0-9]*) log "packs.sh: the file count must be a number"; exit 2 ;;
esac
FOLDERS=$(((N + 499) / 500))
[ "$FOLDERS" -ge 1 ] && [ "$FOLDERS" -le 100 ] || { log "packs.sh: 1 to 50000 files"; exit 2; }
N=$((FOLDERS * 500))

require_tools packs.sh
bench_work packs
S3PID=''
cleanup() {
  if [ -n "$S3PID" ]; then kill "$S3PID" 2>/dev/null || true; wait "$S3PID" 2>/dev/null || true; fi
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN || true
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
export GIT_CONFIG_NOSYSTEM=1

log "packs.sh: generating $N files x 2 KiB"
node "$HERE/gen.mjs" small "$WORK/gen"
bench_repo "$WORK/repo"
mkdir data
for ((i = 0; i < FOLDERS; i++)); do mv "$WORK/gen/$(printf 'd%03d' "$i")" data/; done
# The folders not used are set aside, not deleted (see set_aside in bench/lib.sh).
set_aside "$WORK/gen"
rvc add -q data
BYTES=$(du -sb data | cut -f1)

start_s3rver packs.sh

# timed LABEL CMD…: runs CMD, records "LABEL seconds"
RESULTS=()
timed() {
  local label=$1 t0 t1
  shift
  t0=$(now)
  "$@" >"$WORK/cmd.log" 2>&1 || { log "command failed: $*"; cat "$WORK/cmd.log" >&2; exit 1; }
  t1=$(now)
  RESULTS+=("$label|$(secs "$t0" "$t1" 3)")
  log "  $label: $(secs "$t0" "$t1" 3) s"
}
empty_cache() {
  set_aside .rvc/cache data
}
# The transfer alone (objects into an empty cache), then the whole pull (fetch + checkout of
# every file, whose checkout part bench/local.sh measures against cp -r).
fresh_fetch() {
  empty_cache
  rvc fetch -q
}
fresh_pull() {
  empty_cache
  rvc pull -q
}
remote_count() { find "$WORK/s3/bench/$1" -name '*._S3rver_object' | wc -l; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
rvc remote add -d s3 s3://bench/packed >/dev/null
rvc remote modify s3 endpointurl "$ENDPOINT"
timed "rvc push, packs" rvc push -q
KEYS_PACKED=$(remote_count packed)
timed "rvc fetch, packs (empty cache)" fresh_fetch
timed "rvc pull, packs (fetch + checkout)" fresh_pull

# The targets as ratios in pairs: each rvc command next to its tar baseline, PAIRS times (the
# time of the same work drifts between runs minutes apart on a virtual disk; see bench/local.sh).
tar cf "$WORK/data.tar" data
PART_SIZE=$(cd "$ROOT" && node -e "import('./dist/remote/s3.js').then((m) => console.log(m.S3_DEFAULT_PART_SIZE))")
BASE_UP="node $(q "$HERE/remote-baseline.mjs") upload --endpoint $ENDPOINT --bucket bench --file $(q "$WORK/data.tar") --key tar/data.tar --part-size $PART_SIZE --queue-size 4"
BASE_DOWN="node $(q "$HERE/remote-baseline.mjs") download --endpoint $ENDPOINT --bucket bench --key tar/data.tar --dest $(q "$WORK/back.tar")"
if [ "$PAIRS" -gt 0 ]; then
  log "packs.sh: $PAIRS pairs of push and fetch against the tar"
  RQ=$(q "$WORK/repo")
  PUSHES=0
  # In braces, not a $(...) subshell: set_aside counts what it moved.
  {
    pair_header
    # Each push goes to a prefix of its own, empty.
    pair 'rvc push (packs) / one multipart upload of a tar' 'PUSHES=$((PUSHES + 1)); rvc remote modify s3 url "s3://bench/pair$PUSHES" >/dev/null' "cd $RQ && $RVC push -q" \
      "set_aside $(q "$WORK/back.tar")" "$BASE_UP"
    rvc remote modify s3 url s3://bench/packed >/dev/null
    pair 'rvc fetch (packs, empty cache) / one GET of the tar' "set_aside $RQ/.rvc/cache" "cd $RQ && $RVC fetch -q" \
      "set_aside $(q "$WORK/back.tar")" "$BASE_DOWN"
  } >"$WORK/pairs.md"
fi

rvc remote modify s3 url s3://bench/loose
rvc remote modify s3 packs false
timed "rvc push, packs: false" rvc push -q
KEYS_LOOSE=$(remote_count loose)
timed "rvc fetch, packs: false (empty cache)" fresh_fetch
timed "rvc pull, packs: false (fetch + checkout)" fresh_pull

timed "tar: one multipart Upload" node "$HERE/remote-baseline.mjs" upload --endpoint "$ENDPOINT" --bucket bench --file "$WORK/data.tar" --key tar/data.tar --part-size "$PART_SIZE" --queue-size 4
timed "tar: one GetObject" node "$HERE/remote-baseline.mjs" download --endpoint "$ENDPOINT" --bucket bench --key tar/data.tar --dest "$WORK/back.tar"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

{
  echo "### $N × 2 KiB ($BYTES bytes), s3rver on 127.0.0.1"
  echo
  echo "Load average at start / end: $LOAD0 / $LOAD1. Keys stored: $KEYS_PACKED with packs, $KEYS_LOOSE with \`packs: false\`."
  echo
  echo "| operation | seconds | files/s |"
  echo "| --- | ---: | ---: |"
  for r in "${RESULTS[@]}"; do
    label=${r%%|*}
    t=${r#*|}
    echo "| $label | $t | $(awk -v n="$N" -v t="$t" 'BEGIN { printf "%.0f", n / t }') |"
  done
  [ ! -f "$WORK/pairs.md" ] || cat "$WORK/pairs.md"
} | tee "$OUT_DIR/packs-$N.md"
