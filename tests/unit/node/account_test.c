/*
 * Tests of node/account: tokens are random and only their SHA-256 (the
 * one sha256sum prints) is stored; roles parse and name themselves; a
 * revoked or idle account's token stops working; expiry deletes exactly
 * the idle accounts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/account.h"
#include "node/error.h"
#include "testutil.h"

#define DAY (24LL * 3600)

static int holds(const char *buf, size_t len, const char *s, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(buf + i, s, n) == 0)
            return 1;
    }
    return 0;
}

struct fixture {
    char *dir;
    char *path;
    struct account_db *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->dir = testutil_tmpdir("account");
    f->path = malloc(strlen(f->dir) + 32);
    sprintf(f->path, "%s/accounts.sqlite", f->dir);
    assert_int_equal(account_open(&f->db, f->path), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    account_close(f->db);
    free(f->path);
    free(f->dir);
    free(f);
    return 0;
}

static void test_hash_is_sha256(void **state)
{
    char hash[ACCOUNT_HASH_HEX];
    char *out = NULL;

    (void)state;
    assert_int_equal(account_token_hash(hash, "abc"), 0);
    assert_string_equal(hash, "ba7816bf8f01cfea414140de5dae2223"
                              "b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(testutil_run(&out, 0, "printf oer_x | sha256sum"), 0);
    assert_int_equal(account_token_hash(hash, "oer_x"), 0);
    assert_memory_equal(out, hash, 64);
    free(out);
}

static void test_roles(void **state)
{
    enum account_role r;

    (void)state;
    assert_int_equal(account_role_parse(&r, "contributor"), 0);
    assert_int_equal(r, ACCOUNT_CONTRIBUTOR);
    assert_int_equal(account_role_parse(&r, "moderator"), 0);
    assert_int_equal(r, ACCOUNT_MODERATOR);
    assert_int_equal(account_role_parse(&r, "admin"), 0);
    assert_int_equal(r, ACCOUNT_ADMIN);
    assert_int_equal(account_role_parse(&r, "Admin"), OER_EINVAL);
    assert_int_equal(account_role_parse(&r, ""), OER_EINVAL);
    assert_string_equal(account_role_name(ACCOUNT_MODERATOR), "moderator");
    assert_true(ACCOUNT_CONTRIBUTOR < ACCOUNT_MODERATOR &&
                ACCOUNT_MODERATOR < ACCOUNT_ADMIN);
    assert_true(account_valid_name("ann@school.example"));
    assert_false(account_valid_name(""));
    assert_false(account_valid_name("a b"));
    assert_false(account_valid_name("a\n"));
}

static void test_token_stored_hashed(void **state)
{
    struct fixture *f = *state;
    char t1[ACCOUNT_TOKEN_LEN + 1], t2[ACCOUNT_TOKEN_LEN + 1];
    char hash[ACCOUNT_HASH_HEX], *dump;
    size_t len = 0;
    struct account a;

    assert_int_equal(
        account_create(t1, f->db, "ann", ACCOUNT_CONTRIBUTOR, 1000), 0);
    assert_int_equal(account_create(t2, f->db, "bob", ACCOUNT_MODERATOR, 1000),
                     0);
    assert_int_equal(strlen(t1), ACCOUNT_TOKEN_LEN);
    assert_memory_equal(t1, "oer_", 4);
    assert_string_not_equal(t1, t2);
    assert_int_equal(account_create(t2, f->db, "ann", ACCOUNT_ADMIN, 1000),
                     OER_EEXISTS);
    assert_int_equal(account_create(t2, f->db, "a b", ACCOUNT_ADMIN, 1000),
                     OER_EINVAL);

    /* the file holds the hash, never the token */
    account_close(f->db);
    f->db = NULL;
    assert_int_equal(account_token_hash(hash, t1), 0);
    dump = testutil_read(f->path, &len);
    assert_non_null(dump);
    assert_true(holds(dump, len, hash, 64));
    assert_false(holds(dump, len, t1 + 4, 64));
    free(dump);
    assert_int_equal(account_open(&f->db, f->path), 0);

    assert_int_equal(account_authenticate(&a, f->db, t1, 2000, DAY), 0);
    assert_string_equal(a.name, "ann");
    assert_int_equal(a.role, ACCOUNT_CONTRIBUTOR);
    assert_int_equal(a.last_active, 2000);
    t1[10] = t1[10] == 'a' ? 'b' : 'a';
    assert_int_equal(account_authenticate(&a, f->db, t1, 2000, DAY),
                     OER_ENOTFOUND);
    assert_int_equal(account_authenticate(&a, f->db, "oer_", 2000, DAY),
                     OER_ENOTFOUND);
}

static void test_revoke(void **state)
{
    struct fixture *f = *state;
    char t[ACCOUNT_TOKEN_LEN + 1];
    struct account a;

    assert_int_equal(account_create(t, f->db, "ann", ACCOUNT_ADMIN, 10), 0);
    assert_int_equal(account_revoke(f->db, "ann"), 0);
    assert_int_equal(account_authenticate(&a, f->db, t, 20, DAY),
                     OER_ENOTFOUND);
    assert_int_equal(account_revoke(f->db, "ann"), OER_ENOTFOUND);
}

static int on_account(const struct account *a, void *arg)
{
    char *names = arg;

    strcat(names, a->name);
    strcat(names, ",");
    return 0;
}

static void test_expiry(void **state)
{
    struct fixture *f = *state;
    char old[ACCOUNT_TOKEN_LEN + 1], busy[ACCOUNT_TOKEN_LEN + 1];
    char t[ACCOUNT_TOKEN_LEN + 1], names[128] = "";
    struct account a;
    size_t removed;

    assert_int_equal(account_create(old, f->db, "old", ACCOUNT_ADMIN, 0), 0);
    assert_int_equal(account_create(busy, f->db, "busy", ACCOUNT_ADMIN, 0), 0);
    assert_int_equal(account_create(t, f->db, "new", ACCOUNT_ADMIN, 300 * DAY),
                     0);
    /* activity keeps an account: busy is seen on day 200 */
    assert_int_equal(
        account_authenticate(&a, f->db, busy, 200 * DAY, 365 * DAY), 0);

    /* day 366: old has idled past a year; its token is expired, then gone */
    assert_int_equal(account_authenticate(&a, f->db, old, 366 * DAY, 365 * DAY),
                     OER_ETIMEOUT);
    assert_int_equal(account_authenticate(&a, f->db, old, 366 * DAY, 365 * DAY),
                     OER_ENOTFOUND);
    assert_int_equal(account_expire(&removed, f->db, 366 * DAY, 365 * DAY), 0);
    assert_int_equal(removed, 0);

    /* day 566: busy idled 366 days and goes, new stays */
    assert_int_equal(account_expire(&removed, f->db, 566 * DAY, 365 * DAY), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(account_foreach(f->db, on_account, names), 0);
    assert_string_equal(names, "new,");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_is_sha256),
        cmocka_unit_test(test_roles),
        cmocka_unit_test_setup_teardown(test_token_stored_hashed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
