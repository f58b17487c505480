#!/usr/bin/env bash
# Benchmark of catalogue sync between two nodes on loopback.  Node A holds
# ROWS generated records (default 100,000; `oernode import table`, commits
# of 10,000, untimed) and runs `oernode serve`; node B, peered with A,
# runs `oernode sync bench-a` once: a full sync over TLS, every commit
# verified and stored, timed until it exits with B's ref at A's head.
# Against it, in the same run, `git fetch` of A's refs/catalog/bench-a
# from `git daemon` on loopback into a fresh bare repository.  Then the
# no-change sync: `oernode sync bench-a` again, B up to date, at ROWS and
# at SMALL records (default 1,000; a second pair of nodes), the median of
# RUNS runs (default 3) each.  Prints the times and both ratios; the goals
# are a full sync no slower than git fetch and the same no-change time at
# both sizes.  Builds oernode in Release, without sanitizers, in $BUILD
# (default build-bench/ of the source tree).  See bench/README.md.
set -euo pipefail

rows=${1:-100000}
small=${SMALL:-1000}
runs=${RUNS:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build-bench}
work=$(mktemp -d "${TMPDIR:-/tmp}/oernode-bench-sync-XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -rf "$work"' EXIT

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DOERNODE_SANITIZE=OFF -DOERNODE_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target oernode >/dev/null
oernode=$build/oernode

now() { date +%s.%N; }
fingerprint() { "$oernode" --data "$1" id | sed -n 's/^fingerprint: //p'; }

# A pair under $work/NAME: a (ROWS records, served) and b (peered, empty).
# Sets peerport_NAME.
pair() {
    local name=$1 n=$2 dir=$work/$1
    mkdir -p "$dir"
    python3 "$src/bench/books.py" "$n" "$dir"
    "$oernode" -q --data "$dir/a" init --id bench-a >/dev/null
    "$oernode" -q --data "$dir/a" import table --map "$dir/books.map" \
        "$dir/books.tsv" >/dev/null
    "$oernode" -q --data "$dir/b" init --id bench-b >/dev/null
    "$oernode" -q --data "$dir/a" peer add bench-b 127.0.0.1:1 \
        "$(fingerprint "$dir/b")" >/dev/null
    "$oernode" -q --data "$dir/a" serve --http 127.0.0.1:0 \
        --port-file "$dir/port" --peer 127.0.0.1:0 \
        --peer-port-file "$dir/peerport" 2>"$dir/serve.log" &
    pids+=($!)
    # serve indexes the catalogue for search before it listens
    for _ in $(seq 3000); do
        [ -s "$dir/peerport" ] && break
        sleep 0.1
    done
    [ -s "$dir/peerport" ] ||
        { echo "bench/sync.sh: node A did not listen" >&2; exit 1; }
    "$oernode" -q --data "$dir/b" peer add bench-a \
        "127.0.0.1:$(cat "$dir/peerport")" "$(fingerprint "$dir/a")" \
        >/dev/null
}

# One `oernode sync bench-a` of pair NAME; prints its seconds, or fails
# unless B's ref is then A's head.
sync_once() {
    local dir=$work/$1 t0 t1
    t0=$(now)
    "$oernode" -q --data "$dir/b" sync --timeout 600 bench-a \
        >"$dir/sync.out" 2>&1 || { cat "$dir/sync.out" >&2; exit 1; }
    t1=$(now)
    [ "$(git -C "$dir/b/repo.git" rev-parse refs/catalog/bench-a)" = \
        "$(git -C "$dir/a/repo.git" rev-parse refs/catalog/bench-a)" ] ||
        { echo "bench/sync.sh: B did not reach A's head" >&2; exit 1; }
    python3 -c 'import sys; print("%.3f" % (float(sys.argv[2]) -
        float(sys.argv[1])))' "$t0" "$t1"
}

# The median of RUNS no-change syncs of pair NAME.
no_change() {
    local times=()
    for _ in $(seq "$runs"); do
        times+=("$(sync_once "$1")") || exit 1
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

pair big "$rows"

# git daemon serving A's repository; a free port found by binding port 0.
port=$(python3 -c 'import socket; s = socket.socket();
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git daemon --export-all --base-path="$work/big" --listen=127.0.0.1 \
    --port="$port" --reuseaddr 2>"$work/daemon.log" &
pids+=($!)
url=git://127.0.0.1:$port/a/repo.git
for _ in $(seq 100); do
    git ls-remote "$url" >/dev/null 2>&1 && break
    sleep 0.1
done
git init -q --bare "$work/fetch.git"

full=$(sync_once big)
t0=$(now)
git -C "$work/fetch.git" fetch -q "$url" \
    refs/catalog/bench-a:refs/catalog/bench-a
t1=$(now)
[ "$(git -C "$work/fetch.git" rev-parse refs/catalog/bench-a)" = \
    "$(git -C "$work/big/a/repo.git" rev-parse refs/catalog/bench-a)" ] ||
    { echo "bench/sync.sh: git fetch did not reach A's head" >&2; exit 1; }

quiet_big=$(no_change big)
pair small "$small"
sync_once small >/dev/null
quiet_small=$(no_change small)

python3 - "$rows" "$small" "$runs" "$full" "$t0" "$t1" "$quiet_big" \
    "$quiet_small" <<'PY'
import sys
rows, small, runs = map(int, sys.argv[1:4])
full, t0, t1, qbig, qsmall = map(float, sys.argv[4:9])
git = t1 - t0
print("oernode sync (full):  %d records in %.2f s (%.0f records/s)"
      % (rows, full, rows / full))
print("git fetch:            %d documents in %.2f s (%.0f documents/s)"
      % (rows, git, rows / git))
print("ratio oernode/git fetch: %.2f (goal: at most 1)" % (full / git))
print("no-change sync:       %.2f s at %d records, %.2f s at %d "
      "(median of %d)" % (qbig, rows, qsmall, small, runs))
print("ratio %d/%d records: %.2f (goal: 1)" % (rows, small, qbig / qsmall))
PY
