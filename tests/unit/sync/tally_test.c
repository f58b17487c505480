/*
 * Tests of sync/tally: the document count of catalogue commits, whole
 * and from a counted ancestor, against stock git's own listing.
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
#include "node/store.h"
#include "sync/tally.h"
#include "testutil.h"

#define ORIGIN "be-vl"

/* Commit n documents local<from>..local<from+n-1>; the commit to out. */
static void publish(char out[STORE_OID_HEX], struct store *s,
                    const struct identity *id, int from, int n)
{
    struct store_batch *b = NULL;

    assert_int_equal(store_batch_new(&b, s, ORIGIN), 0);
    for (int i = from; i < from + n; i++) {
        char local[64];
        json_t *doc;

        snprintf(local, sizeof(local), ORIGIN "/r%04d", i);
        doc = json_pack("{s:i, s:s, s:{s:s}, s:[s], s:s, s:s}", "schema", 1,
                        "id", local, "title", "nl", "les", "languages", "nl",
                        "licence", "CC-BY-4.0", "updated",
                        "2026-01-01T00:00:00Z");
        assert_int_equal(store_batch_put(b, doc, NULL), 0);
        json_decref(doc);
    }
    assert_int_equal(store_batch_commit(out, b, id, "publish"), 0);
    store_batch_free(b);
}

static size_t git_count(const char *repo)
{
    char *out = NULL;
    size_t n;

    assert_int_equal(testutil_run(&out, 0,
                                  "git -C %s ls-tree -r refs/catalog/" ORIGIN
                                  " | wc -l",
                                  repo),
                     0);
    n = strtoul(out, NULL, 10);
    free(out);
    return n;
}

static void test_counts(void **state)
{
    char *dir = testutil_tmpdir("tally"), repo[600], key[600];
    char first[STORE_OID_HEX], second[STORE_OID_HEX];
    struct identity *id = NULL;
    struct store *s = NULL;
    size_t n = 0;

    snprintf(repo, sizeof(repo), "%s/r.git", dir);
    snprintf(key, sizeof(key), "%s/key", dir);
    assert_int_equal(store_init(repo), 0);
    assert_int_equal(store_open(&s, repo), 0);
    assert_int_equal(identity_generate(&id, key), 0);

    publish(first, s, id, 0, 300);
    assert_int_equal(tally_documents(&n, s, first, NULL, 0), 0);
    assert_int_equal(n, 300);
    assert_int_equal(n, git_count(repo));

    /* 50 new and 10 changed: only new ones count */
    publish(second, s, id, 290, 60);
    assert_int_equal(tally_documents(&n, s, second, first, 300), 0);
    assert_int_equal(n, 350);
    assert_int_equal(tally_documents(&n, s, second, NULL, 0), 0);
    assert_int_equal(n, 350);
    assert_int_equal(n, git_count(repo));

    assert_int_equal(tally_documents(&n, s, "12", NULL, 0), OER_EINVAL);
    assert_int_equal(tally_documents(&n, s,
                                     "0123456789012345678901234567890123456789",
                                     NULL, 0),
                     OER_ENOTFOUND);
    store_free(s);
    identity_free(id);
    testutil_run(NULL, 1, "rm -rf '%s'", dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
