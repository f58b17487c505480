/*
 * Tests of node/api_moderation's parsers: the Authorization header and
 * the body of a reject, with the stable error codes the API answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/api_moderation.h"
#include "node/error.h"

static void test_bearer(void **state)
{
    char t[16];

    (void)state;
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Bearer oer_ab"), 0);
    assert_string_equal(t, "oer_ab");
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "bearer   x1  "), 0);
    assert_string_equal(t, "x1");
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Basic dXNlcg=="),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Bearer "),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Bearer a b"),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Bearer a\tb"),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t),
                                           "Bearer "
                                           "0123456789abcdef"),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t), ""), OER_EINVAL);
}

static void reason_refused(const char *body, const char *want)
{
    const char *code = NULL, *msg = NULL;
    char *out = (char *)"x";

    assert_int_equal(
        api_moderation_reason(&out, body, strlen(body), &code, &msg),
        OER_EINVAL);
    assert_null(out);
    assert_string_equal(code, want);
    assert_non_null(msg);
}

static void test_reason(void **state)
{
    const char *code, *msg, *ok = "{\"reason\":\"dubbel\"}";
    char *out = NULL, big[2100];

    (void)state;
    assert_int_equal(api_moderation_reason(&out, ok, strlen(ok), &code, &msg),
                     0);
    assert_string_equal(out, "dubbel");
    free(out);
    reason_refused("{\"reason\":", "malformed_json");
    reason_refused("[\"reason\"]", "malformed_json");
    reason_refused("{\"reason\":\"a\",\"reason\":\"b\"}", "malformed_json");
    reason_refused("{\"reason\":\"a\",\"ban\":1}", "unknown_parameter");
    reason_refused("{\"why\":\"a\"}", "unknown_parameter");
    reason_refused("{}", "bad_parameter");
    reason_refused("{\"reason\":\"\"}", "bad_parameter");
    reason_refused("{\"reason\":7}", "bad_parameter");
    strcpy(big, "{\"reason\":\"");
    memset(big + 11, 'a', 2001);
    strcpy(big + 2012, "\"}");
    reason_refused(big, "bad_parameter");
}

static void test_db_path(void **state)
{
    char *p = api_moderation_db_path("/srv/node/repo.git");

    (void)state;
    assert_string_equal(p, "/srv/node/accounts.sqlite");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_reason),
        cmocka_unit_test(test_db_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
