#!/usr/bin/env bash
# run.sh NAME SOURCE_URL STORAGE_DIR [migrate flags…]: one rehearsal into the real-twenty server
# of ROOT (default /opt/real-twenty): reset it, empty its Apple workspace, migrate, verify, and
# compare the files by sha256 (WS=<source workspace id>). Output in ./NAME-*.txt. The API key comes from ROOT/target.env.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
name=$1 src=$2 storage=$3; shift 3
ROOT=${ROOT:-/opt/real-twenty}
BIN=${BIN:-$HERE/../target/release/twenty-migrate}
# The real-twenty scripts: shared/real-twenty beside this repository, or REAL_TWENTY.
REAL_TWENTY=${REAL_TWENTY:-$HERE/../../shared/real-twenty}
. "$REAL_TWENTY/common.sh"
ROOT=$ROOT "$REAL_TWENTY/reset.sh" > "$name-reset.log" 2>&1 || { echo "reset failed"; exit 2; }
set -a; . "$ROOT/target.env"; set +a
"$HERE/empty-workspace.sh" "${PG_PORT:-55432}" "$TWENTY_WORKSPACE_ID"
rm -f "$name".state.sqlite
start=$(date +%s.%N)
"$BIN" migrate --source "$src" --storage-dir "$storage" --state "$name.state.sqlite" \
  --report "$name-report.json" --rejects "$name-rejects.jsonl" --rate-limit 100000/min "$@" \
  > "$name-migrate.txt" 2> "$name-migrate.err"
echo "migrate exit $? in $(echo "$(date +%s.%N) - $start" | bc) s"
"$BIN" verify --source "$src" --storage-dir "$storage" "$@" > "$name-verify.txt" 2> "$name-verify.err"
echo "verify exit $?"
[ -n "${WS:-}" ] && python3 "$HERE/compare-files.py" "$src" "$WS" "$storage"
