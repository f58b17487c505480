#!/usr/bin/env bash
# Benchmark of a whole OAI-PMH harvest of a node: ROWS generated records
# (default 100,000; imported with `oernode import table`, untimed) served
# by `oernode serve` on loopback with oai.page-size 1000, harvested in
# lom by `oernode import oai` into a second node and by HTTP::OAI
# (tests/integration/oai_harvest.pl, ListRecords, printing a line a
# record), in the same run.  Prints both times and their ratio, the
# provider's time a page (every page fetched and thrown away), and the
# time of a peer sync of the same catalogue into a third node: from
# starting its `oernode serve`, peered with the first, until its ref of
# the catalogue is the first node's head (given up after $SYNC_WAIT
# seconds, default 600); and `oernode sync` of a fourth node with the
# first, when the build has that command.  Builds
# oernode in Release, without sanitizers, in $BUILD (default
# build-bench/ of the source tree).  See bench/README.md.
set -euo pipefail

rows=${1:-100000}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build-bench}
work=$(mktemp -d "${TMPDIR:-/tmp}/oernode-bench-oai-XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -rf "$work"' EXIT

perl -MHTTP::OAI -e 1 2>/dev/null ||
    { echo "bench/oai.sh: needs HTTP::OAI (libhttp-oai-perl)" >&2; exit 1; }
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DOERNODE_SANITIZE=OFF -DOERNODE_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target oernode >/dev/null
oernode=$build/oernode

# The catalogue: a generated table through a five-field mapping.
python3 "$src/bench/books.py" "$rows" "$work"

a=$work/a
"$oernode" -q --data "$a" init --id bench-a >/dev/null
"$oernode" -q --data "$a" import table --map "$work/books.map" \
    "$work/books.tsv" >/dev/null
printf '[oai]\n\tpage-size = 1000\n' >>"$a/config"
fingerprint() { "$oernode" --data "$1" id | sed -n 's/^fingerprint: //p'; }
"$oernode" -q --data "$work/c" init --id bench-c >/dev/null
"$oernode" -q --data "$a" peer add bench-c 127.0.0.1:1 \
    "$(fingerprint "$work/c")" >/dev/null
"$oernode" -q --data "$work/d" init --id bench-d >/dev/null
"$oernode" -q --data "$a" peer add bench-d 127.0.0.1:1 \
    "$(fingerprint "$work/d")" >/dev/null
"$oernode" -q --data "$a" serve --http 127.0.0.1:0 \
    --port-file "$work/port" --peer 127.0.0.1:0 \
    --peer-port-file "$work/peerport" 2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 100); do
    [ -s "$work/port" ] && break
    sleep 0.1
done
[ -s "$work/port" ] || { cat "$work/serve.log" >&2; exit 1; }
url=http://127.0.0.1:$(cat "$work/port")/oai

"$oernode" -q --data "$work/b" init --id bench-b >/dev/null
t0=$(date +%s.%N)
"$oernode" -q --data "$work/b" import oai "$url" --prefix lom \
    >"$work/ours"
t1=$(date +%s.%N)
perl "$src/tests/integration/oai_harvest.pl" "$url" ListRecords lom \
    >"$work/perl.out" 2>"$work/perl.err"
t2=$(date +%s.%N)

grep -q "^$rows new" "$work/ours" || { cat "$work/ours"; exit 1; }
got=$(wc -l <"$work/perl.out")
[ "$got" = "$rows" ] || { echo "HTTP::OAI listed $got records" >&2; exit 1; }

# The provider alone: every page of the list, fetched and thrown away.
t3=$(date +%s.%N)
python3 - "$url" >"$work/pages" <<'PY'
import re, sys, urllib.parse, urllib.request
url, pages = sys.argv[1], 0
q = "verb=ListRecords&metadataPrefix=lom"
while True:
    body = urllib.request.urlopen(url + "?" + q).read().decode()
    pages += 1
    m = re.search(r"<resumptionToken[^>]*>([^<]+)</resumptionToken>", body)
    if not m:
        break
    q = "verb=ListRecords&resumptionToken=" + urllib.parse.quote(m.group(1))
print(pages)
PY
t4=$(date +%s.%N)

# Peer sync of the same catalogue: C dials A and fetches its catalogue.
head=$(git -C "$a/repo.git" rev-parse refs/catalog/bench-a)
"$oernode" -q --data "$work/c" peer add bench-a \
    "127.0.0.1:$(cat "$work/peerport")" "$(fingerprint "$a")" >/dev/null
t5=$(date +%s.%N)
"$oernode" -q --data "$work/c" serve --http 127.0.0.1:0 \
    --port-file "$work/cport" --peer 127.0.0.1:0 2>"$work/sync.log" &
pids+=($!)
synced=
for _ in $(seq $((${SYNC_WAIT:-600} * 20))); do
    if [ "$(git -C "$work/c/repo.git" rev-parse -q --verify \
        refs/catalog/bench-a 2>/dev/null)" = "$head" ]; then
        synced=$(date +%s.%N)
        break
    fi
    sleep 0.05
done
if [ -n "$synced" ]; then
    sync_line=$(python3 -c 'import sys; print("peer sync (serve):    "
        "%d records in %.2f s" % (int(sys.argv[1]),
        float(sys.argv[3]) - float(sys.argv[2])))' "$rows" "$t5" "$synced")
else
    sync_line="peer sync (serve): not done after ${SYNC_WAIT:-600} s: $(tail -1 "$work/sync.log")"
fi

# oernode sync: D dials A once and returns when both are settled.
cmd_line="oernode sync: not available yet (no \`oernode sync\` in this build)"
if "$oernode" help sync >/dev/null 2>&1; then
    "$oernode" -q --data "$work/d" peer add bench-a \
        "127.0.0.1:$(cat "$work/peerport")" "$(fingerprint "$a")" >/dev/null
    t7=$(date +%s.%N)
    if "$oernode" -q --data "$work/d" sync bench-a >"$work/dsync" 2>&1 &&
        [ "$(git -C "$work/d/repo.git" rev-parse refs/catalog/bench-a)" = \
            "$head" ]; then
        t8=$(date +%s.%N)
        cmd_line=$(python3 -c 'import sys; print("oernode sync:         "
            "%d records in %.2f s" % (int(sys.argv[1]),
            float(sys.argv[3]) - float(sys.argv[2])))' "$rows" "$t7" "$t8")
    else
        cmd_line="oernode sync: failed: $(tail -1 "$work/dsync")"
    fi
fi

python3 - "$rows" "$t0" "$t1" "$t2" "$t3" "$t4" "$(cat "$work/pages")" \
    "$(head -1 "$work/ours")" <<'PY'
import sys
rows = int(sys.argv[1])
t0, t1, t2, t3, t4 = map(float, sys.argv[2:7])
pages = int(sys.argv[7])
ours, perl, provider = t1 - t0, t2 - t1, t4 - t3
print("oernode import oai:   %d records in %.2f s (%.0f records/s): %s"
      % (rows, ours, rows / ours, sys.argv[8]))
print("HTTP::OAI:            %d records in %.2f s (%.0f records/s)"
      % (rows, perl, rows / perl))
print("ratio oernode/HTTP::OAI: %.2f" % (ours / perl))
print("provider alone:       %d pages in %.2f s (%.0f ms a page)"
      % (pages, provider, provider * 1000 / pages))
PY
echo "$sync_line"
echo "$cmd_line"
