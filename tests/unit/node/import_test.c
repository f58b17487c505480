/*
 * Tests of the import sink (node/import): idempotent runs, one commit
 * per change, duplicates merged, dry runs that write nothing, tombstones
 * and skip reasons, on real bare repositories checked with stock git.
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
#include "node/import.h"
#include "node/metadata.h"
#include "node/store.h"
#include "testutil.h"

#define ORIGIN "be-vl"

struct fixture {
    char *dir;
    char repo[512];
    struct store *s;
    struct identity *id;
    struct import_options opt;
    int reports;
};

static void on_report(const char *where, const char *reason, const char *detail,
                      void *arg)
{
    struct fixture *fx = arg;

    fx->reports++;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char key[600];

    fx->dir = testutil_tmpdir("import");
    snprintf(fx->repo, sizeof(fx->repo), "%s/repo.git", fx->dir);
    snprintf(key, sizeof(key), "%s/node.key", fx->dir);
    assert_int_equal(store_init(fx->repo), 0);
    assert_int_equal(store_open(&fx->s, fx->repo), 0);
    assert_int_equal(identity_generate(&fx->id, key), 0);
    fx->opt.store = fx->s;
    fx->opt.key = fx->id;
    fx->opt.origin = ORIGIN;
    fx->opt.label = "import test";
    fx->opt.report = on_report;
    fx->opt.report_arg = fx;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    store_free(fx->s);
    identity_free(fx->id);
    testutil_run(NULL, 1, "rm -rf '%s'", fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static json_t *record(const char *source_id, const char *title,
                      const char *keyword)
{
    return json_pack("{s:i, s:{s:s}, s:[s], s:s, s:s, s:{s:[s]}}", "schema", 1,
                     "title", "en", title, "languages", "en", "licence",
                     "CC-BY-4.0", "source_id", source_id, "keywords", "en",
                     keyword);
}

/* Import the records in docs (NULL-terminated) in one run. */
static int run(struct import_summary *sum, struct fixture *fx, json_t **docs)
{
    struct import_run *r = NULL;

    assert_int_equal(import_begin(&r, &fx->opt), 0);
    for (size_t i = 0; docs[i] != NULL; i++)
        assert_int_equal(import_put(r, docs[i], NULL), 0);
    return import_finish(sum, r);
}

static void free_docs(json_t **docs)
{
    for (size_t i = 0; docs[i] != NULL; i++)
        json_decref(docs[i]);
}

static char *head(struct fixture *fx)
{
    char h[STORE_OID_HEX];

    if (store_head(h, fx->s, ORIGIN) < 0)
        return strdup("");
    return strdup(h);
}

static char *git(struct fixture *fx, const char *args)
{
    char *out = NULL;

    assert_int_equal(testutil_run(&out, 0, "git -C '%s' %s", fx->repo, args),
                     0);
    return out;
}

static void test_second_run_commits_nothing(void **state)
{
    struct fixture *fx = *state;
    json_t *docs[] = {record("oai:x:1", "One", "a"),
                      record("oai:x:2", "Two", "b"), NULL};
    struct import_summary sum;
    char *h1, *h2;

    assert_int_equal(run(&sum, fx, docs), 0);
    assert_int_equal(sum.added, 2);
    assert_int_equal(sum.commits, 1);
    h1 = head(fx);
    assert_int_equal(run(&sum, fx, docs), 0);
    assert_int_equal(sum.added, 0);
    assert_int_equal(sum.unchanged, 2);
    assert_int_equal(sum.commits, 0);
    h2 = head(fx);
    assert_string_equal(h1, h2);
    free(h1);
    free(h2);
    free_docs(docs);
}

static void test_edit_changes_one_record(void **state)
{
    struct fixture *fx = *state;
    json_t *docs[] = {record("oai:x:1", "One", "a"),
                      record("oai:x:2", "Two", "b"), NULL};
    struct import_summary sum;
    char local[16], expect[64], *h1, *h2, *diff, cmd[200];

    assert_int_equal(run(&sum, fx, docs), 0);
    h1 = head(fx);
    json_object_set_new(docs[1], "title", json_pack("{s:s}", "en", "Deux"));
    assert_int_equal(run(&sum, fx, docs), 0);
    assert_int_equal(sum.updated, 1);
    assert_int_equal(sum.unchanged, 1);
    assert_int_equal(sum.commits, 1);
    h2 = head(fx);

    /* one commit on top of the first, changing exactly that document */
    snprintf(cmd, sizeof(cmd), "rev-parse %s^", h2);
    diff = git(fx, cmd);
    assert_memory_equal(diff, h1, 40);
    free(diff);
    snprintf(cmd, sizeof(cmd), "diff-tree -r --name-only %s %s", h1, h2);
    diff = git(fx, cmd);
    metadata_local_id(local, "oai:x:2");
    snprintf(expect, sizeof(expect), "%.2s/%s.json\n", local, local);
    assert_string_equal(diff, expect);
    free(diff);
    free(h1);
    free(h2);
    free_docs(docs);
}

static void test_duplicates_merge(void **state)
{
    struct fixture *fx = *state;
    json_t *docs[] = {record("row:7", "Algebra", "maths"),
                      record("row:7", "Algebra", "equations"),
                      record("row:7", "Algebra", "maths"), NULL};
    struct import_summary sum;
    json_t *got = NULL, *kw;
    char local[16];

    json_object_set_new(
        docs[1], "subjects",
        json_pack("[{s:s, s:s}]", "source", "", "value", "Mathematics"));
    assert_int_equal(run(&sum, fx, docs), 0);
    assert_int_equal(sum.added, 1);
    assert_int_equal(sum.merged, 2);
    metadata_local_id(local, "row:7");
    assert_int_equal(store_get(&got, fx->s, ORIGIN, local), 0);
    kw = json_object_get(json_object_get(got, "keywords"), "en");
    assert_int_equal(json_array_size(kw), 2);
    assert_string_equal(json_string_value(json_array_get(kw, 0)), "maths");
    assert_string_equal(json_string_value(json_array_get(kw, 1)), "equations");
    assert_int_equal(json_array_size(json_object_get(got, "subjects")), 1);
    json_decref(got);

    /* and a second run is still idempotent */
    assert_int_equal(run(&sum, fx, docs), 0);
    assert_int_equal(sum.unchanged, 1);
    assert_int_equal(sum.commits, 0);
    free_docs(docs);
}

static void test_dry_run_writes_nothing(void **state)
{
    struct fixture *fx = *state;
    json_t *docs[] = {record("oai:x:1", "One", "a"),
                      record("oai:x:2", "Two", "b"), NULL};
    json_t *more[] = {record("oai:x:3", "Three", "c"), NULL};
    struct import_summary sum;
    char *objects1, *refs1, *objects2, *refs2;

    assert_int_equal(run(&sum, fx, docs), 0);
    objects1 = git(fx, "count-objects -v");
    refs1 = git(fx, "show-ref");

    fx->opt.dry_run = 1;
    json_object_set_new(docs[0], "title", json_pack("{s:s}", "en", "Uno"));
    assert_int_equal(run(&sum, fx, docs), 0);
    assert_int_equal(sum.dry_run, 1);
    assert_int_equal(sum.updated, 1);
    assert_int_equal(sum.unchanged, 1);
    assert_int_equal(sum.commits, 0);
    assert_int_equal(run(&sum, fx, more), 0);
    assert_int_equal(sum.added, 1);

    objects2 = git(fx, "count-objects -v");
    refs2 = git(fx, "show-ref");
    assert_string_equal(objects1, objects2);
    assert_string_equal(refs1, refs2);
    free(objects1);
    free(objects2);
    free(refs1);
    free(refs2);
    free_docs(docs);
    free_docs(more);
}

static void test_withdraw_writes_tombstone(void **state)
{
    struct fixture *fx = *state;
    json_t *docs[] = {record("oai:x:1", "One", "a"), NULL};
    struct import_summary sum;
    struct import_run *r = NULL;
    json_t *got = NULL;
    char local[16];

    assert_int_equal(run(&sum, fx, docs), 0);
    assert_int_equal(import_begin(&r, &fx->opt), 0);
    assert_int_equal(import_withdraw(r, "oai:x:1", NULL), 0);
    assert_int_equal(import_withdraw(r, "oai:x:never", NULL), 0);
    assert_int_equal(import_finish(&sum, r), 0);
    assert_int_equal(sum.withdrawn, 1);
    assert_int_equal(sum.gone, 1);
    assert_int_equal(sum.commits, 1);

    metadata_local_id(local, "oai:x:1");
    assert_int_equal(store_get(&got, fx->s, ORIGIN, local), 0);
    assert_true(metadata_is_tombstone(got));
    assert_string_equal(json_string_value(json_object_get(got, "source_id")),
                        "oai:x:1");
    json_decref(got);

    /* withdrawing again changes nothing */
    assert_int_equal(import_begin(&r, &fx->opt), 0);
    assert_int_equal(import_withdraw(r, "oai:x:1", NULL), 0);
    assert_int_equal(import_finish(&sum, r), 0);
    assert_int_equal(sum.gone, 1);
    assert_int_equal(sum.commits, 0);
    free_docs(docs);
}

static void test_skips_counted_by_reason(void **state)
{
    struct fixture *fx = *state;
    json_t *bad = record("oai:x:9", "", "a"), *noid = record("x", "T", "k");
    struct import_summary sum;
    struct import_run *r = NULL;

    json_object_del(noid, "source_id");
    assert_int_equal(import_begin(&r, &fx->opt), 0);
    import_skip(r, "a", "no title", NULL);
    import_skip(r, "b", "no title", "empty");
    import_skip(r, NULL, "not Dublin Core: paradata", NULL);
    assert_int_equal(import_put(r, bad, NULL), 0);
    assert_int_equal(import_put(r, noid, NULL), 0);
    assert_int_equal(import_finish(&sum, r), 0);
    assert_int_equal(sum.skipped, 5);
    assert_int_equal(fx->reports, 5);
    assert_int_equal(sum.reason_count, 4);
    assert_string_equal(sum.reasons[0].text, "no title");
    assert_int_equal(sum.reasons[0].count, 2);
    assert_string_equal(sum.reasons[2].text, "invalid metadata");
    assert_string_equal(sum.reasons[3].text, "no identifier");
    assert_int_equal(sum.commits, 0);
    json_decref(bad);
    json_decref(noid);
}

static void test_batches_of_at_most_batch_max(void **state)
{
    struct fixture *fx = *state;
    struct import_summary sum;
    struct import_run *r = NULL;
    char sid[32], *count;

    assert_int_equal(import_begin(&r, &fx->opt), 0);
    for (int i = 0; i < IMPORT_BATCH_MAX + 5; i++) {
        json_t *doc;

        snprintf(sid, sizeof(sid), "oai:x:%d", i);
        doc = record(sid, "Title", "k");
        assert_int_equal(import_put(r, doc, NULL), 0);
        json_decref(doc);
    }
    assert_int_equal(import_finish(&sum, r), 0);
    assert_int_equal(sum.added, IMPORT_BATCH_MAX + 5);
    assert_int_equal(sum.commits, 2);
    count = git(fx, "rev-list --count refs/catalog/" ORIGIN);
    assert_string_equal(count, "2\n");
    free(count);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_run_commits_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_edit_changes_one_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_writes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_withdraw_writes_tombstone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_skips_counted_by_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batches_of_at_most_batch_max,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
