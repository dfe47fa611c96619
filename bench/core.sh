#!/usr/bin/env bash
# bench/core.sh: reproducible benchmark of rvc's core operations (add, status, checkout)
# against the limits of the machine (b3sum, cp, git status) and against peers (git lfs,
# git annex), on deterministic datasets made by bench/gen.mjs.
#
# Run it (no npm needed, only node, git and bash):
#
#   node node_modules/typescript/bin/tsc -p tsconfig.json   # build dist/ once
#   bash bench/core.sh                  # all datasets: small, medium, large
#   bash bench/core.sh small            # or one of small | medium | large | all
#
# Results: Markdown on stdout and in bench/out/core-<dataset>.md; progress on stderr.
#
# Datasets (bench/gen.mjs, same bytes on every run):
#   small   50,000 files x 2 KiB in 100 folders   (~100 MiB)
#   medium  1,000 files x 1 MiB                   (~1 GiB)
#   large   one 1 GiB file                        (needs ~5 GiB free in BENCH_DIR)
#   tiny    2,000 files x 2 KiB                   (a seconds-long smoke test of this script)
#
# Environment:
#   RVC=...        the rvc command (default: node "$(dirname "$0")/../dist/cli/main.js")
#   BENCH_DIR=...  where the temporary work folder is made (default /tmp); it is removed at exit
#   RUNS=3         timed runs per operation; the median is reported
#   SLOW=60        an operation whose first run takes longer than this many seconds is run once
#   NO_HYPERFINE=1 time with the built-in bash timer even when hyperfine is installed
#   NO_ANNEX=1     skip the git annex peer (its add of 50,000 files takes several minutes)
#
# Optional tools; each one missing is skipped with a note (install on Debian/Ubuntu with
# `apt-get install b3sum hyperfine git-lfs git-annex`; elsewhere `cargo install b3sum
# hyperfine`, and git-lfs / git-annex from your package manager, e.g. `brew install git-lfs
# git-annex`):
#   hyperfine  timing (else a bash timer built on `date +%s.%N`)
#   b3sum      the hashing limit (BLAKE3, --num-threads 1)
#   git-lfs    peer: `git add` with *.bin tracked by LFS
#   git-annex  peer: `git annex add`
#
# The operations run in turn, round by round (RUNS rounds), so that load from other processes
# falls on rvc and on its baselines alike; the median of the rounds is reported. The page cache
# is warm, not dropped. Set-up before a run (a fresh repository, a changed file, an emptied
# workspace, then `sync` so no write-back is pending) is not timed.

set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
GEN="node $(printf %q "$HERE/gen.mjs")"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
RUNS=${RUNS:-3}
SLOW=${SLOW:-60}
OUT_DIR=$HERE/out

usage() { sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; }

DATASETS=()
case "${1:-all}" in
  small | medium | large | tiny) DATASETS=("$1") ;;
  all) DATASETS=(small medium large) ;;
  -h | --help) usage; exit 0 ;;
  *) echo "core.sh: unknown dataset '$1' (small, medium, large or all)" >&2; exit 2 ;;
esac

require_tools core.sh

HAVE_HYPERFINE=0; [ -z "${NO_HYPERFINE:-}" ] && have hyperfine && HAVE_HYPERFINE=1
HAVE_B3SUM=0; have b3sum && HAVE_B3SUM=1
HAVE_LFS=0; git lfs version >/dev/null 2>&1 && HAVE_LFS=1
HAVE_ANNEX=0; [ -z "${NO_ANNEX:-}" ] && git annex version >/dev/null 2>&1 && HAVE_ANNEX=1
if [ -n "${NO_HYPERFINE:-}" ]; then log "note: NO_HYPERFINE is set: using the bash timer"
elif [ $HAVE_HYPERFINE = 0 ]; then log "note: hyperfine not found (apt-get install hyperfine / cargo install hyperfine): using the bash timer"; fi
[ $HAVE_B3SUM = 1 ] || log "note: b3sum not found (apt-get install b3sum / cargo install b3sum): skipping the hashing limit"
[ $HAVE_LFS = 1 ] || log "note: git-lfs not found (apt-get install git-lfs): skipping the git lfs peer"
[ $HAVE_ANNEX = 1 ] || log "note: skipping the git annex peer (NO_ANNEX is set, or git-annex is not installed: apt-get install git-annex)"

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/rvc-bench.XXXXXX")
cleanup() { chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT_DIR"

# git for every repository here: no user or system config, so settings such as fsmonitor or
# hooks on this machine cannot change the figures; LFS gets its filters with `install --local`.
cat >"$WORK/gitconfig" <<'EOF'
[user]
	name = rvc bench
	email = bench@example.invalid
[init]
	defaultBranch = main
[advice]
	detachedHead = false
EOF
export GIT_CONFIG_GLOBAL="$WORK/gitconfig" GIT_CONFIG_NOSYSTEM=1

# ---------------------------------------------------------------------------------------------
# timing

declare -A T N TMIN TMAX CMD OP_WARM OP_PREP OP_CMD
ORDER=()

# run_once WARMUPS PREPARE CMD TIMES_FILE: PREPARE before each run (untimed), then WARMUPS
# untimed runs and one timed run, whose elapsed seconds are appended to TIMES_FILE
run_once() {
  local warm=$1 prep=$2 cmd=$3 times=$4
  if [ $HAVE_HYPERFINE = 1 ]; then
    hyperfine --style none --runs 1 --warmup "$warm" --prepare "$prep" --export-json "$WORK/hf.json" "$cmd" >/dev/null
    node -e 'for (const t of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results[0].times) console.log(t.toFixed(6))' "$WORK/hf.json" >>"$times"
  else
    local i t0 t1
    for ((i = 0; i <= warm; i++)); do
      (eval "$prep") >/dev/null 2>&1 || { log "set-up failed: $prep"; return 1; }
      t0=$(date +%s.%N)
      (eval "$cmd") >/dev/null 2>&1 || { log "command failed: $cmd"; return 1; }
      t1=$(date +%s.%N)
    done
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$times"
  fi
}

# op KEY LABEL WARMUP PREPARE CMD: registers an operation for run_rounds.
#   WARMUP: 0, first (one untimed run in the first round: page cache) or each (one untimed
#   run in every round: the operation follows a set-up in the same round that it must settle)
op() {
  local key=$1
  CMD[$key]=$2 OP_WARM[$key]=$3 OP_CMD[$key]=$5
  # every run starts with nothing left to write back from the set-up or from the previous run
  OP_PREP[$key]="${4:+$4 && }sync"
  : >"$WORK/times.$key"
  ORDER+=("$key")
}

# run_rounds: RUNS rounds; each round runs every registered operation once, in order, so that
# load from other processes falls on all of them alike. An operation whose first run took over
# SLOW seconds is not run again. T[key] is the median.
run_rounds() {
  local round key warm times
  for ((round = 1; round <= RUNS; round++)); do
    log "-- round $round of $RUNS"
    for key in "${ORDER[@]}"; do
      times="$WORK/times.$key"
      if ((round > 1)) && awk -v t="$(head -n1 "$times")" -v s="$SLOW" 'BEGIN { exit !(t >= s) }'; then continue; fi
      case ${OP_WARM[$key]} in
        each) warm=1 ;;
        first) warm=$((round == 1 ? 1 : 0)) ;;
        *) warm=0 ;;
      esac
      printf '  %-44s' "${CMD[$key]}" >&2
      run_once "$warm" "${OP_PREP[$key]}" "${OP_CMD[$key]}" "$times"
      printf '%8.3f s\n' "$(tail -n1 "$times")" >&2
    done
  done
  for key in "${ORDER[@]}"; do
    read -r T[$key] N[$key] TMIN[$key] TMAX[$key] < <(sort -g "$WORK/times.$key" | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.6f %d %.6f %.6f\n", m, NR, v[1], v[NR] }')
  done
}
load1() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?'; }
fmt_s() { awk -v t="$1" 'BEGIN { printf (t < 10 ? "%.3f" : "%.2f"), t }'; }

# ---------------------------------------------------------------------------------------------
# report

machine_header() {
  local cpu mem fs
  cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
  [ -n "$cpu" ] || cpu=$(uname -m)
  mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo '?')
  fs=$(df -T "$WORK" | awk 'NR == 2 { print $2 }')
  local rev=''
  if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
    rev="source at commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ', src/ modified')"
  fi
  if [ -z "$RVC_FROM_ENV" ]; then
    rev="${rev:+$rev, }dist/ built $(date -r "$ROOT/dist/cli/main.js" '+%F %T')"
  fi
  echo "| machine | |"
  echo "| --- | --- |"
  echo "| CPUs (nproc) | $(nproc) |"
  echo "| CPU | $cpu |"
  echo "| memory | $mem |"
  echo "| work dir filesystem | $fs |"
  echo "| kernel | $(uname -sr) |"
  echo "| node | $(node -v) |"
  echo "| rvc | $(cd "$WORK" && rvc version 2>/dev/null | sed -n 's/^rvc version: //p' | head -n1)${rev:+ ($rev)} |"
  echo "| git | $(git --version | sed 's/^git version //') |"
  echo "| b3sum | $([ $HAVE_B3SUM = 1 ] && b3sum --version | sed 's/^b3sum //' || echo 'not installed') |"
  echo "| git-lfs | $([ $HAVE_LFS = 1 ] && git lfs version | sed 's/^git-lfs\///; s/ .*//' || echo 'not installed') |"
  echo "| git-annex | $([ $HAVE_ANNEX = 1 ] && git annex version | sed -n 's/^git-annex version: //p' || echo 'not installed') |"
  echo "| load average (1 min) at start / end | $LOAD_START / $LOAD_END (above 0: other processes were running) |"
  echo "| timing | $([ $HAVE_HYPERFINE = 1 ] && echo "hyperfine $(hyperfine --version | sed 's/^hyperfine //')" || echo 'bash timer (date +%s.%N)'), median of $RUNS rounds that run every operation in turn (1 run when the first takes over ${SLOW} s), warm page cache, \`sync\` before each run |"
}

# row LABEL RVC_KEY BASE_KEY BASE_LABEL TARGET   (TARGET: "le:3" ratio <= 3, or "-" for none)
row() {
  local label=$1 rk=$2 bk=$3 blabel=$4 target=$5 skipped=${6:-}
  local rv=${T[$rk]:-} bv=${T[$bk]:-}
  if [ -z "$rv" ]; then return; fi
  if [ -z "$bv" ]; then
    echo "| $label | $(fmt_s "$rv") | $blabel: ${skipped:-not measured} | | $(target_text "$target") | n/a |"
    return
  fi
  local ratio met
  ratio=$(awk -v a="$rv" -v b="$bv" 'BEGIN { printf "%.2f", a / b }')
  met='—'
  if [ "$target" != - ]; then
    met=$(awk -v a="$rv" -v b="$bv" -v l="${target#le:}" 'BEGIN { print (a / b <= l ? "yes" : "**no**") }')
  fi
  echo "| $label | $(fmt_s "$rv") | $blabel: $(fmt_s "$bv") | ${ratio}× | $(target_text "$target") | $met |"
}

target_text() {
  case "$1" in
    -) echo '—' ;;
    le:0.1) echo '≤ 0.1× (≥ 10× faster)' ;;
    le:*) echo "≤ ${1#le:}×" ;;
  esac
}

rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / t }'; }
gbps() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.3g", n / t / 1e9 }'; }

# ---------------------------------------------------------------------------------------------
# one dataset

run_dataset() {
  local ds=$1
  T=(); N=(); TMIN=(); TMAX=(); CMD=(); OP_WARM=(); OP_PREP=(); OP_CMD=(); ORDER=()
  local src="$WORK/src" one nfiles bytes desc
  case $ds in
    tiny) one=data/d002/f0250.bin nfiles=2000 bytes=$((2000 * 2048)) desc='2,000 files × 2 KiB in 4 folders (smoke test)' ;;
    small) one=data/d050/f0250.bin nfiles=50000 bytes=$((50000 * 2048)) desc='50,000 files × 2 KiB in 100 folders' ;;
    medium) one=data/m0500.bin nfiles=1000 bytes=$((1000 * 1048576)) desc='1,000 files × 1 MiB' ;;
    large) one=data/large.bin nfiles=1 bytes=1073741824 desc='one 1 GiB file' ;;
  esac
  local S W G L A R
  S=$(q "$src") W=$(q "$WORK") G=$(q "$WORK/git") L=$(q "$WORK/lfs") A=$(q "$WORK/annex") R=$(q "$WORK/rvc")
  local cpdst=$(q "$WORK/cp") mutate_git="$GEN mutate $(q "$WORK/git/$one")" mutate_rvc="$GEN mutate $(q "$WORK/rvc/$one")"

  log ""
  log "== $ds: $desc"
  LOAD_START=$(load1)
  rm -rf "$src"; mkdir -p "$src"
  log "  generating data"
  $GEN "$ds" "$src/data"

  # limits
  if [ $HAVE_B3SUM = 1 ]; then
    op b3sum 'b3sum --num-threads 1' first '' "cd $S && find data -type f -print0 | xargs -0 b3sum --num-threads 1 >/dev/null"
  fi
  if [ "$ds" = large ]; then
    op cp 'cp (the file)' first "rm -rf $cpdst" "cp $S/$one $cpdst"
    if [ $HAVE_B3SUM = 1 ]; then op b3cp 'b3sum --num-threads 1, then cp' 0 "rm -rf $cpdst" "b3sum --num-threads 1 $S/$one >/dev/null && cp $S/$one $cpdst"; fi
  else
    op cp 'cp -r' first "rm -rf $cpdst" "cp -r $S/data $cpdst"
    if [ $HAVE_B3SUM = 1 ]; then op b3cp 'b3sum --num-threads 1, then cp -r' 0 "rm -rf $cpdst" "cd $S && find data -type f -print0 | xargs -0 b3sum --num-threads 1 >/dev/null && cp -r $S/data $cpdst"; fi
  fi
  op gitadd 'git add + git commit (plain git)' 0 \
    "rm -rf $cpdst $G && git init -q $G && cp -r $S/data $G/data" \
    "cd $G && git add data && git commit -q -m data"
  op gitst 'git status, nothing changed' each '' "cd $G && git status"
  op gitst1 'git status, one file changed' 0 "$mutate_git" "cd $G && git status"

  # peers
  if [ $HAVE_LFS = 1 ]; then
    op lfs 'git lfs: git add (*.bin tracked)' 0 \
      "rm -rf $G $L && git init -q $L && cd $L && git lfs install --local >/dev/null && git lfs track '*.bin' >/dev/null && git add .gitattributes && cp -r $S/data $L/data" \
      "cd $L && git add data"
  fi
  if [ $HAVE_ANNEX = 1 ]; then
    op annex 'git annex add' 0 \
      "rm -rf $G $L; chmod -R u+w $A 2>/dev/null; rm -rf $A && git init -q $A && cd $A && git annex init -q bench && cp -r $S/data $A/data" \
      "cd $A && git annex add --quiet data"
  fi

  # rvc
  op add 'rvc add data (fresh repository)' 0 \
    "rm -rf $G $L; chmod -R u+w $A 2>/dev/null; rm -rf $A $R && git init -q $R && cd $R && $RVC init -q && cp -r $S/data $R/data" \
    "cd $R && $RVC add data"
  op add0 'rvc add data, nothing changed' each '' "cd $R && $RVC add data"
  op st0 'rvc status, nothing changed' each '' "cd $R && $RVC status"
  op st1 'rvc status, one file changed' 0 "$mutate_rvc" "cd $R && $RVC status"
  op co 'rvc checkout into an empty workspace' 0 "rm -rf $R/data" "cd $R && $RVC checkout"

  run_rounds
  if ! diff -rq "$src/data" "$WORK/rvc/data" >/dev/null; then
    log "core.sh: the checked-out data differs from the generated data"
    exit 1
  fi
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK/rvc" "$WORK/git" "$WORK/lfs" "$WORK/annex" "$WORK/cp" "$src"

  LOAD_END=$(load1)
  local md="$OUT_DIR/core-$ds.md"
  {
    echo "## $ds: $desc"
    echo
    machine_header
    echo
    local cpl='cp -r' t_add=- t_lfs=- t_st=- t_co=-
    [ "$ds" = large ] && cpl='cp'
    case $ds in
      small) t_add=le:3 t_lfs=le:0.1 t_st=le:5 t_co=le:2 ;;
    esac
    echo "| operation | rvc seconds | baseline seconds | ratio | target | met? |"
    echo "| --- | ---: | ---: | ---: | --- | --- |"
    if [ "$ds" = large ]; then
      row 'add (cold)' add b3cp '`b3sum --num-threads 1` + `cp`' le:2 'b3sum not installed'
      row 'add (cold)' add cp '`cp`' -
    else
      row 'add (cold)' add cp '`cp -r`' "$t_add"
      row 'add (cold)' add b3cp '`b3sum` + `cp -r`' - 'b3sum not installed'
    fi
    row 'add (cold)' add b3sum '`b3sum --num-threads 1`' - 'b3sum not installed'
    row 'add (cold)' add lfs '`git lfs` add' "$t_lfs" 'git-lfs not installed'
    row 'add (cold)' add annex '`git annex add`' "$t_lfs" 'git-annex not installed'
    row 'add, nothing changed' add0 gitst '`git status` (no-op)' "$t_st"
    row 'status, nothing changed' st0 gitst '`git status` (no-op)' "$t_st"
    row 'status, one file changed' st1 gitst1 '`git status` (one change)' "$t_st"
    row 'checkout into an empty workspace' co cp "\`$cpl\`" "$t_co"
    echo
    # files/s where there are many files, GB/s (10^9 bytes) always
    thr() { if ((nfiles > 1)); then echo "$(rate "$nfiles" "$1") files/s, $(gbps "$bytes" "$1") GB/s"; else echo "$(gbps "$bytes" "$1") GB/s"; fi; }
    echo "Throughput of \`rvc add\` (cold): $(thr "${T[add]}") (\`$cpl\`: $(thr "${T[cp]}")$(
      [ -n "${T[b3sum]:-}" ] && echo "; \`b3sum --num-threads 1\`: $(gbps "$bytes" "${T[b3sum]}") GB/s"))."
    echo
    echo "<details><summary>every measurement ($ds)</summary>"
    echo
    echo "| measurement | median s | min s | max s | runs |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    local k
    for k in "${ORDER[@]}"; do
      echo "| ${CMD[$k]} | $(fmt_s "${T[$k]}") | $(fmt_s "${TMIN[$k]}") | $(fmt_s "${TMAX[$k]}") | ${N[$k]} |"
    done
    echo
    echo "</details>"
    echo
  } >"$md"
  cat "$md"
  log "  written: bench/out/core-$ds.md"
}

for ds in "${DATASETS[@]}"; do run_dataset "$ds"; done
