#!/usr/bin/env bash
# bench/scale.sh: rvc on a million tiny files. Generates N files of a few bytes (1,000 per
# folder, every content distinct, so the cache gets N objects) in a temporary folder, then
# measures wall time, peak RSS and the most file descriptors open at once of:
#
#   rvc add data            (hash and store N files, write one manifest)
#   rvc status              (nothing changed: the no-op every user runs most)
#   rvc push                (to a local-folder remote, packed: the default)
#   rvc checkout            (into an empty workspace: data/ removed first)
#   rvc pull                (from the folder remote, in a fresh `git clone` of the repository:
#                            empty cache and workspace, what a new user or CI runner does)
#   rvc push -r s3          (to the S3 test server, packed)
#   rvc pull -r s3          (from it, in another fresh clone)
#   rvc push -r s3          (PEROBJECT=1 only: to a new prefix with `packs false`, one object
#                            per request; keep N <= 100,000, at 10^6 this takes half an hour)
#
# The S3 server is bench/remote-s3server.mjs (s3rver on 127.0.0.1, an ephemeral port, stopped
# at exit), with the credentials the other S3 benches use.
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
#   PEROBJECT=1    also push to S3 with `packs false`
#   NO_S3=1        skip the S3 rows
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

case "$N" in -h | --help) sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[[ "$N" =~ ^[0-9]+$ ]] || { echo "usage: bash bench/scale.sh [N]" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }


export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN || true
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/rvc-scale.XXXXXX")
S3PID=''
cleanup() {
  if [ -n "$S3PID" ]; then kill "$S3PID" 2>/dev/null || true; wait "$S3PID" 2>/dev/null || true; fi
  [ -n "${KEEP:-}" ] && { log "kept $WORK"; return; }
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
}
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
  log "$name${LABEL:+ ($LABEL)}…"
  local tf=$WORK/time.txt fdf=$WORK/fds.txt
  : >"$fdf"
  # The subshell execs GNU time, whose child is rvc (node): poll that child's descriptors.
  ( ulimit -n "$FD_LIMIT"; eval "exec /usr/bin/time -f '%e %M' -o $(printf %q "$tf") $RVC"' "$@"' ) >"$WORK/out.txt" 2>"$WORK/err.txt" &
  # Children are looked up on every tick: before its exec the subshell briefly has a child of
  # its own (the command substitution), which must not be taken for rvc.
  local tp=$! maxfd=0 child n
  while kill -0 "$tp" 2>/dev/null; do
    for child in $(pgrep -P "$tp" || true); do
      n=$( (ls "/proc/$child/fd" 2>/dev/null || true) | wc -l)
      ((n > maxfd)) && maxfd=$n
    done
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
  ROWS+=("| \`rvc $*\`${LABEL:+ ($LABEL)} | $secs s | $mib MiB | $maxfd |")
}
# count_files DIR: regular files below DIR
count_files() { find "$1" -type f | wc -l; }
# fresh_clone DIR: a `git clone` of the repository (empty cache, no data), made the current folder
fresh_clone() {
  git clone -q "$REPO" "$1"
  cd "$1"
  git config user.email bench@example.com
  git config user.name "rvc bench"
}

measure add add data
git add data.rvc .gitignore && git commit -q -m data
measure status status
rvc remote add -d store "$WORK/store" -q
git add .rvc/config.yaml && git commit -q -m remote
LABEL='folder remote' measure push push
rm -rf "$REPO/data"
measure checkout checkout
# The checkout must give back every file.
got=$(count_files "$REPO/data")
[ "$got" -eq "$N" ] || { log "checkout restored $got of $N files"; exit 1; }

fresh_clone "$WORK/clone"
LABEL='folder remote, fresh clone' measure pull pull
got=$(count_files "$WORK/clone/data")
[ "$got" -eq "$N" ] || { log "pull restored $got of $N files"; exit 1; }
cd "$REPO"
chmod -R u+w "$WORK/clone" && rm -rf "$WORK/clone"

if [ -z "${NO_S3:-}" ]; then
  start_s3rver scale.sh
  rvc remote add s3 s3://bench/packed -q
  rvc remote modify s3 endpointurl "$ENDPOINT" -q
  git add .rvc/config.yaml && git commit -q -m s3
  LABEL='S3 server' measure push push -r s3
  S3_KEYS=$(find "$WORK/s3/bench/packed" -name '*._S3rver_object' | wc -l)
  fresh_clone "$WORK/clone-s3"
  LABEL='S3 server, fresh clone' measure pull pull -r s3
  got=$(count_files "$WORK/clone-s3/data")
  [ "$got" -eq "$N" ] || { log "pull from S3 restored $got of $N files"; exit 1; }
  cd "$REPO"
  chmod -R u+w "$WORK/clone-s3" && rm -rf "$WORK/clone-s3"
  if [ -n "${PEROBJECT:-}" ]; then
    rvc remote modify s3 url s3://bench/loose -q
    rvc remote modify s3 packs false -q
    LABEL='S3 server, packs false' measure push push -r s3
    S3_LOOSE_KEYS=$(find "$WORK/s3/bench/loose" -name '*._S3rver_object' | wc -l)
  fi
fi

{
  echo "### $(printf "%'d" "$N" 2>/dev/null || echo "$N") files"
  echo
  echo "Generated in $GEN_S s; every command ran under \`ulimit -n $FD_LIMIT\`."
  echo
  echo "| command | wall time | peak RSS | most descriptors open |"
  echo "|---|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  [ -n "${S3_KEYS:-}" ] && echo "Keys on the S3 server: $S3_KEYS packed${S3_LOOSE_KEYS:+, $S3_LOOSE_KEYS with \`packs false\`}." && echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), node $(node --version), $(df -T "$WORK" | awk 'NR == 2 { print $2 }') at $(dirname "$WORK")."
} | tee "$OUT_DIR/scale-$N.md"
