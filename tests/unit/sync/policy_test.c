/*
 * Tests of sync/policy: the node's offer, accept and relay with each
 * peer's overrides ("none" included, a mirror with nothing of its own),
 * and the level and subject filters through the source tree's
 * vocabularies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "node/error.h"
#include "sync/policy.h"
#include "testutil.h"

#define FP "SHA256:4bH3TzU2Dz0bJ4kI6Wq0eDqy2v1yRjTQnHkHzZ8k0wA"

static char *dir;

static struct config *load(const char *text)
{
    char path[700];
    struct config *c = NULL;
    struct config_error err;

    snprintf(path, sizeof(path), "%s/config", dir);
    testutil_write(path, text, strlen(text));
    if (config_load(&c, path, &err) != 0)
        fail_msg("%s: %s", err.key, err.detail);
    return c;
}

static struct policy *make(const struct config *c)
{
    struct policy *p = NULL;
    char vocab[700];

    snprintf(vocab, sizeof(vocab), "%s/vocab", testutil_srcdir());
    assert_int_equal(policy_new(&p, c, vocab), 0);
    return p;
}

static void test_defaults_offer_everything(void **state)
{
    struct config *c = load("[node]\n\tid = be-vl\n");
    struct policy *p = make(c);

    assert_true(policy_offers(p, "nl", "be-vl"));
    assert_true(policy_offers(p, "nl", "de"));
    assert_true(policy_offers(p, "nl", "nl")); /* its own, given back */
    assert_true(policy_accepts(p, "nl", "de"));
    assert_true(policy_accepts(p, "nl", "be-vl")); /* ours: a restore */
    assert_false(policy_introduces(p, "nl"));
    policy_free(p);
    config_free(c);
}

static void test_peer_overrides(void **state)
{
    struct config *c = load(
        "[node]\n\tid = be-vl\n[policy]\n\trelay = no\n\taccept = de\n"
        "[peer \"nl\"]\n\taddress = nl.example.org:7440\n\tfingerprint = " FP
        "\n\toffer = none\n\taccept = *\n\tintroduce-keys = yes\n"
        "[peer \"fr\"]\n\taddress = fr.example.org:7440\n\tfingerprint = " FP
        "\n\trelay = yes\n\toffer = de\n");
    struct policy *p = make(c);

    /* offer = none: not even this node's own catalogue */
    assert_false(policy_offers(p, "nl", "be-vl"));
    assert_false(policy_offers(p, "nl", "de"));
    /* relay on for fr alone, and only de listed */
    assert_true(policy_offers(p, "fr", "de"));
    assert_false(policy_offers(p, "fr", "be-vl"));
    /* a peer without overrides: the node's policy, relay off */
    assert_true(policy_offers(p, "xx", "be-vl"));
    assert_false(policy_offers(p, "xx", "de"));
    /* a peer's own catalogue goes back to it with relay off, but not
     * past offer = none */
    assert_true(policy_offers(p, "xx", "xx"));
    assert_false(policy_offers(p, "nl", "nl"));

    assert_true(policy_accepts(p, "nl", "fr"));
    assert_false(policy_accepts(p, "fr", "nl"));
    assert_true(policy_accepts(p, "fr", "de"));
    assert_true(policy_introduces(p, "nl"));
    assert_false(policy_introduces(p, "fr"));
    policy_free(p);
    config_free(c);
}

static void test_mirror_relays(void **state)
{
    struct config *c =
        load("[node]\n\tid = mirror\n[policy]\n\toffer = *\n\trelay = yes\n");
    struct policy *p = make(c);

    assert_true(policy_offers(p, "nl", "be-vl"));
    assert_true(policy_accepts(p, "nl", "be-vl"));
    policy_free(p);
    config_free(c);
}

static json_t *record(const char *level, const char *subject)
{
    json_t *doc = json_pack("{s:s, s:[], s:[]}", "id", "de/x1", "levels",
                            "subjects");

    if (level != NULL)
        json_array_append_new(
            json_object_get(doc, "levels"),
            json_pack("{s:s, s:s}", "source", "http://purl.org/oernode/vocab/isced-2011",
                      "value", level));
    if (subject != NULL)
        json_array_append_new(
            json_object_get(doc, "subjects"),
            json_pack("{s:s, s:s}", "source", "", "value", subject));
    return doc;
}

static void test_filters(void **state)
{
    struct config *c = load(
        "[node]\n\tid = be-vl\n[policy]\n\tlevel = 2\n\tlevel = 3\n"
        "[peer \"nl\"]\n\taddress = nl.example.org:7440\n\tfingerprint = " FP
        "\n\tsubject = mathematics\n\tlevel = 1\n");
    struct policy *p = make(c);
    json_t *lower = record("24", NULL), *primary = record("1", "mathematics");
    json_t *none = record(NULL, NULL), *plain = record("3", NULL);

    assert_true(policy_record_passes(p, "xx", "de", lower));
    assert_true(policy_record_passes(p, "xx", "de", plain));
    assert_false(policy_record_passes(p, "xx", "de", primary));
    assert_false(policy_record_passes(p, "xx", "de", none));
    /* this node's own records always pass */
    assert_true(policy_record_passes(p, "xx", "be-vl", none));
    /* the peer's own filters replace the node's */
    assert_true(policy_record_passes(p, "nl", "de", primary));
    assert_false(policy_record_passes(p, "nl", "de", lower));
    json_decref(lower);
    json_decref(primary);
    json_decref(none);
    json_decref(plain);
    policy_free(p);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_offer_everything),
        cmocka_unit_test(test_peer_overrides),
        cmocka_unit_test(test_mirror_relays),
        cmocka_unit_test(test_filters),
    };
    int rc;

    dir = testutil_tmpdir("policy");
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    testutil_run(NULL, 1, "rm -rf '%s'", dir);
    free(dir);
    return rc;
}
