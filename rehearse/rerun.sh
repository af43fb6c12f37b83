#!/usr/bin/env bash
# rerun.sh NAME SOURCE_URL STORAGE_DIR TAG [flags]: migrate again with NAME's ledger (no reset), then verify.
set -uo pipefail
name=$1 src=$2 storage=$3 tag=$4; shift 4
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$HERE/../target/release/twenty-migrate}
ROOT=${ROOT:-/opt/real-twenty}
set -a; . "$ROOT/target.env"; set +a
start=$(date +%s.%N)
"$BIN" migrate --source "$src" --storage-dir "$storage" --state "$name.state.sqlite" \
  --report "$name-$tag-report.json" --rejects "$name-$tag-rejects.jsonl" --rate-limit 100000/min "$@" \
  > "$name-$tag-migrate.txt" 2> "$name-$tag-migrate.err"
echo "migrate exit $? in $(echo "$(date +%s.%N) - $start" | bc) s"
"$BIN" verify --source "$src" --storage-dir "$storage" --state "$name.state.sqlite" "$@" > "$name-$tag-verify.txt" 2> "$name-$tag-verify.err"
echo "verify exit $?"
