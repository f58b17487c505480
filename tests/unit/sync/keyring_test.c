/*
 * Tests of sync/keyring: keys from the configuration and from
 * origin-keys/, an introduced key written with who and when, never
 * replacing a known one, and the list that oernode status shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "federation/identity.h"
#include "node/error.h"
#include "sync/keyring.h"
#include "testutil.h"

static char *dir;
static char conf_key[128], file_key[128], new_key[128];

static struct config *load(void)
{
    char path[700], text[600];
    struct config *c = NULL;

    snprintf(path, sizeof(path), "%s/config", dir);
    snprintf(text, sizeof(text),
             "[node]\n\tid = be-vl\n[origin \"fr\"]\n\tkey = %s\n", conf_key);
    testutil_write(path, text, strlen(text));
    assert_int_equal(config_load(&c, path, NULL), 0);
    return c;
}

/* A fresh key's public line, from ssh-keygen. */
static void new_pub(char *out, const char *name)
{
    char *text = NULL;

    assert_int_equal(testutil_run(NULL, 0,
                                  "ssh-keygen -q -t ed25519 -N '' -f %s/%s "
                                  "</dev/null",
                                  dir, name),
                     0);
    assert_int_equal(testutil_run(&text, 0, "cut -d' ' -f1,2 %s/%s.pub", dir,
                                  name),
                     0);
    text[strcspn(text, "\n")] = '\0';
    snprintf(out, 128, "%s", text);
    free(text);
}

struct seen {
    char text[2000];
};

static int on_key(const struct keyring_entry *e, void *arg)
{
    struct seen *s = arg;
    size_t n = strlen(s->text);

    snprintf(s->text + n, sizeof(s->text) - n, "%s %s %s %s|", e->origin,
             keyring_source_name(e->source), e->introduced_by,
             e->introduced_at[0] ? "when" : "-");
    return 0;
}

static void test_find_introduce_list(void **state)
{
    struct config *c = load();
    struct identity_pub pub, got, want;
    struct seen seen = {{0}};
    char path[700];

    assert_int_equal(keyring_find(&got, c, "fr"), 0);
    assert_int_equal(identity_pub_parse(&want, conf_key), 0);
    assert_memory_equal(got.key, want.key, 32);
    assert_int_equal(keyring_find(&got, c, "de"), OER_ENOTFOUND);

    /* an operator's file, as sync.sh writes it */
    assert_int_equal(testutil_run(NULL, 0, "mkdir -p %s/origin-keys && "
                                  "echo '%s' >%s/origin-keys/nl.pub",
                                  dir, file_key, dir),
                     0);
    assert_int_equal(keyring_find(&got, c, "nl"), 0);

    /* introduced: written once, never over a known key */
    assert_int_equal(identity_pub_parse(&pub, new_key), 0);
    assert_int_equal(keyring_introduce(c, "de", &pub, "nl"), 0);
    assert_int_equal(keyring_find(&got, c, "de"), 0);
    assert_memory_equal(got.key, pub.key, 32);
    assert_int_equal(keyring_introduce(c, "de", &pub, "nl"), OER_EEXISTS);
    assert_int_equal(keyring_introduce(c, "nl", &pub, "xx"), OER_EEXISTS);
    assert_int_equal(keyring_introduce(c, "fr", &pub, "xx"), OER_EEXISTS);
    assert_int_equal(keyring_introduce(c, "../x", &pub, "xx"), OER_EINVAL);
    snprintf(path, sizeof(path), "%s/origin-keys/nl.pub", dir);
    assert_int_equal(keyring_find(&got, c, "nl"), 0);
    assert_int_equal(identity_pub_parse(&want, file_key), 0);
    assert_memory_equal(got.key, want.key, 32);

    /* stock ssh-keygen reads the introduced file */
    assert_int_equal(testutil_run(NULL, 1, "ssh-keygen -l -f "
                                  "%s/origin-keys/de.pub",
                                  dir),
                     0);

    /* a peer's own pinned key, recorded by the session, is listed so */
    assert_int_equal(keyring_introduce(c, "se", &pub, "se"), 0);

    assert_int_equal(keyring_list(c, on_key, &seen), 0);
    assert_string_equal(seen.text, "fr config  -|de introduced nl when|"
                                   "nl file  -|se peer se when|");
    config_free(c);
}

static void test_bad_file(void **state)
{
    struct config *c = load();
    struct identity_pub got;

    assert_int_equal(testutil_run(NULL, 0, "mkdir -p %s/origin-keys && "
                                  "echo nonsense >%s/origin-keys/bad.pub",
                                  dir, dir),
                     0);
    assert_int_equal(keyring_find(&got, c, "bad"), OER_EINVAL);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_introduce_list),
        cmocka_unit_test(test_bad_file),
    };
    int rc;

    dir = testutil_tmpdir("keyring");
    new_pub(conf_key, "conf");
    new_pub(file_key, "file");
    new_pub(new_key, "new");
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    testutil_run(NULL, 1, "rm -rf '%s'", dir);
    free(dir);
    return rc;
}
