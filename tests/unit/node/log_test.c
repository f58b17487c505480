/*
 * Tests of node/log: levels, line shape and escaping of hostile values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/error.h"
#include "node/log.h"

static char *capture(enum log_level level, const char *value)
{
    FILE *f = tmpfile();
    char *buf = calloc(1, 8192);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    log_set_stream(f);
    log_event(level, "sync", "pack rejected", "peer", value, "err", "proto",
              NULL);
    log_set_stream(NULL);
    rewind(f);
    n = fread(buf, 1, 8191, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_line_shape(void **state)
{
    char *line = capture(LOG_LEVEL_WARN, "nl-edurep");

    assert_non_null(strstr(line, " level=warn mod=sync "
                                 "msg=\"pack rejected\" peer=nl-edurep "
                                 "err=proto\n"));
    assert_memory_equal(line, "ts=", 3);
    assert_int_equal(strchr(line, '\n') - line + 1, (long)strlen(line));
    free(line);
}

static void test_forged_line_is_escaped(void **state)
{
    char *line = capture(LOG_LEVEL_WARN,
                         "x\nts=0 level=error msg=\"owned\" \\ \xe9 caf\xc3\xa9");

    assert_non_null(strstr(line, "peer=\"x\\x0ats=0 level=error "
                                 "msg=\\\"owned\\\" \\\\ \\xe9 caf\xc3\xa9\""));
    assert_int_equal(strchr(line, '\n') - line + 1, (long)strlen(line));
    free(line);
}

static void test_level_filter(void **state)
{
    enum log_level level;
    char *line;

    assert_int_equal(log_level_parse(&level, "warn"), 0);
    assert_int_equal(level, LOG_LEVEL_WARN);
    assert_int_equal(log_level_parse(&level, "loud"), OER_EINVAL);
    log_set_level(LOG_LEVEL_WARN);
    line = capture(LOG_LEVEL_INFO, "a");
    assert_string_equal(line, "");
    free(line);
    log_set_level(LOG_LEVEL_INFO);
}

static void test_long_line_is_cut_whole(void **state)
{
    char *big = malloc(10000);
    char *line;

    memset(big, 'a', 9999);
    big[9999] = '\0';
    line = capture(LOG_LEVEL_ERROR, big);
    assert_true(strlen(line) <= 4096);
    assert_non_null(strstr(line, " truncated=1\n"));
    free(line);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_shape),
        cmocka_unit_test(test_forged_line_is_escaped),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_long_line_is_cut_whole),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
