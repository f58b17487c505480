/*
 * libFuzzer driver for the CSV/TSV reader: the input is a table from a
 * file.  Rows come in order of their lines (a lone CR ends a row too,
 * so two may share one), every field is a string, and
 * a row never starts past the last line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
    size_t last, lines;
};

static int on_row(const struct table_row *row, void *arg)
{
    struct check *c = arg;

    if (row->line < c->last || row->line > c->lines)
        abort();
    c->last = row->line;
    for (size_t i = 0; i < row->count; i++)
        if (row->fields[i] == NULL)
            abort();
    return 0;
}

static void on_error(size_t line, const char *reason, void *arg)
{
    struct check *c = arg;

    if (line == 0 || line > c->lines || reason == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct check c = {0, 1};

    for (size_t i = 0; i < size; i++)
        c.lines += data[i] == '\n';
    table_read_memory((const char *)data, size, ',', on_row, on_error, &c);
    c.last = 0;
    table_read_memory((const char *)data, size, '\t', on_row, on_error, &c);
    return 0;
}
