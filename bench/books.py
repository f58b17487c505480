#!/usr/bin/env python3
"""Generate the benchmarks' catalogue: ROWS books as a TSV table and the
mapping that imports it (WORK/books.tsv, WORK/books.map); with --stream,
also a git fast-import stream of the same records as canonical JSON at
the same paths, in commits of 1,000 (WORK/stream)."""
import base64, hashlib, json, sys

rows, work = int(sys.argv[1]), sys.argv[2]
stream = "--stream" in sys.argv[3:]
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
if not stream:
    sys.exit(0)
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
