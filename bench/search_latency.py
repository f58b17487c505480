#!/usr/bin/env python3
"""Latency of the search benchmark's queries (bench/search.sh): each
query of QUERIES (a name and a query string a line) N times (fewer when
they take more than a minute, ten at least) through GET
/api/search at BASE (one keep-alive connection, one request at a time),
and N times as the same statements run directly in SQLite on INDEX (the
SQL node/index.c issues for that query, see direct(), in one read
transaction).  Prints p50 and p99 of
each and their ratios, after the floor of the API's side: GET /api/peers,
answered on the node's loop thread without SQLite, on the same
connection.

usage: search_latency.py BASE INDEX QUERIES N"""
import http.client, json, sqlite3, sys, time, urllib.parse

base, index, queries, n = sys.argv[1], sys.argv[2], sys.argv[3], \
    int(sys.argv[4])

# The SQL of node/index.c, index_search (keep in step with it).
HIT_COLUMNS = (
    "d.id, d.licence, d.titles, d.updated, d.levels, d.origin,"
    " coalesce((SELECT avg(rating) FROM para.rating r WHERE r.id = d.id),"
    " 0.0) AS avg_rating,"
    " (SELECT count(*) FROM para.rating r WHERE r.id = d.id),"
    " coalesce((SELECT n FROM para.download w WHERE w.id = d.id), 0)"
    " AS downloads")
PARA = ("SELECT d.id, coalesce((SELECT avg(rating) FROM para.rating r"
        " WHERE r.id = d.id), 0.0), coalesce((SELECT n FROM para.download w"
        " WHERE w.id = d.id), 0) FROM doc d WHERE d.rowid = ?")
NEWEST = ("SELECT " + HIT_COLUMNS + " FROM doc d"
          " ORDER BY d.rowid LIMIT ? OFFSET ?")
ROWS = "SELECT " + HIT_COLUMNS + " FROM doc d WHERE d.rowid IN (%s)"
STREAM = "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rowid LIMIT ?"
PROBE = ("SELECT count(*) < ?1 FROM (SELECT 1 FROM fts WHERE fts MATCH ?2"
         " LIMIT ?1)")
SCORED = "SELECT rowid, bm25(fts, 10.0, 2.0, 5.0, 0.0) FROM fts WHERE fts MATCH ?"
SAMPLE_FACETS = ("SELECT kind, value, count(*) AS n FROM facet"
                 " WHERE doc IN (SELECT value FROM json_each(?))"
                 " GROUP BY kind, value ORDER BY kind, n DESC, value")
WHOLE_FACETS = ("SELECT kind, value, n FROM facet_count WHERE kind >= 0"
                " ORDER BY kind, n DESC, value")
WHOLE_TOTAL = ("SELECT coalesce((SELECT n FROM facet_count"
               " WHERE kind = -1), 0)")
FACETS_ORDER = ["level", "subject", "language", "licence", "type",
                "audience", "origin"]
SAMPLE, RANK_MAX, LIMIT = 1000, 1000, 20
BUDGET = 60  # seconds a search at most (but ten requests at least)


def fts_query(text):
    """index_query_fts: every word a quoted phrase."""
    words = [w.rstrip("*") for w in text.split()]
    return " ".join('"%s"' % w.replace('"', '""') for w in words
                    if any(c.isalnum() for c in w))


def tag(kind, value):
    """tag_token: a facet value as one token of the tags column."""
    return "f%dx%s" % (kind, value.encode().hex())


def text_of(words):
    """search_match: the words in the text columns."""
    return "{title description keywords} : (%s)" % words


def match_of(words, keys):
    """search_match: the words, and a filter's values in the tags
    column."""
    parts = [text_of(words)] if words else []
    parts += ["tags : (%s)" % " OR ".join(tag(k, x) for x in v)
              for k, v in keys]
    return " AND ".join(parts)


def direct(db, qs):
    """The statements index_search runs for the query string qs: for
    words, whether they match at most RANK_MAX records; the FTS5 query's
    hits newest first (to the sample and one more), the facet counts of
    the sample (grouped in SQL here, in a hash table there), for words few
    enough the bm25 of their records and the hits' paradata (sorted here
    as there), and the page."""
    args = urllib.parse.parse_qs(qs)
    words = fts_query(args.get("q", [""])[0])
    keys = [(k, args[f]) for k, f in enumerate(FACETS_ORDER) if f in args]
    db.execute("BEGIN")
    if not words and not keys:
        db.execute(WHOLE_TOTAL).fetchone()
        db.execute(NEWEST, (LIMIT, 0)).fetchall()
        db.execute(WHOLE_FACETS).fetchall()
        db.execute("COMMIT")
        return
    few = words and db.execute(PROBE, (RANK_MAX + 1,
                                       text_of(words))).fetchone()[0]
    rows = [r[0] for r in db.execute(STREAM, (match_of(words, keys),
                                              SAMPLE + 1))]
    db.execute(SAMPLE_FACETS, (json.dumps(rows[:SAMPLE]),)).fetchall()
    if few and len(rows) <= min(SAMPLE, RANK_MAX):
        # the node's ranking: bm25 scaled by paradata, then id
        ranked, hit = [], set(rows)
        for row, score in db.execute(SCORED, (text_of(words),)).fetchall():
            if row not in hit:
                continue
            rid, rating, downloads = db.execute(PARA, (row,)).fetchone()
            ranked.append((score * (1.0 + ((rating - 3.0) * 0.05 if rating > 0
                                           else 0) + min(downloads, 100)
                                    / 1000.0), rid, row))
        page = [r for _, _, r in sorted(ranked)[:LIMIT]]
    else:
        page = rows[:LIMIT]
    if page:
        db.execute(ROWS % ", ".join("?" * len(page)), page).fetchall()
    db.execute("COMMIT")


def pct(times, p):
    s = sorted(times)
    return s[min(len(s) - 1, int(len(s) * p / 100))] * 1000


def floor(conn, n):
    """p50 and p99 of a request that does no search: the HTTP round
    trip, which every API time includes and no direct time does."""
    times = []
    for i in range(n + 2):
        t0 = time.perf_counter()
        conn.request("GET", "/api/peers")
        r = conn.getresponse()
        r.read()
        if i >= 2:
            times.append(time.perf_counter() - t0)
        if r.status != 200:
            sys.exit("/api/peers: HTTP %d" % r.status)
    return pct(times, 50), pct(times, 99)


def main():
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port)
    print("http floor (GET /api/peers, %d requests): p50 %.2fms p99 %.2fms"
          % ((10 * n,) + floor(conn, 10 * n)))
    db = sqlite3.connect(index, isolation_level=None)
    db.execute("ATTACH ? AS para", (index.replace("index.sqlite",
                                                  "paradata.sqlite"),))
    print("%-18s %9s %9s %9s %9s %7s %7s  %s" % (
        "search", "api p50", "api p99", "sql p50", "sql p99", "x p50",
        "x p99", "requests, hits, order"))
    for line in open(queries):
        name, qs = line.rstrip("\n").split("\t")
        api, sql = [], []
        start = time.perf_counter()
        for i in range(n + 2):  # two warm-up rounds
            if i >= 12 and time.perf_counter() - start > BUDGET:
                break
            t0 = time.perf_counter()
            conn.request("GET", "/api/search?" + qs)
            r = conn.getresponse()
            body = r.read()
            t1 = time.perf_counter()
            direct(db, qs)
            t2 = time.perf_counter()
            if r.status != 200:
                sys.exit("%s: HTTP %d %s" % (qs, r.status, body[:200]))
            if i >= 2:
                api.append(t1 - t0)
                sql.append(t2 - t1)
        a = json.loads(body)
        print("%-18s %7.2fms %7.2fms %7.2fms %7.2fms %7.2f %7.2f  %d, %s%d, %s"
              % (name, pct(api, 50), pct(api, 99), pct(sql, 50),
                 pct(sql, 99), pct(api, 50) / pct(sql, 50),
                 pct(api, 99) / pct(sql, 99), len(api),
                 "" if a.get("exact", True) else ">=", a["total"],
                 a["order"]))


main()
