#!/usr/bin/env bash
# bench/remote.sh: benchmark of rvc push / pull against a local S3 server and a local-folder
# remote, beside baselines measured in the same run on the same server and disk.
#
# Run it (no npm needed, only node, git and bash; s3rver and the AWS SDK come from node_modules):
#
#   node node_modules/typescript/bin/tsc -p tsconfig.json   # build dist/ once
#   bash bench/remote.sh                # both datasets: small, large
#   bash bench/remote.sh small          # or one of small | large | all
#
# Results: Markdown on stdout and in bench/out/remote-<dataset>.md; progress on stderr.
#
# Datasets (bench/gen.mjs, same bytes on every run):
#   small   50,000 files x 2 KiB in 100 folders   (~100 MiB; ~12 min per RUNS on 2 cores)
#   large   one 1 GiB file                        (needs ~8 GiB free in BENCH_DIR; a few minutes)
#
# For each dataset: a git repository, `rvc init`, the data copied in and `rvc add data` (not
# timed). Then, timed, each as a whole command (node start-up included on both sides):
#   S3 (s3rver on 127.0.0.1, bench/remote-s3server.mjs, a fresh server per dataset)
#     rvc push                  to a fresh prefix        vs (a) plain PutObject loop  (small)
#                                                         vs (d) one lib-storage Upload (large)
#     rvc push, nothing to do   (median of NOOP_RUNS)     vs (c) one paginated ListObjectsV2
#     rvc fetch                 after deleting .rvc/cache (download + hash + rename into the cache)
#     rvc pull                  after deleting .rvc/cache and the data (fetch + checkout)
#                                                         vs (b) plain GetObject loop  (small)
#                                                         vs (e) one GetObject stream  (large)
#   folder remote (a folder in the work dir, same filesystem)
#     rvc push / no-op push / fetch / pull                vs cp -r / find / cp -r / cp -r
# Baselines (a)-(e) are bench/remote-baseline.mjs: the same SDK, client settings, concurrency
# (rvc's default jobs, 4 x cores) and part size / queue size as rvc (src/remote/s3.ts). The
# loops (a) and (b) go through the keys in a fixed shuffled order, as rvc's do in effect: in
# directory order, shard by shard, s3rver is about 20% slower (it keeps each shard as a folder).
#
# Environment:
#   RVC=...        the rvc command (default: node "$(dirname "$0")/../dist/cli/main.js")
#   BENCH_DIR=...  where the temporary work folder is made (default /tmp); removed at exit
#   RUNS=1         timed runs of each transfer (median reported; each push goes to a new prefix)
#   NOOP_RUNS=5    timed runs of each no-op push and listing
#   JOBS=N         concurrency for rvc and the baselines (default: rvc's default jobs)
#
# The page cache is warm (the data was just written); nothing is dropped between steps. Both
# sides share the machine with s3rver (one single-threaded JS process): run it on an otherwise
# idle machine; the report records the load average at the start and end of each dataset.

set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
RUNS=${RUNS:-1}
NOOP_RUNS=${NOOP_RUNS:-5}
OUT_DIR=$HERE/out
BASE="node $(printf %q "$HERE/remote-baseline.mjs")"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

DATASETS=()
case "${1:-all}" in
  small | large) DATASETS=("$1") ;;
  all) DATASETS=(small large) ;;
  -h | --help) usage; exit 0 ;;
  *) echo "remote.sh: unknown dataset '$1' (small, large or all)" >&2; exit 2 ;;
esac

require_tools remote.sh
[ -f "$HERE/gen.mjs" ] || { log "remote.sh: bench/gen.mjs is missing"; exit 2; }
[ -d "$ROOT/node_modules/s3rver" ] || { log "remote.sh: node_modules/s3rver is missing (npm ci)"; exit 2; }

JOBS_FROM_ENV=${JOBS:-}
if [ -z "${JOBS:-}" ]; then
  JOBS=$(cd "$ROOT" && node -e "import('./dist/remote/index.js').then((m) => console.log(m.defaultJobs()))")
fi
PART_SIZE=$(cd "$ROOT" && node -e "import('./dist/remote/s3.js').then((m) => console.log(m.S3_DEFAULT_PART_SIZE))")
# Parts one multipart upload keeps in flight in rvc (QUEUE_SIZE in src/remote/s3.ts).
QUEUE_SIZE=$(sed -n 's/^const QUEUE_SIZE = \([0-9]*\);.*/\1/p' "$ROOT/src/remote/s3.ts" 2>/dev/null | head -n1)
QUEUE_SIZE=${QUEUE_SIZE:-4}

mkdir -p "${BENCH_DIR:-/tmp}"
WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/rvc-bench-remote.XXXXXX")
S3PID=''
stop_server() {
  if [ -n "$S3PID" ]; then
    kill "$S3PID" 2>/dev/null || true
    wait "$S3PID" 2>/dev/null || true
    S3PID=''
  fi
}
cleanup() {
  stop_server
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT_DIR"

cat >"$WORK/gitconfig" <<'EOF'
[user]
	name = rvc bench
	email = bench@example.invalid
[init]
	defaultBranch = main
EOF
export GIT_CONFIG_GLOBAL="$WORK/gitconfig" GIT_CONFIG_NOSYSTEM=1
# s3rver's fixed development credentials, through the standard AWS chain for rvc and the SDK.
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN || true
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

# start_server DIR: s3rver on 127.0.0.1 storing objects in DIR; sets ENDPOINT and S3PID
start_server() {
  local dir=$1 i
  node "$HERE/remote-s3server.mjs" "$dir" >"$WORK/s3.endpoint" 2>"$WORK/s3.log" &
  S3PID=$!
  for ((i = 0; i < 300; i++)); do
    ENDPOINT=$(head -n1 "$WORK/s3.endpoint" 2>/dev/null || true)
    [ -n "$ENDPOINT" ] && return 0
    kill -0 "$S3PID" 2>/dev/null || break
    sleep 0.1
  done
  log "remote.sh: s3rver did not start: $(cat "$WORK/s3.log")"
  exit 1
}

# ---------------------------------------------------------------------------------------------
# timing

declare -A T N TMIN TMAX LABEL PREP CMDS OTHER
ORDER=()
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# CPU time (clock ticks) the whole machine spent busy, this shell with its finished children,
# and s3rver; what is left of the first is other processes' work, noise for these figures.
ticks_busy() { awk 'NR == 1 { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat 2>/dev/null || echo 0; }
ticks_of() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }' || echo 0; }
ticks_ours() {
  local t p
  t=$(ticks_of $$)
  if [ -n "$S3PID" ]; then
    for p in $S3PID $(pgrep -P "$S3PID" 2>/dev/null || true); do t=$((t + $(ticks_of "$p" || echo 0))); done
  fi
  echo "$t"
}

# define KEY LABEL PREPARE CMD: an operation for measure_together. $RUN (1, 2, …) is set for
# both PREPARE (not timed) and CMD.
define() { LABEL[$1]=$2; PREP[$1]=$3; CMDS[$1]=$4; }

# run_once KEY: one timed run; appends "seconds other-cpu-seconds" to the key's times file.
run_once() {
  local k=$1 t0 t1 b0 b1 o0 o1
  if [ -n "${PREP[$k]}" ]; then
    (eval "${PREP[$k]}") >"$WORK/prep.log" 2>&1 || { log ""; log "set-up failed: ${PREP[$k]}"; cat "$WORK/prep.log" >&2; exit 1; }
  fi
  b0=$(ticks_busy); o0=$(ticks_ours); t0=$(date +%s.%N)
  (eval "${CMDS[$k]}") >"$WORK/cmd.log" 2>&1 || { log ""; log "command failed: ${CMDS[$k]}"; cat "$WORK/cmd.log" >&2; exit 1; }
  t1=$(date +%s.%N); b1=$(ticks_busy); o1=$(ticks_ours)
  awk -v a="$t0" -v b="$t1" -v busy=$((b1 - b0)) -v ours=$((o1 - o0)) -v hz="$CLK_TCK" 'BEGIN {
    other = (busy - ours) / hz; if (other < 0) other = 0
    printf "%.6f %.3f\n", b - a, other }' >>"$WORK/times.$k"
}

# measure_together RUNS KEY…: RUNS rounds; each round runs every KEY once, starting one further
# along the list each round, so that a slow spell of the machine hits rvc and its baseline alike.
# Reports the median per KEY, and the CPUs other processes kept busy meanwhile (on average).
measure_together() {
  local runs=$1 k i n
  shift
  local keys=("$@")
  n=${#keys[@]}
  for k in "${keys[@]}"; do : >"$WORK/times.$k"; done
  for ((RUN = 1; RUN <= runs; RUN++)); do
    for ((i = 0; i < n; i++)); do
      k=${keys[$(((i + RUN - 1) % n))]}
      printf '  %-52s run %d/%d\r' "${LABEL[$k]}" "$RUN" "$runs" >&2
      run_once "$k"
    done
  done
  for k in "${keys[@]}"; do
    # Other processes' CPUs: their CPU seconds over the wall seconds of all runs; clock ticks
    # are too coarse to say anything about less than a second in all.
    read -r T[$k] N[$k] TMIN[$k] TMAX[$k] OTHER[$k] < <(sort -g "$WORK/times.$k" | awk '{ v[NR] = $1; s += $1; o += $2 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.6f %d %.6f %.6f %s\n", m, NR, v[1], v[NR], (s < 1 ? "—" : sprintf("%.2f", o / s)) }')
    ORDER+=("$k")
    printf '  %-52s%9.3f s  (%s runs; other processes: %s CPUs)\n' "${LABEL[$k]}" "${T[$k]}" "${N[$k]}" "${OTHER[$k]}" >&2
  done
}

fmt_s() { awk -v t="$1" 'BEGIN { printf (t < 10 ? "%.3f" : "%.1f"), t }'; }
# rate COUNT SECONDS, mbps BYTES SECONDS (MB = 10^6 bytes)
rate() { awk -v n="$1" -v t="$2" 'BEGIN { v = n / t; printf (v < 10 ? "%.2f" : "%.0f"), v }'; }
mbps() { awk -v n="$1" -v t="$2" 'BEGIN { v = n / t / 1e6; printf (v < 10 ? "%.2f" : "%.1f"), v }'; }

# ---------------------------------------------------------------------------------------------
# report

machine_header() {
  local cpu mem fs rev=''
  cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
  [ -n "$cpu" ] || cpu=$(uname -m)
  mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo '?')
  fs=$(df -T "$WORK" | awk 'NR == 2 { print $2 }')
  if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
    rev=" (commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ', src/ modified'))"
  fi
  local pkg='const v = (p) => require(p + "/package.json").version;'
  echo "| machine | |"
  echo "| --- | --- |"
  echo "| CPUs (nproc) | $(nproc) |"
  echo "| CPU | $cpu |"
  echo "| memory | $mem |"
  echo "| work dir filesystem | $fs |"
  echo "| kernel | $(uname -sr) |"
  echo "| node | $(node -v) |"
  echo "| rvc | $(cd "$WORK" && rvc version 2>/dev/null | sed -n 's/^rvc version: //p' | head -n1)$rev |"
  echo "| S3 server | s3rver $(cd "$ROOT" && node -e "$pkg console.log(v('s3rver'))") on 127.0.0.1, same machine |"
  echo "| SDK | @aws-sdk/client-s3 $(cd "$ROOT" && node -e "$pkg console.log(v('@aws-sdk/client-s3'))"), @aws-sdk/lib-storage $(cd "$ROOT" && node -e "$pkg console.log(v('@aws-sdk/lib-storage'))") |"
  echo "| concurrency | $JOBS (rvc default jobs, also used by the baselines); multipart: $((PART_SIZE / 1048576)) MiB parts, $QUEUE_SIZE in flight |"
  echo "| other load | CPUs ${BUSY_START}% busy in the 2 s before this dataset started; load average $LOAD_START then, $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') at the end |"
  echo "| timing | bash timer around each whole command, median of $RUNS run(s) per transfer and $NOOP_RUNS per no-op / listing; warm page cache |"
}

# row LABEL RVC_KEY OBJECTS BYTES BASE_LABEL BASE_KEY TARGET   (TARGET: a ratio limit, or - for none)
row() {
  local label=$1 rk=$2 objs=$3 bytes=$4 blabel=$5 bk=$6 target=$7
  local rv=${T[$rk]} bv=${T[$bk]} ratio met='—' tt='—' mb='—'
  ratio=$(awk -v a="$rv" -v b="$bv" 'BEGIN { printf "%.2f", a / b }')
  if [ "$target" != - ]; then
    tt="≤ ${target}×"
    met=$(awk -v r="$ratio" -v l="$target" 'BEGIN { print (r <= l ? "yes" : "**no**") }')
  fi
  [ "$bytes" != - ] && mb=$(mbps "$bytes" "$rv")
  echo "| $label | $(fmt_s "$rv") | $(rate "$objs" "$rv") | $mb | $blabel | $(fmt_s "$bv") | ${ratio}× | $tt | $met |"
}

# brow LABEL KEY OBJECTS BYTES: a baseline on its own
brow() {
  local mb='—'
  [ "$4" != - ] && mb=$(mbps "$4" "${T[$2]}")
  echo "| $1 | $(fmt_s "${T[$2]}") | $(rate "$3" "${T[$2]}") | $mb |"
}

# cpu_busy: percentage of CPU time (all CPUs) not idle over the next 2 seconds, or '?'
cpu_busy() {
  local a b
  a=$(head -n1 /proc/stat 2>/dev/null) || { echo '?'; return; }
  sleep 2
  b=$(head -n1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {
    n = split(a, x); split(b, y); tot = 0
    for (i = 2; i <= n; i++) tot += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%d\n", (tot > 0 ? 100 * (tot - idle) / tot : 0) }'
}

# verify_pull DIR: after a pull (not timed), the workspace must equal the dataset
verify_pull() {
  diff -rq "$1/expected" "$1/repo/data" >/dev/null || { log "remote.sh: the pulled data differs from the dataset"; exit 1; }
}

# ---------------------------------------------------------------------------------------------
# one dataset

run_dataset() {
  local ds=$1 desc
  T=(); N=(); TMIN=(); TMAX=(); LABEL=(); PREP=(); CMDS=(); OTHER=(); ORDER=()
  case $ds in
    small) desc='50,000 files × 2 KiB in 100 folders' ;;
    large) desc='one 1 GiB file' ;;
  esac
  local D="$WORK/$ds"
  rm -rf "$D"; mkdir -p "$D"
  local R=$(q "$D/repo") F=$(q "$D/folder-remote") C=$(q "$D/cp-dest") G=$(q "$D/get-dest")
  local E BUCKET=bench

  log ""
  log "== $ds: $desc"
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
  BUSY_START=$(cpu_busy)
  if [ "$BUSY_START" != '?' ] && [ "$BUSY_START" -gt 15 ]; then
    log "  note: the CPUs were ${BUSY_START}% busy before starting: other processes are running, figures will be noisy"
  fi
  log "  generating data, rvc init, rvc add (not timed)"
  node "$HERE/gen.mjs" "$ds" "$D/data"
  git init -q "$D/repo"
  (cd "$D/repo" && rvc init -q && mv "$D/data" data && rvc add -q data)
  cp -r "$D/repo/data" "$D/expected"
  local objs bytes obj1='' big='' big_bytes=0
  objs=$(find "$D/repo/.rvc/cache" -type f | wc -l)
  bytes=$(find "$D/repo/.rvc/cache" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  if [ "$ds" = large ]; then
    big=$(find "$D/repo/.rvc/cache" -type f -size +100M | head -n1)
    obj1="${big#"$D/repo/.rvc/cache/"}"
    big_bytes=$(stat -c %s "$big")
  fi
  log "  $objs objects, $bytes bytes in the cache"

  start_server "$D/s3rver"
  E=$(q "$ENDPOINT")
  log "  s3rver at $ENDPOINT"
  (cd "$D/repo" && rvc remote add -q folder "$D/folder-remote" &&
    if [ -n "${JOBS_FROM_ENV:-}" ]; then rvc remote modify -q folder jobs "$JOBS"; fi)

  local fresh="rm -rf $R/.rvc/cache $R/data"
  local s3_remote="cd $R && rvc remote add -q -f s3 s3://$BUCKET/rvc-\$RUN && rvc remote modify -q s3 endpointurl $E"
  [ -n "${JOBS_FROM_ENV:-}" ] && s3_remote+=" && rvc remote modify -q s3 jobs $JOBS"

  log "-- S3"
  define s3push 'rvc push (S3)' "$s3_remote" "cd $R && rvc push -q -r s3"
  define s3noop 'rvc push, nothing to do (S3)' '' "cd $R && rvc push -q -r s3"
  # The listing of the prefix the no-op push looks at (the last one rvc pushed to).
  define list '(c) ListObjectsV2 of the prefix' '' "$BASE list --endpoint $E --bucket $BUCKET --prefix rvc-$RUNS"
  define s3fetch 'rvc fetch (S3), empty cache' "rm -rf $R/.rvc/cache" "cd $R && rvc fetch -q -r s3"
  define s3pull 'rvc pull (S3), empty cache and workspace' "$fresh" "cd $R && rvc pull -q -r s3"
  if [ "$ds" = small ]; then
    define put '(a) PutObject loop' '' \
      "$BASE put --endpoint $E --bucket $BUCKET --prefix sdk-\$RUN --dir $R/.rvc/cache --jobs $JOBS"
    define get '(b) GetObject loop' "rm -rf $G" \
      "$BASE get --endpoint $E --bucket $BUCKET --prefix sdk-1 --dir $R/.rvc/cache --dest $G --jobs $JOBS"
    measure_together "$RUNS" put s3push
    measure_together "$NOOP_RUNS" s3noop list
    measure_together "$RUNS" s3fetch s3pull get
  else
    define upload '(d) one multipart Upload' '' \
      "$BASE upload --endpoint $E --bucket $BUCKET --key sdk-\$RUN/$(q "$obj1") --file $(q "$big") --part-size $PART_SIZE --queue-size $QUEUE_SIZE"
    define download '(e) one GetObject stream' "rm -f $G" \
      "$BASE download --endpoint $E --bucket $BUCKET --key sdk-1/$(q "$obj1") --dest $G"
    measure_together "$RUNS" upload s3push
    measure_together "$NOOP_RUNS" s3noop list
    measure_together "$RUNS" s3fetch s3pull download
  fi
  verify_pull "$D"
  rm -rf "$D/get-dest"
  stop_server
  rm -rf "$D/s3rver"

  log "-- folder remote"
  define cppush 'cp -r cache → folder' "rm -rf $C" "cp -r $R/.rvc/cache $C"
  define fpush 'rvc push (folder)' "rm -rf $F" "cd $R && rvc push -q -r folder"
  define fnoop 'rvc push, nothing to do (folder)' '' "cd $R && rvc push -q -r folder"
  define find 'find folder -type f' '' "find $F -type f >/dev/null"
  define ffetch 'rvc fetch (folder), empty cache' "rm -rf $R/.rvc/cache" "cd $R && rvc fetch -q -r folder"
  define fpull 'rvc pull (folder), empty cache and workspace' "$fresh" "cd $R && rvc pull -q -r folder"
  define cppull 'cp -r folder → new folder' "rm -rf $C" "cp -r $F $C"
  measure_together "$RUNS" cppush fpush
  measure_together "$NOOP_RUNS" fnoop find
  measure_together "$RUNS" ffetch fpull cppull
  verify_pull "$D"
  rm -rf "$D/cp-dest"

  local md="$OUT_DIR/remote-$ds.md" files
  files=$((objs - 1))
  {
    echo "## $ds: $desc"
    echo
    machine_header
    echo
    echo "$objs objects ($files file$([ "$files" = 1 ] || echo s) and 1 tree), $bytes bytes ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB) in the cache." \
      "Ratio = rvc seconds / baseline seconds; MB = 10⁶ bytes. Fetch downloads, hashes and renames each" \
      "object into the cache; pull is fetch + checkout (a copy into the workspace: no reflinks on $(df -T "$WORK" | awk 'NR == 2 { print $2 }'))."
    echo
    echo "| operation | rvc s | objects/s | MB/s | baseline | baseline s | ratio | target | met? |"
    echo "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |"
    if [ "$ds" = small ]; then
      row 'S3 push' s3push "$objs" "$bytes" '(a) PutObject loop' put 2
      row 'S3 push, nothing to do' s3noop "$objs" - '(c) one listing of the prefix' list 3
      row 'S3 pull (fetch + checkout)' s3pull "$objs" "$bytes" '(b) GetObject loop' get 2
      row 'S3 pull (fetch + checkout)' s3pull "$objs" "$bytes" '(a) PutObject loop' put 2
      row 'S3 fetch (download + verify into the cache)' s3fetch "$objs" "$bytes" '(b) GetObject loop' get -
    else
      row 'S3 push' s3push "$objs" "$bytes" '(d) one multipart Upload' upload 1.5
      row 'S3 push, nothing to do' s3noop "$objs" - '(c) one listing of the prefix' list -
      row 'S3 pull (fetch + checkout)' s3pull "$objs" "$bytes" '(e) one GetObject stream' download -
      row 'S3 fetch (download + verify into the cache)' s3fetch "$objs" "$bytes" '(e) one GetObject stream' download -
    fi
    row 'folder push' fpush "$objs" "$bytes" '`cp -r` cache → folder' cppush -
    row 'folder push, nothing to do' fnoop "$objs" - '`find` of the folder' find -
    row 'folder pull (fetch + checkout)' fpull "$objs" "$bytes" '`cp -r` folder → folder' cppull -
    row 'folder fetch (copy + verify into the cache)' ffetch "$objs" "$bytes" '`cp -r` folder → folder' cppull -
    echo
    echo "Baselines on their own:"
    echo
    echo "| baseline | s | objects/s | MB/s |"
    echo "| --- | ---: | ---: | ---: |"
    if [ "$ds" = small ]; then
      brow '(a) PutObject loop, p-limit('"$JOBS"')' put "$objs" "$bytes"
      brow '(b) GetObject loop, p-limit('"$JOBS"')' get "$objs" "$bytes"
    else
      brow '(d) one lib-storage Upload' upload 1 "$big_bytes"
      brow '(e) one GetObject stream to a file' download 1 "$big_bytes"
    fi
    brow '(c) ListObjectsV2 of the prefix (objects listed)' list "$objs" -
    brow '`cp -r` cache → folder' cppush "$objs" "$bytes"
    brow '`cp -r` folder → folder' cppull "$objs" "$bytes"
    brow '`find` of the folder (objects listed)' find "$objs" -
    echo
    echo "<details><summary>every measurement ($ds)</summary>"
    echo
    echo "| measurement | median s | min s | max s | runs | other processes, CPUs |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    local k
    for k in "${ORDER[@]}"; do
      echo "| ${LABEL[$k]} | $(fmt_s "${T[$k]}") | $(fmt_s "${TMIN[$k]}") | $(fmt_s "${TMAX[$k]}") | ${N[$k]} | ${OTHER[$k]} |"
    done
    echo
    echo "Operations compared with each other were run in alternation (round 1: A B, round 2: B A, …)." \
      "The last column is the mean number of CPUs that processes other than the benchmark, rvc, the" \
      "baselines and s3rver kept busy during the timed runs (out of $(nproc)): near 0 means a quiet machine."
    echo
    echo "</details>"
    echo
  } >"$md"
  cat "$md"
  log "  written: bench/out/remote-$ds.md"
  chmod -R u+w "$D" 2>/dev/null || true
  rm -rf "$D"
}

for ds in "${DATASETS[@]}"; do run_dataset "$ds"; done
