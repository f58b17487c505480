/*
 * harvest_test: the harvester's date arithmetic (B04: truncation to the
 * provider's granularity, lenient datestamps), Retry-After, marks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/error.h"
#include "node/harvest.h"
#include "testutil.h"

static void date_truncates_down(void **state)
{
    char out[HARVEST_DATE_LEN];

    /* B04 (a): day granularity, never rounded up, no time or fraction */
    assert_int_equal(harvest_date(out, "2024-06-03T08:15:27.482Z", 1), 0);
    assert_string_equal(out, "2024-06-03");
    assert_int_equal(harvest_date(out, "2024-06-03T23:59:59.999Z", 1), 0);
    assert_string_equal(out, "2024-06-03");
    assert_int_equal(harvest_date(out, "2024-06-03T08:15:27.482Z", 0), 0);
    assert_string_equal(out, "2024-06-03T08:15:27Z");
    /* B04 (b): a day alone, an offset, normalised to UTC seconds */
    assert_int_equal(harvest_date(out, "2024-06-03", 0), 0);
    assert_string_equal(out, "2024-06-03T00:00:00Z");
    assert_int_equal(harvest_date(out, "2024-06-03T01:00:00+02:00", 0), 0);
    assert_string_equal(out, "2024-06-02T23:00:00Z");
    assert_int_equal(harvest_date(out, "2024-06-03T01:00Z", 0), 0);
    assert_string_equal(out, "2024-06-03T01:00:00Z");
}

static void date_refuses_non_dates(void **state)
{
    char out[HARVEST_DATE_LEN];
    const char *bad[] = {"",         "2024",          "2024-13-01",
                         "24-06-03", "2024-06-03T",   "2024-06-03T10:00:00",
                         "yesterday", "2024-06-03T10:00:00Zjunk"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(harvest_date(out, bad[i], 0), OER_EINVAL);
    assert_int_equal(harvest_date(out, NULL, 0), OER_EINVAL);
}

static void retry_after(void **state)
{
    time_t now = 1717405200; /* 2024-06-03T09:00:00Z */

    assert_int_equal(harvest_retry_after("120", now, 3600), 120);
    assert_int_equal(harvest_retry_after("7200", now, 3600), 3600);
    assert_int_equal(
        harvest_retry_after("Mon, 03 Jun 2024 09:02:00 GMT", now, 3600), 120);
    assert_int_equal(
        harvest_retry_after("Mon, 03 Jun 2024 08:00:00 GMT", now, 3600), 0);
    assert_int_equal(harvest_retry_after("soon", now, 3600), -1);
    assert_int_equal(harvest_retry_after("-5", now, 3600), -1);
    assert_int_equal(harvest_retry_after(NULL, now, 3600), -1);
}

static void marks_per_source(void **state)
{
    char *dir = testutil_tmpdir("harvest"), *sub = malloc(strlen(dir) + 16);
    struct harvest_options a = {.url = "http://p.example/oai"};
    struct harvest_options b = a;
    char out[HARVEST_DATE_LEN];

    sprintf(sub, "%s/harvest", dir);
    a.state_dir = b.state_dir = sub;
    b.set = "math";
    assert_int_equal(harvest_mark_load(out, &a), OER_ENOTFOUND);
    assert_int_equal(harvest_mark_save(&a, "2024-06-03"), 0);
    assert_int_equal(harvest_mark_load(out, &a), 0);
    assert_string_equal(out, "2024-06-03");
    /* another set is another source */
    assert_int_equal(harvest_mark_load(out, &b), OER_ENOTFOUND);
    assert_int_equal(harvest_mark_save(&a, "2024-06-07T10:00:00Z"), 0);
    assert_int_equal(harvest_mark_load(out, &a), 0);
    assert_string_equal(out, "2024-06-07T10:00:00Z");
    free(sub);
    free(dir);
}

static void only_http(void **state)
{
    struct harvest_options o = {.url = "file:///etc/passwd"};
    struct harvest_stats st;

    assert_int_equal(harvest_run(&st, NULL, &o), OER_EINVAL);
    assert_non_null(strstr(st.error, "not an http or https URL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(date_truncates_down),
        cmocka_unit_test(date_refuses_non_dates),
        cmocka_unit_test(retry_after),
        cmocka_unit_test(marks_per_source),
        cmocka_unit_test(only_http),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
