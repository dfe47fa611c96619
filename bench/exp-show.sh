#!/usr/bin/env bash
# bench/exp-show.sh: `rvc exp show` over many experiments of one baseline.
#
#   npm run build                       # build dist/ once
#   bash bench/exp-show.sh              # 1,000 experiments
#   EXPS=5000 bash bench/exp-show.sh
#
# Builds (not timed) a repository with a one-stage pipeline (params seed and lr, a metrics file
# git tracks) committed as the baseline, then EXPS experiment commits of it under refs/exps/,
# each with its own params.yaml and metrics.json, written by one `git fast-import` (no pipeline
# is run). Times whole commands, node start-up included (median of RUNS):
#   1. `rvc exp show --json`
#   2. `rvc exp show --replicates seed --json` (the experiments form EXPS/10 groups)
# Results: Markdown on stdout and in bench/out/exp-show.md; progress on stderr.
#
# Environment: RVC (default: node dist/cli/main.js), BENCH_DIR (default /tmp), EXPS=1000, RUNS=3.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
require_tools exp-show.sh
EXPS=${EXPS:-1000}
RUNS=${RUNS:-3}
bench_work exp-show
REPO=$WORK/repo
log() { printf '[exp-show] %s\n' "$*" >&2; }

log "building a baseline and $EXPS experiments in $REPO"
bench_repo "$REPO"
cat > rvc.yaml <<'YAML'
stages:
  train:
    cmd: node train.js
    params: [seed, lr]
    metrics:
      - metrics.json:
          cache: false
YAML
printf 'seed: 0\nlr: 0.1\n' > params.yaml
printf '{"acc": 0.5, "loss": 1.0}\n' > metrics.json
git add -A && git commit -qm baseline
BASE=$(git rev-parse HEAD)
node - "$BASE" "$EXPS" <<'JS' | git fast-import --quiet
const [base, n] = [process.argv[2], Number(process.argv[3])];
const out = [];
const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;
for (let i = 0; i < n; i++) {
  const seed = i % 10, lr = (Math.floor(i / 10) + 1) / 1000;
  const name = `exp-${i}`;
  const msg = `rvc exp: ${name}\n\nRvc-Exp-Name: ${name}\nRvc-Exp-Params: ["seed=${seed}","lr=${lr}"]\n`;
  out.push(`commit refs/exps/${base.slice(0, 2)}/${base.slice(2)}/${name}`,
    `committer bench <bench@example.com> ${1700000000 + i} +0000`, data(msg).trimEnd(), `from ${base}`,
    `M 100644 inline params.yaml`, data(`seed: ${seed}\nlr: ${lr}\n`).trimEnd(),
    `M 100644 inline metrics.json`, data(JSON.stringify({ acc: 0.5 + lr + seed / 1000, loss: 1 - lr }) + '\n').trimEnd(), '');
}
process.stdout.write(out.join('\n') + '\n');
JS
NREFS=$(git for-each-ref refs/exps | wc -l)

timeit() {
  local times=() t0
  for _ in $(seq "$RUNS"); do
    t0=$(now)
    "$@" > "$WORK/out.json"
    times+=("$(secs "$t0" "$(now)")")
  done
  printf '%s\n' "${times[@]}" | median
}
log "rvc exp show --json ($RUNS runs)"
SHOW_S=$(timeit $RVC exp show --json)
ROWS=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).rows.length)' "$WORK/out.json")
log "rvc exp show --replicates seed --json ($RUNS runs)"
REPL_S=$(timeit $RVC exp show --replicates seed --json)
NGROUPS=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).groups.length)' "$WORK/out.json")

{
  echo "## rvc exp show: $NREFS experiments of one baseline"
  echo
  echo "| command | seconds (median of $RUNS) | result |"
  echo "|---|---|---|"
  echo "| \`exp show --json\` | $SHOW_S | $ROWS rows |"
  echo "| \`exp show --replicates seed --json\` | $REPL_S | $NGROUPS groups |"
} | tee "$OUT_DIR/exp-show.md"
