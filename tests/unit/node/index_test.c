/*
 * index: the search index against a real store: a hand-counted fixture of
 * 12 records, catch-up against rebuild, incremental add, edit and
 * withdraw, rewritten history, hostile queries, diacritics and paging;
 * the vocabularies: Flemish and Dutch levels finding each other, unmapped
 * terms, labels and equivalents, and rebuilding when they change; the
 * counts of the whole index kept by triggers; the pool of connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "federation/identity.h"
#include "node/error.h"
#include "node/index.h"
#include "node/store.h"
#include "testutil.h"

#define ORIGIN "be-vl"
#define NREC 12

struct fixture {
    char *dir;
    char repo[512];
    char path[512];  /* the index caught up step by step */
    char path2[512]; /* the index rebuilt */
    struct store *s;
    struct identity *id;
    struct index *ix;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char key[600];

    fx->dir = testutil_tmpdir("index");
    snprintf(fx->repo, sizeof(fx->repo), "%s/repo.git", fx->dir);
    snprintf(fx->path, sizeof(fx->path), "%s/index.sqlite", fx->dir);
    snprintf(fx->path2, sizeof(fx->path2), "%s/rebuilt.sqlite", fx->dir);
    snprintf(key, sizeof(key), "%s/node.key", fx->dir);
    assert_int_equal(store_init(fx->repo), 0);
    assert_int_equal(store_open(&fx->s, fx->repo), 0);
    assert_int_equal(identity_generate(&fx->id, key), 0);
    assert_int_equal(index_open(&fx->ix, fx->path), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    index_free(fx->ix);
    store_free(fx->s);
    identity_free(fx->id);
    testutil_run(NULL, 1, "rm -rf '%s'", fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/*
 * Record i of the fixture:
 *   level: primary for 0-4 (5), secondary for 5-11 (7)
 *   languages: nl for even (6), fr for odd (6), and en for 0, 4, 8 (3)
 *   licence: CC-BY-4.0 for 0-5 (6), CC0-1.0 for 6-8 (3),
 *            CC-BY-NC-4.0 for 9-11 (3)
 *   subject: math for 0, 3, 6, 9 (4), history for the others (8)
 *   audience: teacher for 0 and 1 (2); type: exercise for all (12)
 *   title: 0 "L'école buissonnière", 1-3 "Fractions N", else "Geography N"
 */
static json_t *record(int i, const char *title)
{
    char id[64], upd[32], t[64];
    json_t *langs = json_array(), *doc;

    snprintf(id, sizeof(id), ORIGIN "/rec%02d", i);
    snprintf(upd, sizeof(upd), "2026-01-%02dT10:00:00Z", i + 1);
    if (title == NULL && i == 0)
        title = "L'école buissonnière";
    snprintf(t, sizeof(t), "%s %d", i <= 3 ? "Fractions" : "Geography", i);
    json_array_append_new(langs, json_string(i % 2 == 0 ? "nl" : "fr"));
    if (i % 4 == 0)
        json_array_append_new(langs, json_string("en"));
    doc = json_pack(
        "{s:i,s:s,s:{s:s},s:{s:s},s:{s:[s]},s:o,s:[{s:s,s:s}],"
        "s:[{s:s,s:s}],s:[{s:s,s:s}],s:s,s:s}",
        "schema", 1, "id", id, "title", i % 2 == 0 ? "nl" : "fr",
        title != NULL ? title : t, "description", "en", "A resource to learn",
        "keywords", "en", i == 5 ? "volcano" : "school", "languages", langs,
        "levels", "source", "", "value", i <= 4 ? "primary" : "secondary",
        "subjects", "source", "", "value", i % 3 == 0 ? "math" : "history",
        "resource_types", "source", "", "value", "exercise", "licence",
        i <= 5 ? "CC-BY-4.0" : i <= 8 ? "CC0-1.0" : "CC-BY-NC-4.0",
        "updated", upd);
    if (i <= 1)
        json_object_set_new(doc, "audience",
                            json_pack("[{s:s,s:s}]", "source", "",
                                      "value", "teacher"));
    return doc;
}

static void publish(struct fixture *fx, json_t *doc)
{
    struct store_batch *b = NULL;

    assert_int_equal(store_batch_new(&b, fx->s, ORIGIN), 0);
    assert_int_equal(store_batch_put(b, doc, NULL), 0);
    assert_int_equal(store_batch_commit(NULL, b, fx->id, "test"), 0);
    store_batch_free(b);
    json_decref(doc);
}

static void publish_range(struct fixture *fx, int from, int to)
{
    for (int i = from; i < to; i++)
        publish(fx, record(i, NULL));
}

static json_t *search(struct index *ix, const char *text, long limit,
                      long offset)
{
    struct index_query q = { .text = text, .limit = limit, .offset = offset };
    json_t *answer = NULL;

    assert_int_equal(index_search(&answer, ix, &q), 0);
    return answer;
}

static long long total(const json_t *answer)
{
    return json_integer_value(json_object_get(answer, "total"));
}

static long long facet(const json_t *answer, const char *name,
                       const char *value)
{
    const json_t *list = json_object_get(json_object_get(answer, "facets"),
                                         name), *v;
    size_t i;

    json_array_foreach(list, i, v) {
        if (strcmp(json_string_value(json_object_get(v, "value")), value) ==
            0)
            return json_integer_value(json_object_get(v, "count"));
    }
    return 0;
}

static long long count_text(struct index *ix, const char *text)
{
    json_t *a = search(ix, text, 0, 0);
    long long n = total(a);

    json_decref(a);
    return n;
}

static void test_facets(void **state)
{
    struct fixture *fx = *state;
    struct index_query q = { .limit = 20 };
    json_t *a;

    publish_range(fx, 0, NREC);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    a = search(fx->ix, NULL, 20, 0);
    assert_int_equal(total(a), 12);
    assert_string_equal(json_string_value(json_object_get(a, "order")),
                        "updated");
    assert_int_equal(facet(a, "level", "primary"), 5);
    assert_int_equal(facet(a, "level", "secondary"), 7);
    assert_int_equal(facet(a, "language", "nl"), 6);
    assert_int_equal(facet(a, "language", "fr"), 6);
    assert_int_equal(facet(a, "language", "en"), 3);
    assert_int_equal(facet(a, "licence", "CC-BY-4.0"), 6);
    assert_int_equal(facet(a, "licence", "CC0-1.0"), 3);
    assert_int_equal(facet(a, "licence", "CC-BY-NC-4.0"), 3);
    assert_int_equal(facet(a, "subject", "math"), 4);
    assert_int_equal(facet(a, "subject", "history"), 8);
    assert_int_equal(facet(a, "audience", "teacher"), 2);
    assert_int_equal(facet(a, "type", "exercise"), 12);
    assert_int_equal(facet(a, "origin", ORIGIN), 12);
    json_decref(a);

    /* filters: any value of one facet, all facets together */
    q.filters[INDEX_LEVEL][0] = "primary";
    q.nfilters[INDEX_LEVEL] = 1;
    q.filters[INDEX_LANGUAGE][0] = "en";
    q.filters[INDEX_LANGUAGE][1] = "fr";
    q.nfilters[INDEX_LANGUAGE] = 2;
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    /* primary 0-4 with en or fr: 0, 1, 3, 4 */
    assert_int_equal(total(a), 4);
    assert_int_equal(facet(a, "licence", "CC-BY-4.0"), 4);
    assert_int_equal(facet(a, "language", "nl"), 2);
    json_decref(a);
}

static const char *hit_id(const json_t *answer, size_t i)
{
    return json_string_value(json_object_get(
        json_array_get(json_object_get(answer, "hits"), i), "id"));
}

static int exact(const json_t *answer)
{
    return json_is_true(json_object_get(answer, "exact"));
}

/*
 * Past the sample the counts are of the newest hits: language=nl holds
 * the even records 0-10; with a sample of two, the answer counts 10 and 8
 * and says there are more.
 */
static void test_estimate(void **state)
{
    struct fixture *fx = *state;
    struct index_query q = { .limit = 2, .sample = 2 };
    long long n;
    json_t *a;

    publish_range(fx, 0, NREC);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    q.filters[INDEX_LANGUAGE][0] = "nl";
    q.nfilters[INDEX_LANGUAGE] = 1;
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    assert_false(exact(a));
    assert_int_equal(total(a), 2);
    assert_string_equal(hit_id(a, 0), ORIGIN "/rec10");
    assert_string_equal(hit_id(a, 1), ORIGIN "/rec08");
    assert_int_equal(facet(a, "language", "nl"), 2);
    assert_int_equal(facet(a, "language", "en"), 1); /* record 8 */
    assert_int_equal(facet(a, "level", "secondary"), 2);
    assert_int_equal(facet(a, "level", "primary"), 0); /* not read */
    json_decref(a);

    /* a sample as large as the hits: exact, even for a short page */
    q.sample = 6;
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    assert_true(exact(a));
    assert_int_equal(total(a), 6);
    assert_int_equal(facet(a, "level", "secondary"), 3);
    assert_int_equal(facet(a, "level", "primary"), 3);
    assert_int_equal(json_array_size(json_object_get(a, "hits")), 2);
    json_decref(a);

    /* a page past the sample is read on, without counting facets */
    q.sample = 2;
    q.offset = 4;
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    assert_false(exact(a)); /* all 6 read, but 2 counted */
    assert_int_equal(total(a), 6);
    assert_int_equal(facet(a, "language", "nl"), 2);
    assert_string_equal(hit_id(a, 0), ORIGIN "/rec02");
    assert_string_equal(hit_id(a, 1), ORIGIN "/rec00");
    json_decref(a);

    /* words: "geography" (records 4-11) past a sample of 3 */
    q = (struct index_query){ .text = "geography", .limit = 1, .sample = 3 };
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    assert_false(exact(a));
    assert_string_equal(json_string_value(json_object_get(a, "order")),
                        "updated");
    assert_string_equal(hit_id(a, 0), ORIGIN "/rec11");
    assert_int_equal(total(a), 3);
    json_decref(a);
    /* within the sample they are ranked */
    q.sample = 0;
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    assert_true(exact(a));
    assert_int_equal(total(a), 8);
    assert_string_equal(json_string_value(json_object_get(a, "order")),
                        "rank");
    json_decref(a);

    /* two values of one filter: a record holding both (nl and en: 0, 4,
     * 8) comes once */
    q = (struct index_query){ .limit = 20 };
    q.filters[INDEX_LANGUAGE][0] = "en";
    q.filters[INDEX_LANGUAGE][1] = "nl";
    q.nfilters[INDEX_LANGUAGE] = 2;
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    assert_true(exact(a));
    assert_int_equal(total(a), 6);
    assert_int_equal(json_array_size(json_object_get(a, "hits")), 6);
    assert_string_equal(hit_id(a, 0), ORIGIN "/rec10");
    assert_string_equal(hit_id(a, 5), ORIGIN "/rec00");
    json_decref(a);
    /* two filters: en (3) with secondary (7) is record 8 alone */
    q.nfilters[INDEX_LANGUAGE] = 1;
    q.filters[INDEX_LEVEL][0] = "secondary";
    q.nfilters[INDEX_LEVEL] = 1;
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    assert_int_equal(total(a), 1);
    assert_string_equal(hit_id(a, 0), ORIGIN "/rec08");
    json_decref(a);

    /* a negative sample is refused */
    q.sample = -1;
    assert_int_equal(index_search(&a, fx->ix, &q), OER_EINVAL);

    /* the kept counts, for /metrics */
    assert_int_equal(index_count(&n, fx->ix, INDEX_LICENCE, "CC0-1.0"), 0);
    assert_int_equal(n, 3);
    assert_int_equal(index_count(&n, fx->ix, INDEX_ORIGIN, ORIGIN), 0);
    assert_int_equal(n, NREC);
    assert_int_equal(index_count(&n, fx->ix, INDEX_ORIGIN, "nowhere"), 0);
    assert_int_equal(n, 0);
}

/*
 * Ranking follows the words: words that match at most INDEX_RANK_MAX
 * records rank their hits, filtered or not; words that match more are
 * read newest first even when filters leave few hits.
 */
static void test_rank_words(void **state)
{
    struct fixture *fx = *state;
    struct store_batch *b = NULL;
    struct index_query q = { .text = "common", .limit = 10 };
    json_t *a;

    assert_int_equal(store_batch_new(&b, fx->s, ORIGIN), 0);
    for (int i = 0; i <= INDEX_RANK_MAX; i++) {
        char id[64], title[64];
        json_t *doc;

        snprintf(id, sizeof(id), ORIGIN "/many%04d", i);
        /* record 7 says "rare" most, in its title */
        snprintf(title, sizeof(title), "%s %s", i % 100 == 7 ? "rare" : "",
                 i == 7 ? "rare rare" : "common");
        doc = json_pack("{s:i,s:s,s:{s:s},s:{s:s},s:[s],s:s,s:s}", "schema",
                        1, "id", id, "title", "en", title, "description",
                        "en", i % 100 == 7 ? "common rare" : "common",
                        "languages", "en", "licence",
                        i % 100 == 7 ? "CC0-1.0" : "CC-BY-4.0", "updated",
                        i == 7 ? "2020-01-01T00:00:00Z"
                               : "2026-01-01T00:00:00Z");
        assert_int_equal(store_batch_put(b, doc, NULL), 0);
        json_decref(doc);
    }
    assert_int_equal(store_batch_commit(NULL, b, fx->id, "many"), 0);
    store_batch_free(b);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);

    /* "common" matches 1,001 records: the ten of CC0 newest first */
    q.filters[INDEX_LICENCE][0] = "CC0-1.0";
    q.nfilters[INDEX_LICENCE] = 1;
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    assert_true(exact(a));
    assert_int_equal(total(a), 10);
    assert_string_equal(json_string_value(json_object_get(a, "order")),
                        "updated");
    assert_string_equal(hit_id(a, 9), ORIGIN "/many0007"); /* the oldest */
    json_decref(a);
    /* "rare" matches ten: ranked, record 7 first, filter or none */
    q.text = "rare";
    for (int filtered = 0; filtered < 2; filtered++) {
        q.nfilters[INDEX_LICENCE] = (size_t)filtered;
        q.limit = 20;
        assert_int_equal(index_search(&a, fx->ix, &q), 0);
        assert_int_equal(total(a), 10);
        assert_string_equal(json_string_value(json_object_get(a, "order")),
                            "rank");
        assert_string_equal(hit_id(a, 0), ORIGIN "/many0007");
        json_decref(a);
    }
    /* sorted newest first when asked: record 7, the oldest, comes last */
    q.sort = INDEX_SORT_NEWEST;
    assert_int_equal(index_search(&a, fx->ix, &q), 0);
    assert_int_equal(total(a), 10);
    assert_string_equal(json_string_value(json_object_get(a, "order")),
                        "updated");
    assert_string_equal(hit_id(a, 9), ORIGIN "/many0007");
    json_decref(a);
}

/*
 * Records of the same second whose ids' hashes agree in the 20 bits a
 * rowid keeps (found by trying ids) both get a rowid, both are found,
 * and withdrawing one leaves the other.
 */
static unsigned id_hash(const char *id)
{
    unsigned h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h & 0xfffff;
}

static void test_same_rowid(void **state)
{
    struct fixture *fx = *state;
    static unsigned char seen[1 << 20];
    static int first[1 << 20];
    char a[64] = "", b[64] = "";
    json_t *doc, *ans;

    memset(seen, 0, sizeof(seen));
    for (int i = 0; a[0] == '\0' && i < 1 << 22; i++) {
        char id[64];
        unsigned h;

        snprintf(id, sizeof(id), ORIGIN "/c%d", i);
        h = id_hash(id);
        if (seen[h]) {
            snprintf(a, sizeof(a), ORIGIN "/c%d", first[h]);
            snprintf(b, sizeof(b), "%s", id);
        }
        seen[h] = 1;
        first[h] = i;
    }
    assert_true(a[0] != '\0');
    for (int i = 0; i < 2; i++) {
        doc = record(i, "Twin volcanoes");
        json_object_set_new(doc, "id", json_string(i == 0 ? a : b));
        json_object_set_new(doc, "updated",
                            json_string("2026-05-05T05:05:05Z"));
        publish(fx, doc);
    }
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    ans = search(fx->ix, "twin", 20, 0);
    assert_int_equal(total(ans), 2);
    json_decref(ans);
    doc = json_pack("{s:i,s:s,s:s,s:b,s:s}", "schema", 1, "id", a,
                    "updated", "2026-06-01T00:00:00Z", "deleted", 1,
                    "reason", "withdrawn");
    publish(fx, doc);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    ans = search(fx->ix, "twin", 20, 0);
    assert_int_equal(total(ans), 1);
    assert_string_equal(hit_id(ans, 0), b);
    json_decref(ans);
}

/* The answers of a set of queries, to compare two indexes. */
static json_t *answers(struct index *ix)
{
    static const char *const texts[] = { NULL, "fractions", "geography",
                                         "school", "ecole", "learn frac*" };
    json_t *all = json_array();
    struct index_query q = { .limit = 5, .offset = 2 };
    json_t *a;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        json_array_append_new(all, search(ix, texts[i], 100, 0));
    json_array_append_new(all, search(ix, "resource", 3, 1));
    q.filters[INDEX_SUBJECT][0] = "history";
    q.nfilters[INDEX_SUBJECT] = 1;
    assert_int_equal(index_search(&a, ix, &q), 0);
    json_array_append_new(all, a);
    return all;
}

static void assert_same_as_rebuilt(struct fixture *fx)
{
    struct index *rebuilt = NULL;
    json_t *a, *b;
    char *sa, *sb;

    assert_int_equal(index_open(&rebuilt, fx->path2), 0);
    assert_int_equal(index_rebuild(rebuilt, fx->s, NULL), 0);
    a = answers(fx->ix);
    b = answers(rebuilt);
    sa = json_dumps(a, JSON_COMPACT);
    sb = json_dumps(b, JSON_COMPACT);
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    json_decref(a);
    json_decref(b);
    index_free(rebuilt);
}

static json_t *tombstone(int i)
{
    char id[64];

    snprintf(id, sizeof(id), ORIGIN "/rec%02d", i);
    return json_pack("{s:i,s:s,s:s,s:b,s:s}", "schema", 1, "id", id,
                     "updated", "2026-02-01T00:00:00Z", "deleted", 1,
                     "reason", "duplicate");
}

static void test_incremental(void **state)
{
    struct fixture *fx = *state;
    struct index_stats st;

    publish_range(fx, 0, 6);
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);
    assert_int_equal(count_text(fx->ix, NULL), 6);

    /* add: only the new documents are read */
    publish_range(fx, 6, NREC);
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.origins_updated, 1);
    assert_int_equal(st.documents, 6);
    assert_int_equal(count_text(fx->ix, NULL), 12);
    assert_int_equal(count_text(fx->ix, "volcano"), 1);
    assert_same_as_rebuilt(fx);

    /* edit: the old words go, the new ones come */
    publish(fx, record(7, "Zebra crossings"));
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    assert_int_equal(count_text(fx->ix, "zebra"), 1);
    assert_int_equal(count_text(fx->ix, "geography"), 7);
    publish(fx, record(7, "Giraffes"));
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    assert_int_equal(count_text(fx->ix, "zebra"), 0);
    assert_int_equal(count_text(fx->ix, "giraffes"), 1);

    /* withdraw: the tombstone removes the hit and its facet counts */
    publish(fx, tombstone(7));
    publish(fx, tombstone(0));
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.documents, 2);
    assert_int_equal(count_text(fx->ix, "giraffes"), 0);
    assert_int_equal(count_text(fx->ix, "ecole"), 0);
    assert_int_equal(count_text(fx->ix, NULL), 10);
    assert_same_as_rebuilt(fx);

    /* nothing moved: nothing read */
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.documents, 0);
    assert_int_equal(st.origins_updated + st.origins_rebuilt, 0);
}

/* The segments of the index's FTS5 table. */
static int segments(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(DISTINCT segid)"
                                        " FROM fts_idx", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/*
 * Catching up with a tenth of the index or more merges the text index
 * into one segment; smaller steps leave FTS5's own merging alone.
 */
static void test_merge(void **state)
{
    struct fixture *fx = *state;
    struct store_batch *b = NULL;

    for (int i = 0; i < 30; i++) {
        publish(fx, record(i % NREC, i < NREC ? NULL : "Again"));
        assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    }
    assert_true(segments(fx->path) > 1);
    assert_int_equal(store_batch_new(&b, fx->s, ORIGIN), 0);
    for (int i = 0; i < 2; i++) {
        json_t *doc = record(i, "Once more");

        assert_int_equal(store_batch_put(b, doc, NULL), 0);
        json_decref(doc);
    }
    assert_int_equal(store_batch_commit(NULL, b, fx->id, "two"), 0);
    store_batch_free(b);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    assert_int_equal(segments(fx->path), 1);
    assert_int_equal(count_text(fx->ix, "once more"), 2);
    assert_same_as_rebuilt(fx);
    assert_int_equal(segments(fx->path2), 1);
}

/* A recorded commit that is not an ancestor of the head rebuilds the
 * origin; an origin the store no longer has is dropped. */
static void test_rewritten(void **state)
{
    struct fixture *fx = *state;
    struct index_stats st;
    sqlite3 *db = NULL;

    publish_range(fx, 0, NREC);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "UPDATE indexed SET head = "
                     "'0123456789012345678901234567890123456789';"
                     "INSERT INTO indexed VALUES ('gone', "
                     "'0123456789012345678901234567890123456789');"
                     "INSERT INTO doc(id, origin, licence, updated, titles)"
                     " VALUES ('gone/x', 'gone', 'CC0-1.0', '2026', '{}');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(count_text(fx->ix, NULL), 13);
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);
    assert_int_equal(st.origins_dropped, 1);
    assert_int_equal(count_text(fx->ix, NULL), 12);
    assert_same_as_rebuilt(fx);
}

/* The facets of an answer, as JSON text. */
static char *facets_text(const json_t *answer)
{
    return json_dumps(json_object_get(answer, "facets"), JSON_COMPACT);
}

/* Without words or filters the counts come from the table the triggers
 * keep; with a filter every record passes, or a word every record holds
 * (too broad to rank), they are counted over the hits: the same counts,
 * by hand too, after edits and withdrawals. */
static void test_whole_counts(void **state)
{
    struct fixture *fx = *state;
    struct index_query q = { .limit = 20 };
    json_t *whole, *filtered, *broad;
    char *a, *b, *c;

    publish_range(fx, 0, NREC);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    publish(fx, tombstone(0));
    publish(fx, tombstone(7));
    publish(fx, record(3, "Fractions again"));
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);

    whole = search(fx->ix, NULL, 20, 0);
    q.filters[INDEX_TYPE][0] = "exercise";
    q.nfilters[INDEX_TYPE] = 1;
    assert_int_equal(index_search(&filtered, fx->ix, &q), 0);
    broad = search(fx->ix, "resource", 20, 0);
    assert_int_equal(total(whole), 10);
    assert_int_equal(total(filtered), 10);
    assert_int_equal(total(broad), 10);
    /* 1-4 primary, 5-6 and 8-11 secondary; 1-5 CC BY, 6 and 8 CC0 */
    assert_int_equal(facet(whole, "level", "primary"), 4);
    assert_int_equal(facet(whole, "level", "secondary"), 6);
    assert_int_equal(facet(whole, "licence", "CC-BY-4.0"), 5);
    assert_int_equal(facet(whole, "licence", "CC0-1.0"), 2);
    assert_int_equal(facet(whole, "language", "en"), 2);
    assert_int_equal(facet(whole, "audience", "teacher"), 1);
    a = facets_text(whole);
    b = facets_text(filtered);
    c = facets_text(broad);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    free(a);
    free(b);
    free(c);
    json_decref(whole);
    json_decref(filtered);
    json_decref(broad);
}

static void test_hostile(void **state)
{
    static const char *const hostile[] = {
        "AND (", "\"", "\"unterminated", "title:x", "*", "NEAR(a b, 2)",
        "a OR", "OR", "NOT", "-x", "^school", "((((", ")", "a AND NOT b",
        "'; DROP TABLE doc; --", "{title description}: x", "\x01\x02",
        "   ", "school* *", "+", "a\"b", "\"\"", ":", "school:", "rowid:1",
        "fts MATCH 'x'", "%", "_", "\\", "école*", "NEAR", "a + b",
    };
    struct fixture *fx = *state;
    char *out = NULL, big[INDEX_QUERY_MAX + 2];

    publish_range(fx, 0, NREC);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
        json_decref(search(fx->ix, hostile[i], 10, 0));
    assert_int_equal(count_text(fx->ix, "school* *"), 11);
    assert_int_equal(count_text(fx->ix, "*"), 12);
    /* the tokens filters are matched by ("nl" of the language facet) are
     * not words a user can find */
    assert_int_equal(count_text(fx->ix, "f2x6e6c"), 0);
    assert_int_equal(count_text(fx->ix, "f2x*"), 0);
    assert_int_equal(count_text(fx->ix, "f*"), 3);
    /* nor can a filter's value say more than its value */
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        struct index_query q = { .limit = 10 };
        json_t *a = NULL;

        q.filters[INDEX_LICENCE][0] = hostile[i];
        q.filters[INDEX_LICENCE][1] = "CC0-1.0";
        q.nfilters[INDEX_LICENCE] = 2;
        q.text = hostile[i];
        assert_int_equal(index_search(&a, fx->ix, &q), 0);
        assert_true(total(a) <= 3);
        json_decref(a);
    }

    assert_int_equal(index_query_fts(&out, "AND ("), 0);
    assert_string_equal(out, "\"AND\"");
    free(out);
    assert_int_equal(index_query_fts(&out, " a\"b  frac** "), 0);
    assert_string_equal(out, "\"a\"\"b\" \"frac\"*");
    free(out);
    assert_int_equal(index_query_fts(&out, "* ( ) \""), 0);
    assert_string_equal(out, "");
    free(out);
    assert_int_equal(index_query_fts(&out, "\xff school"), OER_EINVAL);
    assert_null(out);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(index_query_fts(&out, big), OER_EINVAL);

    /* 32 words, and signs between them that are no words */
    big[0] = '\0';
    for (int i = 0; i < INDEX_QUERY_WORDS; i++)
        strcat(big, "ab * ");
    assert_int_equal(index_query_fts(&out, big), 0);
    assert_int_equal(strlen(out), INDEX_QUERY_WORDS * 5 - 1);
    free(out);
    /* a 33rd is refused, not dropped */
    strcat(big, "zz");
    out = NULL;
    assert_int_equal(index_query_fts(&out, big), OER_EINVAL);
    assert_null(out);
}

static void test_diacritics(void **state)
{
    struct fixture *fx = *state;

    publish_range(fx, 0, NREC);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    assert_int_equal(count_text(fx->ix, "ecole"), 1);
    assert_int_equal(count_text(fx->ix, "ÉCOLE"), 1);
    assert_int_equal(count_text(fx->ix, "école"), 1);
    assert_int_equal(count_text(fx->ix, "buissonniere"), 1);
    assert_int_equal(count_text(fx->ix, "buisson*"), 1);
    assert_int_equal(count_text(fx->ix, "buisson"), 0);
}

static void test_paging(void **state)
{
    struct fixture *fx = *state;
    struct index_query q = { .limit = 101 };
    json_t *all, *page, *a = NULL;
    size_t n = 0;

    publish_range(fx, 0, NREC);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    all = search(fx->ix, NULL, 100, 0);
    /* newest first */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(all, "hits"), 0),
                            "id")),
                        ORIGIN "/rec11");
    for (long off = 0; off < 15; off += 5) {
        page = search(fx->ix, NULL, 5, off);
        assert_int_equal(total(page), 12);
        for (size_t i = 0; i < json_array_size(json_object_get(page, "hits"));
             i++, n++)
            assert_true(json_equal(
                json_array_get(json_object_get(page, "hits"), i),
                json_array_get(json_object_get(all, "hits"), n)));
        json_decref(page);
    }
    assert_int_equal(n, 12);
    json_decref(all);

    /* a selective text is ranked: the title weighs more than keywords */
    all = search(fx->ix, "fractions school", 100, 0);
    assert_string_equal(json_string_value(json_object_get(all, "order")),
                        "rank");
    assert_int_equal(total(all), 3);
    json_decref(all);

    assert_int_equal(index_search(&a, fx->ix, &q), OER_EINVAL);
    q.limit = 10;
    q.offset = INDEX_OFFSET_MAX + 1;
    assert_int_equal(index_search(&a, fx->ix, &q), OER_EINVAL);
    q.offset = -1;
    assert_int_equal(index_search(&a, fx->ix, &q), OER_EINVAL);
    assert_null(a);
}

/* ---- vocabularies ---- */

#define VL_SRC "http://purl.org/oernode/vocab/be-vl"
#define NL_SRC "http://purl.org/oernode/vocab/nl"

/* A record with one level {source, value}. */
static json_t *level_record(const char *local, const char *source,
                            const char *level)
{
    char id[64];

    snprintf(id, sizeof(id), ORIGIN "/%s", local);
    return json_pack("{s:i,s:s,s:{s:s},s:[s],s:[{s:s,s:s}],s:s,s:s}",
                     "schema", 1, "id", id, "title", "nl", local,
                     "languages", "nl", "levels", "source", source, "value",
                     level, "licence", "CC0-1.0", "updated",
                     "2026-02-01T10:00:00Z");
}

/* Copy the project's vocabularies to DIR/vocab, the folder returned. */
static char *vocab_copy(struct fixture *fx)
{
    char *dir = malloc(600);

    snprintf(dir, 600, "%s/vocab", fx->dir);
    assert_int_equal(testutil_run(NULL, 1, "cp -r '%s/vocab' '%s'",
                                  testutil_srcdir(), dir),
                     0);
    return dir;
}

static json_t *search_level(struct index *ix, const char *system,
                            const char *level, const char *lang)
{
    struct index_query q = { .limit = 20, .system = system, .lang = lang };
    json_t *answer = NULL;

    q.filters[INDEX_LEVEL][0] = level;
    q.nfilters[INDEX_LEVEL] = 1;
    assert_int_equal(index_search(&answer, ix, &q), 0);
    return answer;
}

static void test_vocab_filters(void **state)
{
    struct fixture *fx = *state;
    char *dir = vocab_copy(fx);
    json_t *a;

    publish(fx, level_record("vl5", VL_SRC, "lager-5"));
    publish(fx, level_record("nl5", NL_SRC, "po_groep5"));
    publish(fx, level_record("vlmaster", VL_SRC, "master"));
    publish(fx, level_record("free", "", "basisschool-x"));
    assert_int_equal(index_use_vocab(fx->ix, dir), 0);
    assert_non_null(index_vocab(fx->ix));
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);

    /* a Flemish level finds the Dutch record of the same ISCED level */
    a = search_level(fx->ix, "be-vl", "lager-5", NULL);
    assert_int_equal(total(a), 2);
    json_decref(a);
    /* by a label of the system, too */
    a = search_level(fx->ix, "be-vl", "lager onderwijs, 5e leerjaar", NULL);
    assert_int_equal(total(a), 2);
    json_decref(a);
    /* and the reverse */
    a = search_level(fx->ix, "nl", "po_groep5", NULL);
    assert_int_equal(total(a), 2);
    assert_int_equal(facet(a, "level", "isced:1"), 2);
    json_decref(a);
    a = search_level(fx->ix, NULL, "isced:7", NULL);
    assert_int_equal(total(a), 1);
    assert_string_equal(hit_id(a, 0), ORIGIN "/vlmaster");
    json_decref(a);

    /* an unmapped term filters only exactly */
    a = search_level(fx->ix, "be-vl", "basisschool-x", NULL);
    assert_int_equal(total(a), 1);
    assert_string_equal(hit_id(a, 0), ORIGIN "/free");
    assert_int_equal(facet(a, "level", "basisschool-x"), 1);
    json_decref(a);
    a = search_level(fx->ix, "be-vl", "basisschool", NULL);
    assert_int_equal(total(a), 0);
    json_decref(a);
    free(dir);
}

/* LOM context and typical age range: a record with no mapped level is
 * filed under the candidate ISCED levels they give; a mapped term wins
 * over its age range; an unmapped term still filters exactly. */
static void test_age_levels(void **state)
{
    struct fixture *fx = *state;
    char *dir = vocab_copy(fx);
    json_t *doc, *a;

    doc = level_record("school13", "LOMv1.0", "school");
    json_object_set_new(doc, "age_range", json_string("12-14"));
    publish(fx, doc);
    doc = level_record("ages8", "", "basisschool-x"); /* unmapped, 8-9 */
    json_object_set_new(doc, "age_range", json_string("8-9"));
    publish(fx, doc);
    doc = level_record("groep7", NL_SRC, "po_groep7"); /* mapped: ISCED 1 */
    json_object_set_new(doc, "age_range", json_string("15-16"));
    publish(fx, doc);
    doc = level_record("higher", "LOMv1.0", "higher education");
    publish(fx, doc);
    publish(fx, level_record("nothing", "LOMv1.0", "other"));
    assert_int_equal(index_use_vocab(fx->ix, dir), 0);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);

    a = search_level(fx->ix, NULL, "isced:2", NULL);
    assert_int_equal(total(a), 1);
    assert_string_equal(hit_id(a, 0), ORIGIN "/school13");
    json_decref(a);
    /* a Flemish searcher's 1e graad (ISCED 2) finds it too */
    a = search_level(fx->ix, "be-vl", "so-graad1", NULL);
    assert_int_equal(total(a), 1);
    json_decref(a);
    /* ISCED 1: the mapped groep 7 (its age range ignored) and ages 8-9 */
    a = search_level(fx->ix, NULL, "isced:1", NULL);
    assert_int_equal(total(a), 2);
    json_decref(a);
    a = search_level(fx->ix, NULL, "isced:3", NULL);
    assert_int_equal(total(a), 0);
    json_decref(a);
    a = search_level(fx->ix, NULL, "isced:6", NULL);
    assert_int_equal(total(a), 1);
    assert_string_equal(hit_id(a, 0), ORIGIN "/higher");
    json_decref(a);
    a = search_level(fx->ix, "be-vl", "basisschool-x", NULL);
    assert_int_equal(total(a), 1);
    json_decref(a);
    free(dir);
}

/* The level of the only hit of a search by id local. */
static const json_t *only_level(const json_t *answer)
{
    const json_t *hit = json_array_get(json_object_get(answer, "hits"), 0);

    assert_int_equal(json_array_size(json_object_get(hit, "levels")), 1);
    return json_array_get(json_object_get(hit, "levels"), 0);
}

static const char *get(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));

    assert_non_null(v);
    return v;
}

static void test_vocab_display(void **state)
{
    struct fixture *fx = *state;
    char *dir = vocab_copy(fx);
    const json_t *level, *eq, *list, *v;
    json_t *a;
    size_t i;
    int labelled = 0;

    publish(fx, level_record("vl5", VL_SRC, "lager-5"));
    publish(fx, level_record("free", "", "basisschool-x"));
    assert_int_equal(index_use_vocab(fx->ix, dir), 0);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);

    /* a Flemish hit seen by a Dutch teacher: its own term, and theirs */
    a = search_level(fx->ix, "nl", "isced:1", "nl");
    assert_int_equal(total(a), 1);
    level = only_level(a);
    assert_string_equal(get(level, "value"), "lager-5");
    assert_string_equal(get(level, "system"), "be-vl");
    assert_string_equal(get(level, "label"), "lager onderwijs, 5e leerjaar");
    eq = json_object_get(level, "equivalent");
    assert_string_equal(get(eq, "system"), "nl");
    assert_non_null(strstr(get(eq, "id"), "po"));
    get(eq, "label");
    get(eq, "match");
    /* facets count by pivot, labelled in the searcher's language */
    list = json_object_get(json_object_get(a, "facets"), "level");
    json_array_foreach(list, i, v) {
        if (strcmp(get(v, "value"), "isced:1") == 0)
            labelled = strcmp(get(v, "label"), "isced:1") != 0;
    }
    assert_true(labelled);
    json_decref(a);

    /* an unmapped term is shown as it is, without an equivalent */
    a = search_level(fx->ix, "nl", "basisschool-x", "nl");
    level = only_level(a);
    assert_string_equal(get(level, "label"), "basisschool-x");
    assert_null(json_object_get(level, "equivalent"));
    json_decref(a);
    free(dir);
}

/* The index is rebuilt when the vocabularies change, and only then. */
static void test_vocab_change(void **state)
{
    struct fixture *fx = *state;
    char *dir = vocab_copy(fx);
    struct index_stats st;

    publish(fx, level_record("vl5", VL_SRC, "lager-5"));
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);

    /* plain to vocabularies: rebuilt */
    assert_int_equal(index_use_vocab(fx->ix, dir), 0);
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt + st.origins_updated, 0);

    /* the same files in another connection: nothing to do */
    index_free(fx->ix);
    assert_int_equal(index_open(&fx->ix, fx->path), 0);
    assert_int_equal(index_use_vocab(fx->ix, dir), 0);
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 0);

    /* one byte more in one file: rebuilt */
    assert_int_equal(testutil_run(NULL, 1, "echo >> '%s/nl.json'", dir), 0);
    assert_int_equal(index_use_vocab(fx->ix, dir), 0);
    assert_int_equal(index_catch_up(fx->ix, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);

    /* a broken folder is refused and the index keeps its vocabularies */
    assert_int_equal(testutil_run(NULL, 1, "echo '{' > '%s/bad.json'", dir),
                     0);
    assert_int_not_equal(index_use_vocab(fx->ix, dir), 0);
    assert_non_null(index_vocab(fx->ix));
    free(dir);
}

/* A connection handed back is the one taken next for the same index and
 * vocabularies; another folder gets a connection of its own. */
static void test_pool(void **state)
{
    struct fixture *fx = *state;
    struct index *a = NULL, *b = NULL, *c = NULL;
    char *dir = vocab_copy(fx);

    publish_range(fx, 0, 3);
    assert_int_equal(index_pool_take(&a, fx->path, INDEX_VOCAB_DIR), 0);
    assert_non_null(index_vocab(a));
    assert_int_equal(index_catch_up(a, fx->s, NULL), 0);
    index_pool_give(a);
    assert_int_equal(index_pool_take(&b, fx->path, INDEX_VOCAB_DIR), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(count_text(b, NULL), 3);
    assert_int_equal(index_pool_take(&c, fx->path, dir), 0);
    assert_ptr_not_equal(b, c);
    index_pool_give(b);
    index_pool_give(c);
    index_pool_give(NULL);
    free(dir);
}

/*
 * Pooled connections (as `oernode serve` keeps them) see changed
 * vocabulary files within a second, and one that has not looked yet
 * does not rebuild the index back to the files it loaded.
 */
static void test_pool_vocab_change(void **state)
{
    struct fixture *fx = *state;
    struct index *a = NULL, *b = NULL, *x = NULL, *y = NULL;
    char *dir = vocab_copy(fx);
    struct index_stats st;

    publish(fx, level_record("vl5", VL_SRC, "lager-5"));
    assert_int_equal(index_pool_take(&a, fx->path, dir), 0);
    assert_int_equal(index_pool_take(&b, fx->path, dir), 0);
    assert_int_equal(index_catch_up(a, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);
    assert_int_equal(index_catch_up(b, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 0);
    index_pool_give(a);
    index_pool_give(b); /* taken first */

    /* b looks at the files again; a's last look is older */
    usleep(1100 * 1000);
    assert_int_equal(index_pool_take(&x, fx->path, dir), 0);
    assert_ptr_equal(x, b);
    index_pool_give(x);
    assert_int_equal(testutil_run(NULL, 1, "echo >> '%s/nl.json'", dir), 0);

    /* a, past its second, loads the new files and rebuilds */
    assert_int_equal(index_pool_take(&x, fx->path, dir), 0);
    assert_int_equal(index_pool_take(&y, fx->path, dir), 0);
    assert_ptr_equal(x, b);
    assert_ptr_equal(y, a);
    assert_int_equal(index_catch_up(y, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);

    /* b, within its second, learns of the change from the index */
    assert_int_equal(index_catch_up(x, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 0);
    assert_int_equal(index_catch_up(y, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 0);
    assert_int_equal(count_text(x, NULL), 1);
    index_pool_give(x);
    index_pool_give(y);
    free(dir);
}

/*
 * Vocabulary files that do not read (a file half edited) leave the
 * index as it was built: a connection that could not load them neither
 * rebuilds nor catches up, one that holds the loaded ones goes on; once
 * the files read again as before, nothing is rebuilt.
 */
static void test_pool_vocab_broken(void **state)
{
    struct fixture *fx = *state;
    struct index *a = NULL, *b = NULL;
    char *dir = vocab_copy(fx);
    struct index_stats st;

    publish(fx, level_record("vl5", VL_SRC, "lager-5"));
    assert_int_equal(index_pool_take(&a, fx->path, dir), 0);
    assert_int_equal(index_catch_up(a, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);
    assert_int_equal(testutil_run(NULL, 1, "echo '{' > '%s/nl.json'", dir),
                     0);

    /* a new connection cannot load them: the index stays */
    assert_int_equal(index_pool_take(&b, fx->path, dir), 0);
    assert_null(index_vocab(b));
    assert_int_equal(index_catch_up(b, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt + st.origins_updated, 0);
    assert_int_equal(count_text(b, NULL), 1);
    publish(fx, level_record("vl6", VL_SRC, "lager-6"));
    assert_int_equal(index_catch_up(b, fx->s, &st), 0);
    assert_int_equal(st.documents, 0);
    assert_int_equal(count_text(b, NULL), 1);

    /* the connection that loaded them catches up */
    assert_int_equal(index_catch_up(a, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 0);
    assert_int_equal(st.documents, 1);
    assert_int_equal(count_text(a, NULL), 2);

    /* the files as they were: b loads them and rebuilds nothing */
    assert_int_equal(testutil_run(NULL, 1, "cp '%s/vocab/nl.json' '%s'",
                                  testutil_srcdir(), dir),
                     0);
    usleep(1100 * 1000);
    index_pool_give(b);
    assert_int_equal(index_pool_take(&b, fx->path, dir), 0);
    assert_non_null(index_vocab(b));
    assert_int_equal(index_catch_up(b, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt + st.documents, 0);
    index_pool_give(a);
    index_pool_give(b);
    free(dir);
}

/*
 * A catch-up that finds another connection writing waits at most its
 * wait and leaves the index as it was, for a search to read; once the
 * writer is done it catches up.
 */
static void test_catch_up_within(void **state)
{
    struct fixture *fx = *state;
    struct index_stats st;
    sqlite3 *writer = NULL;

    publish_range(fx, 0, 2);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);
    publish_range(fx, 2, 4);
    assert_int_equal(sqlite3_open(fx->path, &writer), SQLITE_OK);
    assert_int_equal(sqlite3_exec(writer, "BEGIN IMMEDIATE", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    assert_int_equal(index_catch_up_within(fx->ix, fx->s, &st, 50),
                     OER_ETIMEOUT);
    assert_int_equal(count_text(fx->ix, NULL), 2);
    /* and a connection opened meanwhile does not wait for the lock */
    {
        struct index *other = NULL;
        time_t t0 = time(NULL);

        assert_int_equal(index_open(&other, fx->path), 0);
        assert_true(time(NULL) - t0 < 5);
        assert_int_equal(count_text(other, NULL), 2);
        index_free(other);
    }
    assert_int_equal(sqlite3_exec(writer, "COMMIT", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(writer);
    assert_int_equal(index_catch_up_within(fx->ix, fx->s, &st, 50), 0);
    assert_int_equal(st.documents, 2);
    assert_int_equal(count_text(fx->ix, NULL), 4);
}

/*
 * A search's catch-up does not rebuild for changed vocabularies: it
 * reads the index as it is (OER_ETIMEOUT) until a writer's catch-up (the
 * daemon's indexer) has rebuilt it, and then goes on as before.
 */
static void test_search_leaves_rebuild(void **state)
{
    struct fixture *fx = *state;
    struct index *a = NULL;
    char *dir = vocab_copy(fx);
    struct index_stats st;

    publish(fx, level_record("vl5", VL_SRC, "lager-5"));
    assert_int_equal(index_pool_take(&a, fx->path, dir), 0);
    /* a new index is built by the writer too */
    assert_int_equal(index_catch_up_within(a, fx->s, &st, 50), OER_ETIMEOUT);
    assert_int_equal(count_text(a, NULL), 0);
    assert_int_equal(index_catch_up(a, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);
    index_pool_give(a);
    assert_int_equal(testutil_run(NULL, 1, "echo >> '%s/nl.json'", dir), 0);
    usleep(1100 * 1000);
    assert_int_equal(index_pool_take(&a, fx->path, dir), 0);

    assert_int_equal(index_catch_up_within(a, fx->s, &st, 50), OER_ETIMEOUT);
    assert_int_equal(st.origins_rebuilt + st.documents, 0);
    assert_int_equal(count_text(a, NULL), 1);
    /* nor does it catch up what moved meanwhile with the other files */
    publish(fx, level_record("vl6", VL_SRC, "lager-6"));
    assert_int_equal(index_catch_up_within(a, fx->s, &st, 50), OER_ETIMEOUT);
    assert_int_equal(count_text(a, NULL), 1);

    /* the writer rebuilds; then searches catch up as before */
    assert_int_equal(index_catch_up(a, fx->s, &st), 0);
    assert_int_equal(st.origins_rebuilt, 1);
    assert_int_equal(count_text(a, NULL), 2);
    publish(fx, level_record("vl4", VL_SRC, "lager-4"));
    assert_int_equal(index_catch_up_within(a, fx->s, &st, 50), 0);
    assert_int_equal(st.origins_rebuilt, 0);
    assert_int_equal(st.documents, 1);
    assert_int_equal(count_text(a, NULL), 3);
    index_pool_give(a);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_facets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_estimate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_rowid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rank_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewritten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diacritics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vocab_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_age_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vocab_display, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vocab_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_vocab_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pool_vocab_broken, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_search_leaves_rebuild, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_within, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
