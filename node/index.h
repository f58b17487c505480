/*
 * index: the node's search index, DATA/index.sqlite, derived from the git
 * store (docs/CLI.md, "The search index").  One FTS5 table holds the
 * titles, descriptions and keywords of every record in every language,
 * and its facet values as tokens of a tags column, which the filters
 * match; each record's row lists the ids of its facet values, which a
 * search counts for its first hits, and a table of (document, facet,
 * value) rows keeps the counts of the whole index.  For each origin it
 * records the catalogue commit it has indexed, and catches up from there
 * to the head.
 *
 * Threads: a struct index is one SQLite connection, used on the thread
 * that opened it and never shared; a worker that answers a request opens
 * its own (WAL mode lets readers run beside one writer; the busy timeout
 * makes a second writer wait its turn).
 */
#ifndef OERNODE_INDEX_H
#define OERNODE_INDEX_H

#include <stddef.h>

#include <jansson.h>

#include "federation/vocab.h"
#include "node/store.h"

#define INDEX_LIMIT_DEFAULT 20
#define INDEX_LIMIT_MAX 100
#define INDEX_OFFSET_MAX 100000
#define INDEX_QUERY_MAX 1000   /* bytes of a user's query */
#define INDEX_QUERY_WORDS 32   /* its words */
#define INDEX_FILTER_VALUES 8  /* values of one facet in one query */
/* A search counts its hits and their facet values up to this many (the
 * newest), unless the query says otherwise (see index_search). */
#define INDEX_SAMPLE 1000
/* Words that match more records than this (filters aside) order their
 * hits by date rather than by bm25 (see index_search). */
#define INDEX_RANK_MAX 1000

/* The facets, in the order of the JSON answer. */
enum index_facet {
    INDEX_LEVEL,
    INDEX_SUBJECT,
    INDEX_LANGUAGE,
    INDEX_LICENCE,
    INDEX_TYPE,
    INDEX_AUDIENCE,
    INDEX_ORIGIN,
    INDEX_FACETS
};

struct index;

/* Name of a facet as the API and the JSON answer spell it ("level",
 * "type"); a static string. */
const char *index_facet_name(enum index_facet f);

/* Process-wide SQLite settings for many connections on worker threads;
 * call first thing in main, before any SQLite use (later it does
 * nothing). */
void index_sqlite_setup(void);

/*
 * Open (and create, or upgrade by rebuilding the tables) the index at
 * path.  *out is the caller's; close it with index_free.  OER_EIO when
 * the file cannot be opened or is not an index.
 */
int index_open(struct index **out, const char *path);

/* Accepts NULL. */
void index_free(struct index *ix);

/* The vocabulary folder when the configuration names none. */
#ifdef OERNODE_SOURCE_DIR
#define INDEX_VOCAB_DIR OERNODE_SOURCE_DIR "/vocab"
#else
#define INDEX_VOCAB_DIR "vocab"
#endif

/*
 * Index and search levels and subjects through the vocabularies of the
 * folder dir (federation/vocab.h, docs/VOCABULARIES.md) rather than as
 * plain values.  Loads them, and hashes their files (SHA-256 over the
 * names and bytes of every *.json, in name order); the index records the
 * hash it was built with, and when it differs (or the index was built
 * without vocabularies) the next index_catch_up rebuilds every origin.
 * Call it after index_open, before catching up or searching; without it
 * terms are indexed as their plain values.  Returns 0, OER_EIO,
 * OER_EINVAL (a bad vocabulary, logged) or OER_ENOMEM; the index is
 * unchanged on failure.
 */
int index_use_vocab(struct index *ix, const char *dir);

/*
 * A connection to the index at path with the vocabularies of vocab_dir
 * (index_use_vocab; without them, logged, it serves plain values), for a
 * server's worker threads: an idle one opened earlier for the same path
 * and folder, else a new one.  *out is the caller's, to use on one thread
 * at a time and hand back with index_pool_give (or close with index_free
 * after a failure).  The vocabularies are read when a connection opens,
 * not again.  Returns what index_open returns.  Thread-safe.
 */
int index_pool_take(struct index **out, const char *path,
                    const char *vocab_dir);

/* Keep ix (from index_pool_take; others are closed) idle for the next
 * index_pool_take; at most 16 are kept, the rest closed, and the idle
 * ones close when the process exits.  Accepts NULL.  Thread-safe. */
void index_pool_give(struct index *ix);

/* The vocabulary index_use_vocab loaded (owned by ix), or NULL. */
const struct vocab *index_vocab(const struct index *ix);

/* What a catch-up did, for logs and tests. */
struct index_stats {
    size_t origins_rebuilt; /* catalogues indexed from scratch */
    size_t origins_updated; /* catalogues caught up incrementally */
    size_t origins_dropped; /* catalogues no longer in the store */
    size_t documents;       /* records put or removed */
};

/*
 * Bring the index up to the heads of every catalogue of s.  For each
 * origin: nothing when its recorded commit is the head; the documents
 * changed between the recorded commit and the head (store_changes) when
 * the head descends from it; otherwise (unknown, or history rewritten) the
 * origin's rows are rebuilt from the head.  A tombstone removes a record.
 * Each origin is one transaction that also moves its recorded commit, so
 * a crash leaves the previous consistent state.  When the vocabularies
 * differ from those the index was built with, every origin is indexed
 * again in one transaction (searches read the old index meanwhile).
 * stats may be NULL.
 */
int index_catch_up(struct index *ix, struct store *s,
                   struct index_stats *stats);

/*
 * index_catch_up for a search: waiting at most wait_ms for another
 * connection that is writing (catching up or rebuilding), and never
 * rebuilding for vocabularies other than the index was built with.
 * OER_ETIMEOUT when the writer still writes, or when the index is to be
 * rebuilt (by index_catch_up, the daemon's indexer): the index stays as
 * it is, for the search to read.
 */
int index_catch_up_within(struct index *ix, struct store *s,
                          struct index_stats *stats, int wait_ms);

/* Whether ix holds exactly heads (origin -> commit hex, as store_heads
 * gives them), built with the vocabularies it uses: then index_catch_up
 * would change nothing.  Reads only. */
int index_holds(struct index *ix, const json_t *heads);

/* Drop every row and index every catalogue of s from its head: the state
 * index_catch_up reaches, in one transaction. */
int index_rebuild(struct index *ix, struct store *s,
                  struct index_stats *stats);

/* A search.  Strings are borrowed. */
struct index_query {
    const char *text; /* the user's words, or NULL / "" for everything */
    const char *filters[INDEX_FACETS][INDEX_FILTER_VALUES];
    size_t nfilters[INDEX_FACETS]; /* values of one facet: any of them */
    const char *lang; /* language for "title" of each hit, or NULL */
    /* The searcher's education system ("be-vl", "nl"): level and subject
     * filters are its terms, and each hit shows its levels in it; NULL
     * for none. */
    const char *system;
    long limit;       /* 0 to INDEX_LIMIT_MAX */
    long offset;      /* 0 to INDEX_OFFSET_MAX */
    long sample;      /* hits counted exactly; 0 for INDEX_SAMPLE */
    /* 0 (relevance): ranked where the words are selective (see
     * index_search), else newest first; INDEX_SORT_NEWEST: newest first
     * always */
    int sort;
};

#define INDEX_SORT_NEWEST 1

/*
 * Translate a user's text into a safe FTS5 query: each word (a run
 * without white space) holding a letter or digit becomes a quoted phrase
 * (quotes doubled), so that no operator, column filter or bracket the
 * user typed means anything to FTS5; a word ending in '*' matches as a
 * prefix.  *out is malloc'd (the caller's): "" when no word is left.
 * OER_EINVAL when text is longer than INDEX_QUERY_MAX, has more than
 * INDEX_QUERY_WORDS such words or is not valid UTF-8; OER_ENOMEM.
 */
int index_query_fts(char **out, const char *text);

/* Whether text (NULL: none) is valid UTF-8, as index_search wants every
 * text of a query. */
int index_utf8(const char *text);

/*
 * Run q and build the answer *out (the caller's):
 *   {"total": N, "exact": B, "counted": N, "offset": N, "limit": N,
 *    "order": "rank"|"updated",
 *    "hits": [{"id", "licence", "title", "titles", "updated",
 *              "levels": [{"source", "value", "label"[, "system"]
 *                          [, "equivalent": {"system", "id", "label",
 *                                            "match"}]}]}],
 *    "facets": {"level": [{"value": V, "count": N[, "label": L]}], ...}}
 * With vocabularies (index_use_vocab) a level or subject term is indexed
 * under its pivot keys ("isced:3", "subject:physics"), and an unmapped
 * term under its plain value.  A level or subject filter value is such a
 * key, or a term of q->system (its id or a label), which matches the
 * records of any system mapped to the same pivot; a value no vocabulary
 * knows matches only records holding exactly that value.  Level and
 * subject facets count by key, with a "label" in q->lang.  A hit's level
 * "label" is the origin's own term in q->lang, and "equivalent" its
 * nearest term of q->system (vocab_equivalent).
 * Hits are read newest first (by updated), and the facet values of the
 * first q->sample (default INDEX_SAMPLE) are counted.  When there are no
 * more hits than those, "total" and the facet counts are exact and
 * "exact" is true; else "exact" is false, "total" is the hits read (to
 * the sample or the page; there may be more) and the facets count the
 * newest "counted" (q->sample).  With neither words nor filters the
 * counts are exact.  Hits are ordered by the bm25 of the words (then id)
 * when the words match at most INDEX_RANK_MAX records, filters aside,
 * and every hit was read; else newest first (records of the same second
 * in a fixed order).  At most 50 values a facet, most frequent first.
 * OER_EINVAL for a query index_query_fts refuses, a filter value that is
 * not UTF-8, or limits out of range.
 */
int index_search(json_t **out, struct index *ix, const struct index_query *q);

/*
 * The level terms levels (a record's "levels", of a record of origin) as
 * a hit of index_search shows them: each with its label in lang and,
 * with system, the equivalent term of that system.  A new array (the
 * caller's), or NULL when out of memory.
 */
json_t *index_levels(struct index *ix, const json_t *levels,
                     const char *origin, const char *system,
                     const char *lang);

/* The documents holding value in facet f (origin, licence, a level key),
 * exactly, from the counts the index keeps: what a search filtered by it
 * alone would total. */
int index_count(long long *out, struct index *ix, enum index_facet f,
                const char *value);

#endif
