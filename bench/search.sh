#!/usr/bin/env bash
# Benchmark of search: a node of ROWS generated records (default
# 1,000,000; bench/records.py, imported with `oernode import table` and
# indexed with `oernode reindex`, untimed) served by `oernode serve` on
# loopback.  Each search of the generated list (a selective word, a
# common word, two words, a phrase, filters, no words with the facets of
# everything) N times (default 1000; fewer, ten at least, when a search
# takes over a minute) through GET /api/search, and as many times as the
# same SQL run directly in SQLite on the index file (python3's sqlite3):
# p50, p99 and their ratios (bench/search_latency.py).  Then requests per
# second with wrk, 4 connections for 10 s a search.  Goals: p99 at most
# 10 ms and at most 1.5 times the direct query.  Builds oernode in
# RelWithDebInfo, without sanitizers, in $BUILD (default build-bench/ of
# the source tree); KEEP=DIR keeps the node in DIR and reuses it when it
# holds ROWS records already.  See bench/README.md.
set -euo pipefail

rows=${1:-1000000}
n=${2:-1000}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build-bench}
if [ -n "${KEEP:-}" ]; then
    work=$KEEP
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/oernode-bench-search-XXXXXX")
fi
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOERNODE_SANITIZE=OFF -DOERNODE_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target oernode >/dev/null
oernode=$build/oernode
export OERNODE_DATA=$work/data

if [ "$(cat "$work/rows" 2>/dev/null)" != "$rows" ]; then
    rm -rf "$work/data" "$work/rows"
    python3 "$src/bench/records.py" "$rows" "$work"
    "$oernode" -q init --id bench >/dev/null
    t0=$(date +%s)
    for f in nl vl en de fr; do
        "$oernode" -q import table --map "$work/records-$f.map" \
            "$work/records-$f.tsv" >/dev/null
    done
    t1=$(date +%s)
    "$oernode" -q reindex
    t2=$(date +%s)
    echo "$rows" >"$work/rows"
    echo "setup: import $((t1 - t0)) s, reindex $((t2 - t1)) s," \
        "index $(du -m "$work/data/index.sqlite" | cut -f1) MB"
fi

# A kept node's index may need rebuilding (a new index schema or changed
# vocabularies): do it here, untimed, rather than in serve's start.
"$oernode" -q search --limit 0 >/dev/null

rm -f "$work/port"
"$oernode" -q serve --http 127.0.0.1:0 --port-file "$work/port" \
    --peer 127.0.0.1:0 2>"$work/serve.log" &
pid=$!
for _ in $(seq 300); do
    [ -s "$work/port" ] && break
    sleep 0.1
done
[ -s "$work/port" ] || { cat "$work/serve.log" >&2; exit 1; }
base=http://127.0.0.1:$(cat "$work/port")

echo "$rows records, $n requests a search, $(nproc) cores"
python3 "$src/bench/search_latency.py" "$base" \
    "$work/data/index.sqlite" "$work/queries" "$n"

echo "wrk: 4 connections, 2 threads, 10 s a search"
while IFS=$'\t' read -r name qs; do
    wrk -t2 -c4 -d10s --timeout 30s "$base/api/search?$qs" >"$work/wrk.out"
    printf '%-18s %10s requests/s  latency avg %s\n' "$name" \
        "$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")" \
        "$(awk '/^    Latency/ {print $2}' "$work/wrk.out")"
    if grep -q "Non-2xx" "$work/wrk.out"; then
        grep "Non-2xx" "$work/wrk.out"
    fi
done <"$work/queries"
