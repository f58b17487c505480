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
python3 - "$rows" "$work" <<'PY'
import base64, hashlib, json, sys
rows, work = int(sys.argv[1]), sys.argv[2]
subjects = ["Mathematics", "Biology", "History", "Physics", "Languages"]
licences = ["CC BY 4.0", "CC BY-SA 4.0", "CC BY-NC-SA 3.0", "CC0 1.0"]
ids = {"CC BY 4.0": "CC-BY-4.0", "CC BY-SA 4.0": "CC-BY-SA-4.0",
       "CC BY-NC-SA 3.0": "CC-BY-NC-SA-3.0", "CC0 1.0": "CC0-1.0"}
with open(work + "/books.tsv", "w") as t:
    t.write("key\ttitle\tcategory\tlicense\turl\n")
    for i in range(rows):
        t.write("book-%d\tAn open textbook, volume %d\t%s\t%s\t"
                "https://books.example.org/%d\n"
                % (i, i, subjects[i % 5], licences[i % 4], i))
with open(work + "/books.map", "w") as m:
    m.write("[source]\n\tid = key\n\tprefix = bench:\n"
            "[field \"title\"]\n\tcolumn = title\n\tlanguage = en\n"
            "[field \"languages\"]\n\tdefault = en\n"
            "[field \"subjects\"]\n\tcolumn = category\n"
            "[field \"licence\"]\n\tcolumn = license\n"
            "[field \"source_url\"]\n\tcolumn = url\n")
now = "2026-12-03T12:00:00Z"
with open(work + "/stream", "wb") as s:
    for start in range(0, rows, 1000):
        s.write(b"commit refs/catalog/bench\n"
                b"committer bench <bench@oernode> 1764763200 +0000\n"
                b"data 13\nimport table\n")
        for i in range(start, min(start + 1000, rows)):
            sid = "bench:book-%d" % i
            local = base64.b32encode(hashlib.sha256(sid.encode()).digest())
            local = local.decode().lower()[:12]
            doc = {"id": "bench/" + local, "languages": ["en"],
                   "licence": ids[licences[i % 4]], "schema": 1,
                   "source_id": sid,
                   "source_url": "https://books.example.org/%d" % i,
                   "subjects": [{"source": "", "value": subjects[i % 5]}],
                   "title": {"en": "An open textbook, volume %d" % i},
                   "updated": now}
            body = json.dumps(doc, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode()
            s.write(b"M 100644 inline %s/%s.json\ndata %d\n%s\n"
                    % (local[:2].encode(), local.encode(), len(body), body))
        s.write(b"\n")
PY

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
