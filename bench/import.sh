#!/usr/bin/env bash
# Benchmark of `oernode import table` against `git fast-import`: a table
# of ROWS generated rows (default 100,000) imported by oernode (read,
# mapped, validated, canonical JSON, signed commits of 10,000 records),
# against git fast-import writing the same records as canonical JSON
# documents at the same paths, in as many commits, into a bare
# repository.  Prints both times and their ratio; the goal is at most 2.
# Builds oernode in Release, without sanitizers, in $BUILD (default
# build-bench/ of the source tree).  See bench/README.md.
set -euo pipefail

rows=${1:-100000}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build-bench}
work=$(mktemp -d "${TMPDIR:-/tmp}/oernode-bench-import-XXXXXX")
trap 'rm -rf "$work"' EXIT

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DOERNODE_SANITIZE=OFF -DOERNODE_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target oernode >/dev/null
oernode=$build/oernode

# The table, the mapping, and the fast-import stream of the same records.
python3 "$src/bench/books.py" "$rows" "$work" --stream

export OERNODE_DATA=$work/data
"$oernode" -q init --id bench >/dev/null
git init -q --bare "$work/fast.git"

t0=$(date +%s.%N)
"$oernode" -q import table --map "$work/books.map" "$work/books.tsv" \
    >"$work/summary"
t1=$(date +%s.%N)
git -C "$work/fast.git" fast-import --quiet <"$work/stream"
t2=$(date +%s.%N)

grep -q "^$rows new" "$work/summary" || { cat "$work/summary"; exit 1; }
python3 - "$rows" "$t0" "$t1" "$t2" "$(head -1 "$work/summary")" <<'PY'
import sys
rows, t0, t1, t2 = int(sys.argv[1]), *map(float, sys.argv[2:5])
ours, git = t1 - t0, t2 - t1
print("oernode import table: %d rows in %.2f s (%.0f rows/s): %s"
      % (rows, ours, rows / ours, sys.argv[5]))
print("git fast-import:      %d documents in %.2f s (%.0f documents/s)"
      % (rows, git, rows / git))
print("ratio oernode/git fast-import: %.2f (goal: at most 2)" % (ours / git))
PY
