/*
 * Tests of node/table and node/jsonl, the readers under import table and
 * import json: rows and their lines, a malformed row skipped whole with
 * its line, JSON lines with a syntax error at line 500 and every other
 * line read, JSON arrays, and the shared open-textbook TSV.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/error.h"
#include "node/jsonl.h"
#include "node/table.h"
#include "testutil.h"

/* What a reader handed over: "line:field|field" per row, errors apart. */
struct seen {
    char rows[4096];
    char errors[1024];
    size_t count, lines_sum;
};

static int on_row(const struct table_row *row, void *arg)
{
    struct seen *s = arg;
    size_t n = strlen(s->rows);

    n += (size_t)snprintf(s->rows + n, sizeof(s->rows) - n, "%zu:", row->line);
    for (size_t i = 0; i < row->count && n < sizeof(s->rows); i++)
        n += (size_t)snprintf(s->rows + n, sizeof(s->rows) - n, "%s%s",
                              i > 0 ? "|" : "", row->fields[i]);
    if (n < sizeof(s->rows))
        snprintf(s->rows + n, sizeof(s->rows) - n, "\n");
    s->count++;
    return 0;
}

static void on_error(size_t line, const char *reason, void *arg)
{
    struct seen *s = arg;
    size_t n = strlen(s->errors);

    snprintf(s->errors + n, sizeof(s->errors) - n, "%zu: %s\n", line, reason);
}

static void read_csv(struct seen *s, const char *text, char sep)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(
        table_read_memory(text, strlen(text), sep, on_row, on_error, s), 0);
}

static void test_rows_and_lines(void **state)
{
    struct seen s;

    read_csv(&s,
             "\xef\xbb\xbfkey,title\r\n"
             "a,\"Hello, \"\"world\"\"\"\r\n"
             "\n"
             "b,\"two\nlines\"\n"
             "c,last",
             ',');
    assert_string_equal(s.rows, "1:key|title\n"
                                "2:a|Hello, \"world\"\n"
                                "4:b|two\nlines\n"
                                "6:c|last\n");
    assert_string_equal(s.errors, "");

    read_csv(&s, "k\tt\tc\nx\ty z\t\n", '\t');
    assert_string_equal(s.rows, "1:k|t|c\n2:x|y z|\n");
}

static void test_bad_quote(void **state)
{
    struct seen s;

    /* an unbalanced quote: only its row is lost, with its line */
    read_csv(&s,
             "key,title\n"
             "a,fine\n"
             "b,\"unbalanced\n"
             "c,also fine\n"
             "d,fine too\n",
             ',');
    assert_string_equal(s.rows,
                        "1:key|title\n2:a|fine\n4:c|also fine\n5:d|fine too\n");
    assert_string_equal(s.errors, "3: malformed quoting: an unbalanced quote, "
                                  "or a quote inside an unquoted field\n");

    /* a quote inside an unquoted field; and a bad last row */
    read_csv(&s, "k,t\nx,a\"b\ny,ok\nz,\"open", ',');
    assert_string_equal(s.rows, "1:k|t\n3:y|ok\n");
    assert_true(strncmp(s.errors, "2: malformed", 12) == 0);
    assert_non_null(strstr(s.errors, "\n4: malformed"));
}

static int stop_at_two(const struct table_row *row, void *arg)
{
    return row->line == 2 ? 7 : 0;
}

static void test_stop(void **state)
{
    const char text[] = "a\nb\nc\n";

    assert_int_equal(
        table_read_memory(text, strlen(text), ',', stop_at_two, NULL, NULL), 7);
    assert_int_equal(table_separator_for("x/books.TSV"), '\t');
    assert_int_equal(table_separator_for("x/books.csv"), ',');
}

static int on_record(const struct jsonl_record *rec, void *arg)
{
    struct seen *s = arg;

    s->count++;
    s->lines_sum += rec->line;
    assert_true(json_is_object(rec->value));
    return 0;
}

static void on_json_error(size_t line, size_t column, const char *reason,
                          void *arg)
{
    struct seen *s = arg;
    size_t n = strlen(s->errors);

    snprintf(s->errors + n, sizeof(s->errors) - n, "%zu:%zu: %s\n", line,
             column, reason);
}

static void test_json_lines_error_at_500(void **state)
{
    size_t cap = 1000 * 64, len = 0;
    char *text = malloc(cap);
    struct seen s = {0};

    assert_non_null(text);
    for (int i = 1; i <= 1000; i++) {
        if (i == 500)
            len += (size_t)snprintf(text + len, cap - len,
                                    "{\"id\": %d, \"t\": tru}\n", i);
        else
            len += (size_t)snprintf(text + len, cap - len,
                                    "{\"id\": %d, \"t\": \"x\"}\n", i);
    }
    assert_int_equal(jsonl_read_memory(text, len, on_record, on_json_error, &s),
                     0);
    assert_int_equal(s.count, 999);
    assert_int_equal(s.lines_sum, 1000 * 1001 / 2 - 500);
    assert_string_equal(s.errors, "500:20: invalid token near 'tru'\n");
    free(text);
}

static void test_json_array(void **state)
{
    const char good[] = " [{\"a\": 1}, 2, {\"b\": {\"$oid\": \"x\"}}]";
    const char bad[] = "[{\"a\": 1},\n {\"b\": }]";
    struct seen s = {0};

    assert_int_equal(
        jsonl_read_memory(good, strlen(good), on_record, on_json_error, &s), 0);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.errors, "0:2: an element that is not an object\n");

    memset(&s, 0, sizeof(s));
    assert_int_equal(
        jsonl_read_memory(bad, strlen(bad), on_record, on_json_error, &s),
        OER_EINVAL);
    assert_int_equal(s.count, 0);
    assert_true(strncmp(s.errors, "2:8: ", 5) == 0);
}

static void test_shared_tsv(void **state)
{
    char *path = testutil_shared_or_skip(
        "bulk/open-textbooks/open_textbook_library.tsv");
    struct seen s = {0};

    assert_int_equal(table_read_file(path, '\t', on_row, on_error, &s), 0);
    assert_string_equal(s.errors, "");
    free(path);
}

static int find_ivan(const struct table_row *row, void *arg)
{
    if (row->line == 570) {
        assert_int_equal(row->count, 6);
        assert_string_equal(row->fields[2], "\"The Death of Ivan Ilich\": An "
                                            "Electronic Study Edition of the "
                                            "Russian Text");
        *(int *)arg = 1;
    }
    return 0;
}

static void test_shared_quoted_title(void **state)
{
    char *path = testutil_shared_or_skip(
        "bulk/open-textbooks/open_textbook_library.tsv");
    int found = 0;

    assert_int_equal(table_read_file(path, '\t', find_ivan, NULL, &found), 0);
    assert_true(found);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_lines),
        cmocka_unit_test(test_bad_quote),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_json_lines_error_at_500),
        cmocka_unit_test(test_json_array),
        cmocka_unit_test(test_shared_tsv),
        cmocka_unit_test(test_shared_quoted_title),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
