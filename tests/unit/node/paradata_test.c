/*
 * paradata: ratings (one per rater, 1 to 5) and download counts, and the
 * search index showing them in hits and leaning its ranking on them.
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
#include "node/paradata.h"
#include "node/store.h"
#include "testutil.h"

static void test_ratings(void **state)
{
    char *dir = testutil_tmpdir("paradata"), path[512], *p;
    struct paradata *pd = NULL;
    double avg = -1;
    long long n = -1, dl = -1;

    snprintf(path, sizeof(path), "%s/repo.git", dir);
    p = paradata_path(path);
    snprintf(path, sizeof(path), "%s/paradata.sqlite", dir);
    assert_string_equal(p, path);
    free(p);
    assert_int_equal(paradata_open(&pd, path), 0);
    assert_int_equal(paradata_get(pd, "be-vl/x", &avg, &n, &dl), 0);
    assert_true(avg == 0 && n == 0 && dl == 0);

    assert_int_equal(paradata_rate(pd, "be-vl/x", "10.0.0.1", 5), 0);
    assert_int_equal(paradata_rate(pd, "be-vl/x", "10.0.0.2", 2), 0);
    /* one rating per rater: the second replaces the first */
    assert_int_equal(paradata_rate(pd, "be-vl/x", "10.0.0.1", 4), 0);
    assert_int_equal(paradata_rate(pd, "be-vl/x", "10.0.0.3", 0), OER_EINVAL);
    assert_int_equal(paradata_rate(pd, "be-vl/x", "10.0.0.3", 6), OER_EINVAL);
    assert_int_equal(paradata_rate(pd, "be-vl/x", "", 3), OER_EINVAL);
    assert_int_equal(paradata_download(pd, "be-vl/x"), 0);
    assert_int_equal(paradata_download(pd, "be-vl/x"), 0);
    assert_int_equal(paradata_get(pd, "be-vl/x", &avg, &n, &dl), 0);
    assert_true(avg == 3.0);
    assert_int_equal(n, 2);
    assert_int_equal(dl, 2);
    paradata_free(pd);
    paradata_free(NULL);
    testutil_run(NULL, 1, "rm -rf '%s'", dir);
    free(dir);
}

static void publish(struct store *s, struct identity *id, const char *local)
{
    struct store_batch *b = NULL;
    char rid[64];
    json_t *doc;

    snprintf(rid, sizeof(rid), "be-vl/%s", local);
    doc = json_pack("{s:i,s:s,s:{s:s},s:[s],s:s,s:s}", "schema", 1, "id",
                    rid, "title", "en", "Volcanoes", "languages", "en",
                    "licence", "CC0-1.0", "updated", "2026-02-01T10:00:00Z");
    assert_int_equal(store_batch_new(&b, s, "be-vl"), 0);
    assert_int_equal(store_batch_put(b, doc, NULL), 0);
    assert_int_equal(store_batch_commit(NULL, b, id, "test"), 0);
    store_batch_free(b);
    json_decref(doc);
}

static const json_t *first_hit(const json_t *answer)
{
    return json_array_get(json_object_get(answer, "hits"), 0);
}

static void test_ranking(void **state)
{
    char *dir = testutil_tmpdir("paradata"), repo[512], key[512], ip[512];
    struct index_query q = { .text = "volcanoes", .limit = 10 };
    struct store *s = NULL;
    struct identity *id = NULL;
    struct index *ix = NULL;
    struct paradata *pd = NULL;
    const json_t *hit;
    json_t *a = NULL;

    snprintf(repo, sizeof(repo), "%s/repo.git", dir);
    snprintf(key, sizeof(key), "%s/node.key", dir);
    snprintf(ip, sizeof(ip), "%s/index.sqlite", dir);
    assert_int_equal(store_init(repo), 0);
    assert_int_equal(store_open(&s, repo), 0);
    assert_int_equal(identity_generate(&id, key), 0);
    publish(s, id, "a");
    publish(s, id, "b");
    assert_int_equal(index_open(&ix, ip), 0);
    assert_int_equal(index_catch_up(ix, s, NULL), 0);

    /* equal texts: by id */
    assert_int_equal(index_search(&a, ix, &q), 0);
    assert_string_equal(json_string_value(json_object_get(first_hit(a),
                                                          "id")),
                        "be-vl/a");
    json_decref(a);

    /* b well rated and downloaded comes first, and shows it */
    snprintf(key, sizeof(key), "%s/paradata.sqlite", dir);
    assert_int_equal(paradata_open(&pd, key), 0);
    assert_int_equal(paradata_rate(pd, "be-vl/b", "10.0.0.1", 5), 0);
    assert_int_equal(paradata_rate(pd, "be-vl/a", "10.0.0.1", 2), 0);
    assert_int_equal(paradata_download(pd, "be-vl/b"), 0);
    assert_int_equal(index_search(&a, ix, &q), 0);
    hit = first_hit(a);
    assert_string_equal(json_string_value(json_object_get(hit, "id")),
                        "be-vl/b");
    assert_true(json_real_value(json_object_get(
                    json_object_get(hit, "rating"), "average")) == 5.0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(hit, "rating"), "count")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(hit, "downloads")),
                     1);
    json_decref(a);

    paradata_free(pd);
    index_free(ix);
    identity_free(id);
    store_free(s);
    testutil_run(NULL, 1, "rm -rf '%s'", dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratings),
        cmocka_unit_test(test_ranking),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
