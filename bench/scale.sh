#!/usr/bin/env bash
# bench/scale.sh: rvc on a million tiny files. Generates N files of a few bytes (1,000 per
# folder, every content distinct, so the cache gets N objects) in a temporary folder, then
# measures wall time, peak RSS and the most file descriptors open at once of:
#
#   rvc add data            (hash and store N files, write one manifest)
#   rvc status              (nothing changed: the no-op every user runs most)
#   rvc push                (to a local-folder remote)
#   rvc checkout            (into an empty workspace: data/ removed first)
#
# Run it (build dist/ once first with `npm run build`):
#
#   bash bench/scale.sh              # 1,000,000 files (about 4 GiB of disk for data, cache,
#                                    # remote and checkout: 4 KiB blocks per tiny file)
#   bash bench/scale.sh 100000       # any N; 100,000 finds problems in a few minutes
#
# Every rvc command runs under `ulimit -n $FD_LIMIT` (default 1024, the common default soft
# limit), so running out of descriptors fails the run instead of going unnoticed.
#
# Results: Markdown on stdout and in bench/out/scale-<N>.md; progress on stderr.
#
# Environment:
#   RVC=...        the rvc command (default: node <repo>/dist/cli/main.js)
#   BENCH_DIR=...  where the temporary work folder is made (default /tmp); removed at exit
#   FD_LIMIT=1024  the descriptor limit rvc runs under
#   KEEP=1         keep the work folder
#
# Peak RSS is GNU time's %M (the largest resident set of the process; git subprocesses are
# measured separately by the kernel and are far smaller). Open descriptors are sampled from
# /proc/<pid>/fd every 50 ms.

set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
N=${1:-1000000}
FD_LIMIT=${FD_LIMIT:-1024}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
OUT_DIR=$HERE/out

case "$N" in -h | --help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[[ "$N" =~ ^[0-9]+$ ]] || { echo "usage: bash bench/scale.sh [N]" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }


WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/rvc-scale.XXXXXX")
cleanup() { [ -n "${KEEP:-}" ] && { log "kept $WORK"; return; }; rm -rf "$WORK"; }
trap cleanup EXIT
REPO=$WORK/repo
mkdir -p "$REPO" "$OUT_DIR"
cd "$REPO"
git init -q -b main
git config user.email bench@example.com
git config user.name "rvc bench"
git config commit.gpgsign false
rvc init -q
git add -A && git commit -q -m init

log "generating $N files…"
t0=$(date +%s.%N)
node "$HERE/scale-gen.mjs" "$N" "$REPO/data"
t1=$(date +%s.%N)
GEN_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
log "  $GEN_S s"

ROWS=()
# measure NAME ARGS…: runs rvc ARGS under the descriptor limit; records time, RSS, max fds.
measure() {
  local name=$1; shift
  log "$name…"
  local tf=$WORK/time.txt fdf=$WORK/fds.txt
  : >"$fdf"
  # The subshell execs GNU time, whose child is rvc (node): poll that child's descriptors.
  ( ulimit -n "$FD_LIMIT"; eval "exec /usr/bin/time -f '%e %M' -o $(printf %q "$tf") $RVC"' "$@"' ) >"$WORK/out.txt" 2>"$WORK/err.txt" &
  local tp=$! maxfd=0 child="" n
  while kill -0 "$tp" 2>/dev/null; do
    [ -z "$child" ] && child=$(pgrep -P "$tp" | head -n1 || true)
    if [ -n "$child" ]; then
      n=$(ls "/proc/$child/fd" 2>/dev/null | wc -l || echo 0)
      ((n > maxfd)) && maxfd=$n
    fi
    sleep 0.05
  done
  local rc=0
  wait "$tp" || rc=$?
  if ((rc != 0)) || grep -q EMFILE "$WORK/err.txt"; then
    log "FAILED ($rc):"; tail -n 20 "$WORK/err.txt" >&2; exit 1
  fi
  local secs kb
  read -r secs kb < <(tail -n1 "$tf")
  local mib; mib=$(awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }')
  log "  $secs s, peak RSS $mib MiB, at most $maxfd descriptors open"
  ROWS+=("| \`rvc $*\` | $secs s | $mib MiB | $maxfd |")
}

measure add add data
git add data.rvc .gitignore && git commit -q -m data
measure status status
rvc remote add -d store "$WORK/store" -q
measure push push
rm -rf "$REPO/data"
measure checkout checkout
# The checkout must give back every file.
got=$(find "$REPO/data" -type f | wc -l)
[ "$got" -eq "$N" ] || { log "checkout restored $got of $N files"; exit 1; }

{
  echo "### $(printf "%'d" "$N" 2>/dev/null || echo "$N") files"
  echo
  echo "Generated in $GEN_S s; every command ran under \`ulimit -n $FD_LIMIT\`."
  echo
  echo "| command | wall time | peak RSS | most descriptors open |"
  echo "|---|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), node $(node --version), $(df -T "$WORK" | awk 'NR == 2 { print $2 }') at $(dirname "$WORK")."
} | tee "$OUT_DIR/scale-$N.md"
