/*
 * table: CSV and TSV through libcsv, fed one line at a time so that each
 * row knows the line it starts on, and a malformed row can be skipped
 * whole by starting a new parser on the line after its first.
 */
#include "node/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <csv.h>

#include "node/error.h"
#include "node/wholefile.h"

struct reader {
    struct csv_parser p;
    char sep;
    table_row_cb cb;
    table_error_cb on_error;
    void *arg;
    const char *buf;
    size_t len;
    char **fields;
    size_t count, cap;
    size_t line;             /* the next line to feed */
    size_t fed, line_off;    /* the line fed last, and its offset */
    size_t start, start_off; /* where the pending row starts; 0: none */
    int bad;                 /* the pending row holds a NUL byte */
    int stop;                /* a callback's non-zero return */
    int rc;                  /* OER_ENOMEM */
};

static int is_space(unsigned char c)
{
    return c == ' ';
}

static void clear_row(struct reader *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->fields[i]);
    r->count = 0;
    r->bad = 0;
    r->start = 0;
}

static void on_field(void *s, size_t len, void *arg)
{
    struct reader *r = arg;
    char **grown;

    if (r->stop != 0 || r->rc != 0)
        return;
    /* a row that starts after a lone CR, within the line */
    if (r->start == 0) {
        r->start = r->fed;
        r->start_off = r->line_off;
    }
    if (r->count == r->cap) {
        grown = realloc(r->fields, (r->cap * 2 + 8) * sizeof(*grown));
        if (grown == NULL) {
            r->rc = OER_ENOMEM;
            return;
        }
        r->fields = grown;
        r->cap = r->cap * 2 + 8;
    }
    r->fields[r->count] = strndup(s != NULL ? s : "", len);
    if (r->fields[r->count] == NULL) {
        r->rc = OER_ENOMEM;
        return;
    }
    if (s != NULL && memchr(s, '\0', len) != NULL)
        r->bad = 1;
    r->count++;
}

static void on_row(int c, void *arg)
{
    struct reader *r = arg;
    struct table_row row = {r->fields, r->count, r->start};

    if (r->stop == 0 && r->rc == 0 && r->bad && r->on_error != NULL)
        r->on_error(r->start, "a NUL byte in a field", r->arg);
    else if (r->stop == 0 && r->rc == 0 && !r->bad)
        r->stop = r->cb(&row, r->arg);
    clear_row(r);
}

static int reset(struct reader *r)
{
    csv_free(&r->p);
    if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return OER_ENOMEM;
    csv_set_delim(&r->p, (unsigned char)r->sep);
    csv_set_space_func(&r->p, is_space);
    return 0;
}

/* Skip the pending row: report it, and go on from the line after its
 * first with a new parser.  Returns the offset to go on from. */
static size_t skip_row(struct reader *r, const char *why)
{
    const char *nl;
    size_t line;

    /* a row that began after a lone CR and has no field yet */
    if (r->start == 0) {
        r->start = r->fed;
        r->start_off = r->line_off;
    }
    nl = memchr(r->buf + r->start_off, '\n', r->len - r->start_off);
    line = r->start;

    if (r->on_error != NULL)
        r->on_error(line, why, r->arg);
    clear_row(r);
    if (reset(r) != 0)
        r->rc = OER_ENOMEM;
    r->line = line + 1;
    return nl != NULL ? (size_t)(nl - r->buf) + 1 : r->len;
}

static int blank(const char *s, const char *end)
{
    while (s < end && strchr(" \t\r\n", *s) != NULL && *s != '\0')
        s++;
    return s == end;
}

static const char bad_quote[] = "malformed quoting: an unbalanced quote, or a "
                                "quote inside an unquoted field";

/* Feed the lines from pos on; returns where a parse error left off, or
 * len when all was fed. */
static size_t feed(struct reader *r, size_t pos)
{
    while (pos < r->len && r->stop == 0 && r->rc == 0) {
        const char *end = memchr(r->buf + pos, '\n', r->len - pos);
        size_t next = end != NULL ? (size_t)(end - r->buf) + 1 : r->len;

        if (r->start == 0 && blank(r->buf + pos, r->buf + next)) {
            pos = next;
            r->line++;
            continue;
        }
        if (r->start == 0) {
            r->start = r->line;
            r->start_off = pos;
        }
        r->fed = r->line;
        r->line_off = pos;
        if (csv_parse(&r->p, r->buf + pos, next - pos, on_field, on_row, r) !=
            next - pos) {
            if (csv_error(&r->p) == CSV_ENOMEM)
                r->rc = OER_ENOMEM;
            return pos;
        }
        if (r->start != 0 && next - r->start_off > TABLE_ROW_MAX)
            return pos;
        pos = next;
        r->line++;
    }
    return r->len;
}

static int run(struct reader *r, size_t pos)
{
    while (r->stop == 0 && r->rc == 0) {
        size_t left = feed(r, pos);

        if (r->stop != 0 || r->rc != 0)
            break;
        if (left < r->len) {
            pos = skip_row(r,
                           r->start != 0 && left - r->start_off >= TABLE_ROW_MAX
                               ? "a row longer than 1 MiB (an "
                                 "unbalanced quote?)"
                               : bad_quote);
            continue;
        }
        if (csv_fini(&r->p, on_field, on_row, r) == 0)
            break;
        pos = skip_row(r, bad_quote);
    }
    return r->rc != 0 ? r->rc : r->stop;
}

int table_read_memory(const char *buf, size_t len, char sep, table_row_cb cb,
                      table_error_cb on_error, void *arg)
{
    struct reader r = {.sep = sep,
                       .cb = cb,
                       .on_error = on_error,
                       .arg = arg,
                       .buf = buf,
                       .len = len,
                       .line = 1};
    size_t pos = 0;
    int rc;

    if (csv_init(&r.p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return OER_ENOMEM;
    csv_set_delim(&r.p, (unsigned char)sep);
    csv_set_space_func(&r.p, is_space);
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    rc = run(&r, pos);
    clear_row(&r);
    free(r.fields);
    csv_free(&r.p);
    return rc;
}

int table_read_file(const char *path, char sep, table_row_cb cb,
                    table_error_cb on_error, void *arg)
{
    char *buf = NULL;
    size_t len;
    int rc = wholefile_read(&buf, &len, path, TABLE_INPUT_MAX);

    if (rc == 0)
        rc = table_read_memory(buf, len, sep, cb, on_error, arg);
    free(buf);
    return rc;
}

char table_separator_for(const char *path)
{
    size_t n = strlen(path);

    if ((n > 4 && strcasecmp(path + n - 4, ".tsv") == 0) ||
        (n > 4 && strcasecmp(path + n - 4, ".tab") == 0))
        return '\t';
    return ',';
}
