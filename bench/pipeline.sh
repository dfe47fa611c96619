#!/usr/bin/env bash
# bench/pipeline.sh: what a no-op `rvc repro` and `rvc status` cost on big pipelines.
#
# Run it (node, git and bash only):
#
#   node node_modules/typescript/bin/tsc -p tsconfig.json   # build dist/ once
#   bash bench/pipeline.sh
#
# Projects (bench/pipeline-gen.mjs): STAGES trivial stages (`cp`), each with a small dependency
# and a small output,
#   chain   s000 → s001 → … (each reads the output of the one before)
#   fanout  one stage, then STAGES-1 stages each reading its output and an input of their own
#   multi   10 pipeline files (p0/rvc.yaml … p9/rvc.yaml) of STAGES/10 stages each, chained across
#           files; repro runs as `rvc repro -P` (every pipeline file)
# Each project is filled by one `rvc repro`; then, after one warm-up round, RUNS timed rounds
# of a no-op `rvc repro` and `rvc status`, each round also measuring process start:
#   rvc --version          node start-up and argument parsing, no library loaded
#   rvc status (empty)     the same plus loading the library, in a repository with no pipeline
# "per stage" is (median − `rvc --version`) / STAGES, the cost beyond process start.
#
# Targets: a no-op repro costs at most 2× the status of the same project, and both stay under
# 1 ms per stage beyond process start.
#
# Wall time is what users wait for, but it swings when the machine is busy; CPU time (user +
# system of the rvc process) is reported beside it and is the steadier figure on a shared host.
#
# Results: Markdown on stdout and in bench/out/pipeline.md; progress on stderr.
#
# Environment:
#   RVC=...        the rvc command (default: node "$(dirname "$0")/../dist/cli/main.js")
#   BENCH_DIR=...  where the temporary work folder is made (default /tmp); removed at exit
#   RUNS=5         timed runs per operation; the median is reported
#   STAGES=200     stages per project (chain, fanout)
#   MULTI_STAGES=500  stages of the multi project (10 files × 50)

set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
RUNS=${RUNS:-5}
STAGES=${STAGES:-200}
MULTI_STAGES=${MULTI_STAGES:-500}
OUT_DIR=$HERE/out

case "${1:-}" in
  -h | --help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) echo "pipeline.sh: no arguments expected (see --help)" >&2; exit 2 ;;
esac


require_tools pipeline.sh

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/rvc-bench-pipeline.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# One run of `rvc ARGS` in DIR; prints "wall_ms cpu_ms".
once() {
  local dir=$1; shift
  local t
  t=$( { TIMEFORMAT='%R %U %S'; time (cd "$dir" && rvc "$@" >/dev/null 2>&1); } 2>&1 )
  awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.1f %.1f\n", a[1] * 1000, (a[2] + a[3]) * 1000 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The four operations of one project, measured in rounds: each round runs `rvc --version`, an
# empty-repository `rvc status`, the no-op `rvc repro` and `rvc status` once, so that all four
# see the same load when the machine is shared. One warm-up round first. Prints, per operation,
# "wall_median cpu_median" on one line in that order.
measure_rounds() {
  local dir=$1 i k
  shift
  local -a repro_args=("$@")
  local -a w0 c0 w1 c1 w2 c2 w3 c3
  for ((i = -1; i < RUNS; i++)); do
    read -r a b < <(once "$WORK/empty" --version)
    read -r c d < <(once "$WORK/empty" status -q)
    read -r e f < <(once "$dir" repro -q "${repro_args[@]}")
    read -r g h < <(once "$dir" status -q)
    [ "$i" -lt 0 ] && continue
    w0+=("$a"); c0+=("$b"); w1+=("$c"); c1+=("$d"); w2+=("$e"); c2+=("$f"); w3+=("$g"); c3+=("$h")
  done
  for k in w0 c0 w1 c1 w2 c2 w3 c3; do
    local -n arr=$k
    printf '%s ' "$(printf '%s\n' "${arr[@]}" | median)"
  done
  echo
}

new_repo() {
  local dir=$1
  mkdir -p "$dir"
  git -C "$dir" init -q -b main
  git -C "$dir" config user.email bench@example.com
  git -C "$dir" config user.name bench
  (cd "$dir" && rvc init -q)
}

log "process start…"
new_repo "$WORK/empty"

ROWS=()
for shape in chain fanout multi; do
  dir=$WORK/$shape
  n=$STAGES
  args=()
  if [ "$shape" = multi ]; then n=$MULTI_STAGES; args=(-P); fi
  new_repo "$dir"
  node "$HERE/pipeline-gen.mjs" "$dir" "$shape" "$n"
  log "$shape: filling ($n stages)…"
  start=$(date +%s%N)
  (cd "$dir" && rvc repro -q "${args[@]}")
  fill_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  (cd "$dir" && git add -A && git commit -qm bench)
  log "$shape: no-op repro and status, with process start, $RUNS rounds…"
  read -r V_WALL V_CPU E_WALL E_CPU R_WALL R_CPU S_WALL S_CPU < <(measure_rounds "$dir" "${args[@]}")
  # The no-op must really be one: status reports nothing stale.
  if ! (cd "$dir" && rvc status --json | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>process.exit(JSON.parse(s).pipeline.clean?0:1))'); then
    log "pipeline.sh: $shape is not up to date after repro"; exit 1
  fi
  ROWS+=("$shape $n $fill_ms $R_WALL $R_CPU $S_WALL $S_CPU $V_WALL $V_CPU $E_WALL $E_CPU")
done

mkdir -p "$OUT_DIR"
{
  echo "### rvc pipelines: no-op \`repro\` and \`status\`, $STAGES stages (multi: $MULTI_STAGES in 10 files)"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| machine | $(nproc) cores, $(uname -sr), node $(node --version), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') |"
  echo "| timing | bash \`time\`, median of $RUNS rounds after one warm-up round; wall / CPU (user + sys) in ms; a round runs the four commands of a row once each |"
  echo
  echo "| project | fill (first repro) | \`rvc --version\` | \`rvc status\`, empty repository | no-op \`repro\` | \`status\` | repro ÷ status (≤ 2) | repro per stage beyond start (≤ 1 ms) | status per stage beyond start (≤ 1 ms) | per stage beyond an empty \`rvc status\`, CPU: repro / status |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for row in "${ROWS[@]}"; do
    read -r shape n fill rw rc sw sc vw vc ew ec <<<"$row"
    awk -v shape="$shape" -v n="$n" -v fill="$fill" -v rw="$rw" -v rc="$rc" -v sw="$sw" -v sc="$sc" -v vw="$vw" -v vc="$vc" -v ew="$ew" -v ec="$ec" '
      function mark(ok) { return ok ? "✓" : "✗" }
      BEGIN {
        ratio_w = rw / sw; ratio_c = rc / sc
        prw = (rw - vw) / n; prc = (rc - vc) / n; psw = (sw - vw) / n; psc = (sc - vc) / n
        printf "| %s | %.1f s | %.0f / %.0f ms | %.0f / %.0f ms | %.0f / %.0f ms | %.0f / %.0f ms | %.2f %s / %.2f %s | %.2f %s / %.2f %s ms | %.2f %s / %.2f %s ms | %.2f / %.2f ms |\n",
          shape, fill / 1000, vw, vc, ew, ec, rw, rc, sw, sc, ratio_w, mark(ratio_w <= 2), ratio_c, mark(ratio_c <= 2),
          prw, mark(prw <= 1), prc, mark(prc <= 1), psw, mark(psw <= 1), psc, mark(psc <= 1), (rc - ec) / n, (sc - ec) / n
      }'
  done
  echo
  echo "Each cell: wall / CPU, each marked against its target. On a busy host wall time includes waiting for a core; CPU time does not."
  echo "Beyond \`rvc --version\`, the fixed cost of loading the library (the empty-repository \`rvc status\`) counts against the stages; the last column leaves it out."
} | tee "$OUT_DIR/pipeline.md"
