/*
 * fedsearch: a peer's SEARCH read like the API's parameters (hostile
 * queries, unknown filters, too many values, the asker's system and
 * language), the policy of what is offered, answers from a real index
 * restricted to it and to what the asker does not hold (titles cut on a
 * character, scores by place), and the merge of peers' hits after the
 * local ones (deduplicated by id, best score first, at most limit); the
 * held origins a SEARCH names fit the smallest frame a peer may accept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/identity.h"
#include "node/error.h"
#include "node/index.h"
#include "node/store.h"
#include "protocol/limits.h"
#include "protocol/message.h"
#include "sync/fedsearch.h"
#include "testutil.h"

/* ---- reading a SEARCH ---- */

static int read_search(struct index_query *q, const char *text,
                       struct message_filter *f, size_t nf, const char **why)
{
    struct message_search m = {.id = 1, .query = text, .filters = f,
                               .nfilters = nf, .deadline_ms = 300};

    return fedsearch_query(q, &m, why);
}

static void test_query_hostile_text_is_quoted(void **state)
{
    static const char *const texts[] = {
        "\" OR title:x NEAR(", "photo* AND {(^", "\"\"\"\"", "*", "NOT",
        "a:b:c -d +e", "",
    };
    struct index_query q;
    const char *why;
    char *fts = NULL;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(read_search(&q, texts[i], NULL, 0, &why), 0);
        assert_string_equal(q.text, texts[i]);
        assert_int_equal(q.limit, INDEX_LIMIT_MAX);
        /* what the index runs: quoted phrases only */
        assert_int_equal(index_query_fts(&fts, q.text), 0);
        assert_true(fts[0] == '\0' || fts[0] == '"');
        free(fts);
    }
}

/* The asker's system and language reach the query as the API's
 * parameters would; a value that is not UTF-8 is refused. */
static void test_query_system_and_lang(void **state)
{
    struct message_search m = {.id = 1, .query = "breuken",
                               .deadline_ms = 300, .system = "be-vl",
                               .lang = "nl"};
    struct index_query q;
    const char *why;

    assert_int_equal(fedsearch_query(&q, &m, &why), 0);
    assert_string_equal(q.system, "be-vl");
    assert_string_equal(q.lang, "nl");

    m.system = "";
    m.lang = NULL;
    assert_int_equal(fedsearch_query(&q, &m, &why), 0);
    assert_null(q.system);
    assert_null(q.lang);

    m.system = "be\xff";
    assert_int_equal(fedsearch_query(&q, &m, &why), OER_EINVAL);
    assert_non_null(why);
    m.system = NULL;
    m.lang = "\xc3";
    assert_int_equal(fedsearch_query(&q, &m, &why), OER_EINVAL);
}

static void test_query_refusals(void **state)
{
    char big[INDEX_QUERY_MAX + 2];
    const char *level[INDEX_FILTER_VALUES + 1];
    struct message_filter f = {.key = "title", .values = level, .nvalues = 1};
    struct index_query q;
    const char *why;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(read_search(&q, big, NULL, 0, &why), OER_EINVAL);
    assert_non_null(strstr(why, "query"));
    assert_int_equal(read_search(&q, "\xff\xfe", NULL, 0, &why), OER_EINVAL);

    for (size_t i = 0; i < INDEX_FILTER_VALUES + 1; i++)
        level[i] = "isced:1";
    assert_int_equal(read_search(&q, "x", &f, 1, &why), OER_EINVAL);
    assert_string_equal(why, "unknown filter");
    f.key = "level";
    f.nvalues = INDEX_FILTER_VALUES + 1;
    assert_int_equal(read_search(&q, "x", &f, 1, &why), OER_EINVAL);
    assert_non_null(why);
    f.nvalues = 2;
    assert_int_equal(read_search(&q, "x", &f, 1, &why), 0);
    assert_int_equal(q.nfilters[INDEX_LEVEL], 2);
    assert_string_equal(q.filters[INDEX_LEVEL][1], "isced:1");
}

/* ---- policy ---- */

static void test_offers(void **state)
{
    char *star[] = {"*"}, *only[] = {"aa"};
    struct config c = {.node_id = "aa"};

    c.policy.offer = (struct config_origins){star, 1};
    c.policy.relay = 1;
    assert_true(fedsearch_offers(&c, "bb", "aa"));
    assert_true(fedsearch_offers(&c, "bb", "cc"));
    assert_false(fedsearch_offers(&c, "bb", "bb")); /* it holds its own */
    c.policy.relay = 0;
    assert_false(fedsearch_offers(&c, "bb", "cc"));
    assert_true(fedsearch_offers(&c, "bb", "aa"));
    c.policy.relay = 1;
    c.policy.offer = (struct config_origins){only, 1};
    assert_false(fedsearch_offers(&c, "bb", "cc"));
    assert_true(fedsearch_offers(&c, "bb", "aa"));

    /* a per-peer offer = none: nothing, not even this node's own */
    {
        char *none[] = {"none"};
        struct config_peer bb = {.name = "bb", .relay = -1};

        bb.offer = (struct config_origins){none, 1};
        c.peers = &bb;
        c.peer_count = 1;
        assert_false(fedsearch_offers(&c, "bb", "aa"));
        assert_true(fedsearch_offers(&c, "xx", "aa"));
        c.peers = NULL;
        c.peer_count = 0;
    }
}

/* ---- answering from a real index ---- */

struct fixture {
    char *dir;
    char repo[512];
    struct store *s;
    struct identity *id;
    struct index *ix;
};

static void publish(struct fixture *fx, const char *origin, int n,
                    const char *title)
{
    struct store_batch *b = NULL;
    char id[64];
    json_t *doc;

    snprintf(id, sizeof(id), "%s/rec%02d", origin, n);
    doc = json_pack("{s:i,s:s,s:{s:s},s:[s],s:s,s:s}", "schema", 1, "id", id,
                    "title", "en", title, "languages", "en", "licence",
                    "CC-BY-4.0", "updated", "2026-01-01T10:00:00Z");
    assert_non_null(doc);
    assert_int_equal(store_batch_new(&b, fx->s, origin), 0);
    assert_int_equal(store_batch_put(b, doc, NULL), 0);
    assert_int_equal(store_batch_commit(NULL, b, fx->id, "test"), 0);
    store_batch_free(b);
    json_decref(doc);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char key[600], path[600];

    fx->dir = testutil_tmpdir("fedsearch");
    snprintf(fx->repo, sizeof(fx->repo), "%s/repo.git", fx->dir);
    snprintf(key, sizeof(key), "%s/node.key", fx->dir);
    snprintf(path, sizeof(path), "%s/index.sqlite", fx->dir);
    assert_int_equal(store_init(fx->repo), 0);
    assert_int_equal(store_open(&fx->s, fx->repo), 0);
    assert_int_equal(identity_generate(&fx->id, key), 0);
    assert_int_equal(index_open(&fx->ix, path), 0);
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

static void test_answer_offered_only(void **state)
{
    struct fixture *fx = *state;
    char *star[] = {"*"};
    struct config c = {.node_id = "aa"};
    struct message_results r;
    struct index_query q;
    const char *why;
    char title[400];
    size_t n = 0;

    c.policy.offer = (struct config_origins){star, 1};
    c.policy.relay = 1;
    /* a title of 150 two-byte letters: 300 bytes */
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(title + n, sizeof(title) - n, "\xc3\xa9");
    snprintf(title + n, sizeof(title) - n, " photosynthesis");
    publish(fx, "aa", 1, "Photosynthesis at home");
    publish(fx, "bb", 1, "Photosynthesis with a lamp");
    publish(fx, "cc", 1, title);
    assert_int_equal(index_catch_up(fx->ix, fx->s, NULL), 0);

    /* bb asks: its own catalogue is not sent back */
    assert_int_equal(read_search(&q, "photosynthesis", NULL, 0, &why), 0);
    assert_int_equal(fedsearch_answer(&r, fx->ix, &q, &c, "bb", NULL, 0), 0);
    assert_int_equal(r.nhits, 2);
    assert_string_equal(r.error, "");
    for (size_t i = 0; i < r.nhits; i++) {
        assert_true(strncmp(r.hits[i].id, "bb/", 3) != 0);
        assert_true(strlen(r.hits[i].title) <= FEDSEARCH_TITLE_MAX);
        if (strncmp(r.hits[i].id, "cc/", 3) == 0) /* cut on a character */
            assert_int_equal(strlen(r.hits[i].title), 256);
    }
    assert_true(r.hits[0].score > r.hits[1].score);
    assert_true(r.hits[0].score <= 1000000);
    fedsearch_results_clear(&r);

    /* without relay only this node's own */
    c.policy.relay = 0;
    assert_int_equal(read_search(&q, "photo*", NULL, 0, &why), 0);
    assert_int_equal(fedsearch_answer(&r, fx->ix, &q, &c, "bb", NULL, 0), 0);
    assert_int_equal(r.nhits, 1);
    assert_string_equal(r.hits[0].id, "aa/rec01");
    fedsearch_results_clear(&r);

    /* the origins bb says it holds are left out: the answer is cc's */
    {
        static const char *const held[] = {"aa", "bb"};

        c.policy.relay = 1;
        assert_int_equal(read_search(&q, "photosynthesis", NULL, 0, &why),
                         0);
        assert_int_equal(fedsearch_answer(&r, fx->ix, &q, &c, "bb", held, 2),
                         0);
        assert_int_equal(r.nhits, 1);
        assert_true(strncmp(r.hits[0].id, "cc/", 3) == 0);
        fedsearch_results_clear(&r);
    }

    /* hostile text finds nothing and breaks nothing */
    assert_int_equal(read_search(&q, "\" OR title:x NEAR(", NULL, 0, &why),
                     0);
    assert_int_equal(fedsearch_answer(&r, fx->ix, &q, &c, "bb", NULL, 0), 0);
    assert_int_equal(r.nhits, 0);
    fedsearch_results_clear(&r);
}

/* ---- merging ---- */

static const char *source_of(const json_t *hits, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(hits, i), "source"));
}

static const char *id_of(const json_t *hits, size_t i)
{
    return json_string_value(json_object_get(json_array_get(hits, i), "id"));
}

static void test_merge(void **state)
{
    json_t *answer, *remote, *hits;

    answer = json_pack("{s:[{s:s},{s:s}]}", "hits", "id", "aa/1", "id",
                       "bb/2");
    remote = json_pack(
        "{s:[{s:s,s:i,s:s},{s:s,s:i,s:s},{s:s,s:i,s:s},{s:s,s:i,s:s}],"
        "s:[{s:s,s:s}]}",
        "hits", "id", "bb/2", "score", 5, "source", "bb", "id", "cc/3",
        "score", 10, "source", "dd", "id", "cc/4", "score", 999, "source",
        "bb", "id", "cc/3", "score", 7, "source", "bb", "peers", "id", "bb",
        "status", "answered");
    assert_int_equal(fedsearch_merge(answer, remote, 20), 0);
    hits = json_object_get(answer, "hits");
    assert_int_equal(json_array_size(hits), 4);
    assert_string_equal(id_of(hits, 0), "aa/1");
    assert_string_equal(source_of(hits, 0), "local");
    assert_string_equal(id_of(hits, 1), "bb/2"); /* local wins */
    assert_string_equal(source_of(hits, 1), "local");
    assert_string_equal(id_of(hits, 2), "cc/4"); /* best score first */
    assert_string_equal(id_of(hits, 3), "cc/3"); /* once, its best */
    assert_string_equal(source_of(hits, 3), "dd");
    assert_int_equal(json_array_size(json_object_get(answer, "peers")), 1);
    json_decref(answer);

    /* at most limit of the peers' hits */
    answer = json_pack("{s:[]}", "hits");
    assert_int_equal(fedsearch_merge(answer, remote, 1), 0);
    hits = json_object_get(answer, "hits");
    assert_int_equal(json_array_size(hits), 1);
    assert_string_equal(id_of(hits, 0), "cc/4");
    json_decref(answer);
    json_decref(remote);

    /* no peers asked */
    answer = json_pack("{s:[{s:s}]}", "hits", "id", "aa/1");
    assert_int_equal(fedsearch_merge(answer, NULL, 20), 0);
    assert_string_equal(source_of(json_object_get(answer, "hits"), 0),
                        "local");
    assert_int_equal(json_array_size(json_object_get(answer, "peers")), 0);
    json_decref(answer);
}

/* ---- the held origins a SEARCH names ---- */

static int encode_search(const char *const *held, size_t nheld,
                         const char *text)
{
    struct message m = {.type = MESSAGE_SEARCH};
    struct message_hello small = {.max_frame = LIMIT_FRAME_MIN,
                                  .max_data_frame = LIMIT_FRAME_MIN};
    unsigned char *frame = NULL;
    size_t len = 0;
    int err;

    m.u.search = (struct message_search){
        .id = 1, .query = text, .deadline_ms = 300,
        .held = (const char **)held, .nheld = nheld,
        .system = "vlaanderen", .lang = "nl"};
    err = message_encode(&frame, &len, &m, &small);
    free(frame);
    return err;
}

static void test_held_fits_smallest_frame(void **state)
{
    static char names[LIMIT_HELD][65];
    const char *held[LIMIT_HELD];
    char text[1001];
    size_t n;

    (void)state;
    memset(text, 'w', 1000);
    text[1000] = '\0';
    for (size_t i = 0; i < LIMIT_HELD; i++) {
        snprintf(names[i], sizeof(names[i]), "o%063zu", i);
        held[i] = names[i];
    }
    /* origins of the longest names: all of them would not fit */
    n = fedsearch_held_fitting(held, LIMIT_HELD);
    assert_true(n >= 400 && n < LIMIT_HELD);
    assert_int_equal(encode_search(held, LIMIT_HELD, text), OER_EINVAL);
    assert_int_equal(encode_search(held, n, text), 0);

    /* short names: every one, up to LIMIT_HELD */
    for (size_t i = 0; i < LIMIT_HELD; i++)
        snprintf(names[i], sizeof(names[i]), "o%07zu", i);
    assert_int_equal(fedsearch_held_fitting(held, LIMIT_HELD), LIMIT_HELD);
    assert_int_equal(fedsearch_held_fitting(held, 3), 3);
    assert_int_equal(encode_search(held, LIMIT_HELD, text), 0);
}

/* Takes from r at now_ms until it refuses; how many it took. */
static int take_all(struct fedsearch_rate *r, unsigned rate, uint64_t now)
{
    int n = 0;

    while (fedsearch_rate_take(r, rate, now))
        n++;
    return n;
}

static void test_rate(void **state)
{
    struct fedsearch_rate r = {0};
    uint64_t t = 5000000; /* a monotonic clock is far from 0 */

    (void)state;
    /* starts full: two seconds' worth at once, then nothing */
    assert_int_equal(take_all(&r, 50, t), 50 * FEDSEARCH_BURST_S);
    assert_false(fedsearch_rate_take(&r, 50, t));
    /* 50 a second: one every 20 ms, and nothing in between */
    assert_false(fedsearch_rate_take(&r, 50, t + 19));
    assert_true(fedsearch_rate_take(&r, 50, t + 20));
    assert_false(fedsearch_rate_take(&r, 50, t + 20));
    assert_int_equal(take_all(&r, 50, t + 1020), 50);
    /* a long pause fills it to its brim, never beyond */
    assert_int_equal(take_all(&r, 50, t + 3600000), 50 * FEDSEARCH_BURST_S);
    /* a clock that goes back adds nothing */
    assert_false(fedsearch_rate_take(&r, 50, t));
    /* one a second: two at once, then one a second */
    memset(&r, 0, sizeof(r));
    assert_int_equal(take_all(&r, 1, t), FEDSEARCH_BURST_S);
    assert_false(fedsearch_rate_take(&r, 1, t + 999));
    assert_true(fedsearch_rate_take(&r, 1, t + 1000));
    /* the largest rate over the longest pause does not wrap */
    memset(&r, 0, sizeof(r));
    assert_true(fedsearch_rate_take(&r, CONFIG_PEER_RATE_MAX, 1));
    assert_int_equal(take_all(&r, CONFIG_PEER_RATE_MAX, UINT64_MAX / 2),
                     CONFIG_PEER_RATE_MAX * FEDSEARCH_BURST_S);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_hostile_text_is_quoted),
        cmocka_unit_test(test_query_refusals),
        cmocka_unit_test(test_query_system_and_lang),
        cmocka_unit_test(test_offers),
        cmocka_unit_test_setup_teardown(test_answer_offered_only, setup,
                                        teardown),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_held_fits_smallest_frame),
        cmocka_unit_test(test_rate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
