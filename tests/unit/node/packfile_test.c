/*
 * Tests of node/packfile: packs written without libgit2's packbuilder,
 * checked by stock git (verify-pack, cat-file, fsck --strict) and read
 * back through libgit2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <git2.h>

#include "node/error.h"
#include "node/packfile.h"
#include "testutil.h"

struct fixture {
    char *dir;
    char repo[512];
    char packs[600];
    git_repository *w; /* objects are written here, in a memory backend */
    git_repository *r; /* a second handle, reading the files only */
    git_odb *odb;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    git_libgit2_init();
    fx->dir = testutil_tmpdir("packfile");
    snprintf(fx->repo, sizeof(fx->repo), "%s/repo.git", fx->dir);
    snprintf(fx->packs, sizeof(fx->packs), "%s/objects/pack", fx->repo);
    assert_int_equal(git_repository_init(&fx->w, fx->repo, 1), 0);
    assert_int_equal(git_repository_odb(&fx->odb, fx->w), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    git_odb_free(fx->odb);
    git_repository_free(fx->w);
    git_repository_free(fx->r);
    testutil_run(NULL, 1, "rm -rf '%s'", fx->dir);
    free(fx->dir);
    free(fx);
    git_libgit2_shutdown();
    return 0;
}

static void put_blob(git_oid *out, struct fixture *fx, const void *data,
                     size_t len)
{
    assert_int_equal(git_odb_write(out, fx->odb, data, len, GIT_OBJECT_BLOB),
                     0);
}

/* Remove the loose copies, so that only the pack can answer. */
static void drop_loose(struct fixture *fx)
{
    assert_int_equal(
        testutil_run(NULL, 1, "cd '%s/objects' && rm -rf ??", fx->repo), 0);
}

static void git_ok(struct fixture *fx, const char *what)
{
    char *out = NULL;
    int rc = testutil_run(&out, 1, "cd '%s' && %s", fx->repo, what);

    if (rc != 0)
        fprintf(stderr, "%s: %s\n", what, out);
    assert_int_equal(rc, 0);
    free(out);
}

/* A small blob, an empty one, one of several stored blocks (over 64 KB),
 * a tree and a commit, with duplicates: all readable from the pack. */
static void test_objects_read_back(void **state)
{
    struct fixture *fx = *state;
    size_t big_len = 200 * 1024 + 7;
    char *big = malloc(big_len);
    git_oid ids[8], tree_id, commit_id;
    git_treebuilder *tb = NULL;
    git_signature *sig = NULL;
    git_tree *tree = NULL;
    git_blob *blob = NULL;
    char name[41] = "", cmd[200];

    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + (i * 7) % 26);
    put_blob(&ids[0], fx, "{\"id\":\"x/1\"}", 12);
    put_blob(&ids[1], fx, "", 0);
    put_blob(&ids[2], fx, big, big_len);
    assert_int_equal(git_treebuilder_new(&tb, fx->w, NULL), 0);
    assert_int_equal(
        git_treebuilder_insert(NULL, tb, "a.json", &ids[0], GIT_FILEMODE_BLOB),
        0);
    assert_int_equal(
        git_treebuilder_insert(NULL, tb, "big", &ids[2], GIT_FILEMODE_BLOB), 0);
    assert_int_equal(git_treebuilder_write(&tree_id, tb), 0);
    assert_int_equal(git_tree_lookup(&tree, fx->w, &tree_id), 0);
    assert_int_equal(git_signature_new(&sig, "t", "t@x", 1700000000, 0), 0);
    assert_int_equal(git_commit_create(&commit_id, fx->w, NULL, sig, sig, NULL,
                                       "packed\n", tree, 0, NULL),
                     0);
    git_oid_cpy(&ids[3], &tree_id);
    git_oid_cpy(&ids[4], &commit_id);
    git_oid_cpy(&ids[5], &ids[0]); /* duplicates are written once */
    git_oid_cpy(&ids[6], &commit_id);
    git_oid_cpy(&ids[7], &ids[1]);

    assert_int_equal(packfile_write(name, fx->packs, fx->odb, ids, 8), 0);
    assert_int_equal(strlen(name), 40);
    drop_loose(fx);
    snprintf(cmd, sizeof(cmd),
             "git verify-pack objects/pack/pack-%s.idx && "
             "test \"$(git show-index < objects/pack/pack-%s.idx | wc -l)\""
             " = 5",
             name, name);
    git_ok(fx, cmd);
    snprintf(cmd, sizeof(cmd), "test \"$(git cat-file -s %s:big)\" = %zu",
             git_oid_tostr_s(&commit_id), big_len);
    git_ok(fx, cmd);

    /* a fresh handle reads every object from the pack */
    assert_int_equal(git_repository_open(&fx->r, fx->repo), 0);
    assert_int_equal(git_blob_lookup(&blob, fx->r, &ids[2]), 0);
    assert_int_equal(git_blob_rawsize(blob), big_len);
    assert_memory_equal(git_blob_rawcontent(blob), big, big_len);
    git_blob_free(blob);
    assert_int_equal(git_blob_lookup(&blob, fx->r, &ids[1]), 0);
    assert_int_equal(git_blob_rawsize(blob), 0);
    git_blob_free(blob);

    snprintf(cmd, sizeof(cmd),
             "git update-ref refs/heads/main %s && git fsck --strict",
             git_oid_tostr_s(&commit_id));
    git_ok(fx, cmd);
    git_signature_free(sig);
    git_tree_free(tree);
    git_treebuilder_free(tb);
    free(big);
}

static void test_refusals(void **state)
{
    struct fixture *fx = *state;
    git_oid missing;

    assert_int_equal(packfile_write(NULL, fx->packs, fx->odb, NULL, 0),
                     OER_EINVAL);
    git_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567");
    assert_int_equal(packfile_write(NULL, fx->packs, fx->odb, &missing, 1),
                     OER_ENOTFOUND);
    /* nothing half-written is left behind */
    git_ok(fx, "test -z \"$(ls objects/pack)\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_objects_read_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
