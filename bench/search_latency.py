#!/usr/bin/env python3
"""Latency of the search benchmark's queries (bench/search.sh): each
query of QUERIES (a name and a query string a line) N times (fewer when
they take more than a minute, ten at least) through GET
/api/search at BASE (one keep-alive connection, one request at a time),
and N times as the same statements run directly in SQLite on INDEX (the
SQL node/index.c issues for that query: the probe, the count, the hits
and the facet counts, in one read transaction).  Prints p50 and p99 of
each and their ratios.

usage: search_latency.py BASE INDEX QUERIES N"""
import http.client, json, sqlite3, sys, time, urllib.parse

base, index, queries, n = sys.argv[1], sys.argv[2], sys.argv[3], \
    int(sys.argv[4])

# The SQL of node/index.c, index_search (keep in step with it).
MATCH_COND = " AND d.rowid IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
HIT_COLUMNS = (
    "d.id, d.licence, d.titles, d.updated, d.levels, d.origin,"
    " coalesce((SELECT avg(rating) FROM para.rating r WHERE r.id = d.id),"
    " 0.0) AS avg_rating,"
    " (SELECT count(*) FROM para.rating r WHERE r.id = d.id),"
    " coalesce((SELECT n FROM para.download w WHERE w.id = d.id), 0)"
    " AS downloads")
RANKED = (
    "SELECT " + HIT_COLUMNS + " FROM fts"
    " JOIN doc d ON d.rowid = fts.rowid WHERE fts MATCH ?%s%s"
    " ORDER BY bm25(fts, 10.0, 2.0, 5.0) * (1.0"
    " + CASE WHEN avg_rating > 0 THEN (avg_rating - 3.0) * 0.05 ELSE 0 END"
    " + min(downloads, 100) / 1000.0), d.id LIMIT ? OFFSET ?")
DATED = ("SELECT " + HIT_COLUMNS + " FROM doc d WHERE 1%s%s"
         " ORDER BY d.updated DESC, d.id LIMIT ? OFFSET ?")
PROBE = ("SELECT count(*) FROM (SELECT rowid FROM fts"
         " WHERE fts MATCH ? LIMIT ?)")
FACETS = ("SELECT f.kind, f.value, count(*) AS n"
          " FROM (SELECT d.rowid AS r FROM doc d WHERE 1%s%s) m"
          " JOIN facet f ON f.doc = m.r GROUP BY f.kind, f.value"
          " ORDER BY f.kind, n DESC, f.value")
WHOLE_FACETS = ("SELECT kind, value, n FROM facet_count WHERE kind >= 0"
                " ORDER BY kind, n DESC, value")
WHOLE_TOTAL = ("SELECT coalesce((SELECT n FROM facet_count"
               " WHERE kind = -1), 0)")
FACETS_ORDER = ["level", "subject", "language", "licence", "type",
                "audience", "origin"]
RANK_MAX, LIMIT = 5000, 20
BUDGET = 60  # seconds a search at most (but ten requests at least)


def fts_query(text):
    """index_query_fts: every word a quoted phrase."""
    words = [w.rstrip("*") for w in text.split()]
    return " ".join('"%s"' % w.replace('"', '""') for w in words
                    if any(c.isalnum() for c in w))


def direct(db, qs):
    """The statements index_search runs for the query string qs."""
    args = urllib.parse.parse_qs(qs)
    match = fts_query(args.get("q", [""])[0]) or None
    keys = [(k, args[f]) for k, f in enumerate(FACETS_ORDER) if f in args]
    filters = "".join(
        " AND d.rowid IN (SELECT doc FROM facet WHERE kind = %d"
        " AND value IN (%s))" % (k, ", ".join("?" * len(v)))
        for k, v in keys) + " "
    binds = ([match] if match else []) + [x for _, v in keys for x in v]
    cond = MATCH_COND if match else ""
    db.execute("BEGIN")
    ranked = False
    if match:
        ranked = db.execute(PROBE, (match, RANK_MAX + 1)).fetchone()[0] \
            <= RANK_MAX
    if not match and not keys:
        db.execute(WHOLE_TOTAL).fetchone()
    elif not keys:
        db.execute("SELECT count(*) FROM fts WHERE 1 AND fts MATCH ? ",
                   binds).fetchone()
    else:
        db.execute("SELECT count(*) FROM doc d WHERE 1%s%s"
                   % (cond, filters), binds).fetchone()
    if ranked:
        db.execute(RANKED % ("", filters), binds + [LIMIT, 0]).fetchall()
    else:
        db.execute(DATED % (cond, filters), binds + [LIMIT, 0]).fetchall()
    if not match and not keys:
        db.execute(WHOLE_FACETS).fetchall()
    else:
        db.execute(FACETS % (cond, filters), binds).fetchall()
    db.execute("COMMIT")


def pct(times, p):
    s = sorted(times)
    return s[min(len(s) - 1, int(len(s) * p / 100))] * 1000


def main():
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port)
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
        print("%-18s %7.2fms %7.2fms %7.2fms %7.2fms %7.2f %7.2f  %d, %d, %s"
              % (name, pct(api, 50), pct(api, 99), pct(sql, 50),
                 pct(sql, 99), pct(api, 50) / pct(sql, 50),
                 pct(api, 99) / pct(sql, 99), len(api), a["total"],
                 a["order"]))


main()
