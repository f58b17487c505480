/*
 * bulk: tables and JSON files through a mapping into the import sink.
 */
#include "node/bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/error.h"
#include "node/jsonl.h"
#include "node/table.h"

/* State of one file being read. */
struct bulk {
    struct import_run *run;
    const struct mapping *map;
    const char *path;
    char **header; /* a table's column names */
    size_t columns;
    int array; /* a JSON file holds one array */
    int err;   /* a fatal error of the sink */
};

static void where_line(char *buf, size_t cap, const struct bulk *b, size_t line)
{
    snprintf(buf, cap, "%s line %zu", b->path, line);
}

/* Map one record and hand it to the sink. */
static int put(struct bulk *b, const json_t *record, const char *where)
{
    char reason[200], *source_id = NULL;
    json_t *doc = NULL;
    int err =
        mapping_apply(&doc, &source_id, b->map, record, reason, sizeof(reason));

    if (err == OER_EINVAL)
        import_skip(b->run, where, "no source identifier", reason);
    else if (err == 0)
        err = import_put(b->run, doc, NULL);
    json_decref(doc);
    free(source_id);
    b->err = err == OER_EINVAL ? 0 : err;
    return b->err != 0 ? 1 : 0;
}

/* ---- tables ---- */

static void header_free(struct bulk *b)
{
    for (size_t i = 0; i < b->columns; i++)
        free(b->header[i]);
    free(b->header);
    b->header = NULL;
    b->columns = 0;
}

static int take_header(struct bulk *b, const struct table_row *row)
{
    struct mapping_error merr = {0};
    char detail[600];

    b->header = calloc(row->count, sizeof(char *));
    if (b->header == NULL)
        return b->err = OER_ENOMEM;
    for (size_t i = 0; i < row->count; i++, b->columns++) {
        b->header[i] = strdup(row->fields[i]);
        if (b->header[i] == NULL)
            return b->err = OER_ENOMEM;
    }
    if (mapping_check_columns(b->map, b->header, b->columns, &merr) == 0)
        return 0;
    snprintf(detail, sizeof(detail), "line %u: %s: %s", merr.line, merr.key,
             merr.detail);
    import_bad_file(b->run, b->path,
                    "the mapping names a column the "
                    "table lacks",
                    detail);
    return 2;
}

static int on_row(const struct table_row *row, void *arg)
{
    struct bulk *b = arg;
    char where[600], detail[80];
    json_t *record;
    int stop;

    if (b->header == NULL)
        return take_header(b, row) != 0 ? 1 : 0;
    where_line(where, sizeof(where), b, row->line);
    if (row->count != b->columns) {
        snprintf(detail, sizeof(detail), "%zu fields, the header has %zu",
                 row->count, b->columns);
        import_skip(b->run, where, "wrong number of fields", detail);
        return 0;
    }
    record = json_object();
    for (size_t i = 0; record != NULL && i < row->count; i++)
        if (json_object_set_new(record, b->header[i],
                                json_string(row->fields[i])) < 0) {
            json_decref(record);
            record = NULL;
        }
    if (record == NULL) {
        b->err = OER_ENOMEM;
        return 1;
    }
    stop = put(b, record, where);
    json_decref(record);
    return stop;
}

static void on_row_error(size_t line, const char *reason, void *arg)
{
    struct bulk *b = arg;
    char where[600];

    where_line(where, sizeof(where), b, line);
    import_skip(b->run, where, "malformed row", reason);
}

static int read_table(struct import_run *run, const char *path, void *arg)
{
    struct bulk b = {.run = run, .map = arg, .path = path};
    char sep = mapping_separator(b.map);
    int err = import_file(run, path);

    if (err == 0)
        err = table_read_file(path, sep != 0 ? sep : table_separator_for(path),
                              on_row, on_row_error, &b);
    header_free(&b);
    if (err == OER_EIO || err == OER_EINVAL) {
        import_bad_file(run, path, "cannot read the file", NULL);
        return 0;
    }
    return err == 1 ? b.err : err;
}

/* ---- JSON ---- */

static int on_record(const struct jsonl_record *rec, void *arg)
{
    struct bulk *b = arg;
    char where[600];

    if (rec->line > 0)
        where_line(where, sizeof(where), b, rec->line);
    else
        snprintf(where, sizeof(where), "%s record %zu", b->path, rec->index);
    return put(b, rec->value, where);
}

static void on_json_error(size_t line, size_t column, const char *reason,
                          void *arg)
{
    struct bulk *b = arg;
    char where[600], detail[300];

    if (line == 0) {
        snprintf(where, sizeof(where), "%s record %zu", b->path, column);
        import_skip(b->run, where, "not a JSON object", NULL);
        return;
    }
    where_line(where, sizeof(where), b, line);
    snprintf(detail, sizeof(detail), "line %zu, column %zu: %s", line, column,
             reason);
    import_skip(b->run, where, "JSON syntax error", detail);
}

static void on_array_error(size_t line, size_t column, const char *reason,
                           void *arg)
{
    struct bulk *b = arg;
    char detail[300];

    if (line == 0) {
        on_json_error(line, column, reason, arg);
        return;
    }
    snprintf(detail, sizeof(detail), "line %zu, column %zu: %s", line, column,
             reason);
    import_bad_file(b->run, b->path, "JSON syntax error", detail);
}

static void on_any_error(size_t line, size_t column, const char *reason,
                         void *arg)
{
    struct bulk *b = arg;

    /* in JSON lines, jansson's own line is always 1 */
    if (b->array)
        on_array_error(line, column, reason, arg);
    else
        on_json_error(line, column, reason, arg);
}

static int is_array(const char *path)
{
    FILE *f = fopen(path, "rb");
    int c = EOF;

    if (f == NULL)
        return 0;
    do
        c = fgetc(f);
    while (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xef ||
           c == 0xbb || c == 0xbf);
    fclose(f);
    return c == '[';
}

static int read_json(struct import_run *run, const char *path, void *arg)
{
    struct bulk b = {.run = run, .map = arg, .path = path};
    int err = import_file(run, path);

    b.array = is_array(path);
    if (err == 0)
        err = jsonl_read_file(path, on_record, on_any_error, &b);
    if (err == OER_EINVAL && b.array)
        return 0;
    if (err == OER_EIO || err == OER_EINVAL) {
        import_bad_file(run, path, "cannot read the file", NULL);
        return 0;
    }
    return err == 1 ? b.err : err;
}

/* ---- runs ---- */

static int run(struct import_summary *out, const struct import_options *opt,
               const char *map_path, enum mapping_kind kind, char *const *paths,
               size_t count, struct mapping_error *merr)
{
    static const char *const tables[] = {".csv", ".tsv", NULL};
    static const char *const jsons[] = {".json", ".jsonl", ".ndjson", NULL};
    struct mapping *map = NULL;
    struct import_run *r = NULL;
    int err;

    memset(out, 0, sizeof(*out));
    err = mapping_load(&map, map_path, kind, merr);
    if (err != 0)
        return err;
    err = import_begin(&r, opt);
    if (err == 0)
        err =
            import_walk(r, paths, count, kind == MAPPING_TABLE ? tables : jsons,
                        kind == MAPPING_TABLE ? read_table : read_json, map);
    if (r != NULL) {
        int fin = import_finish(out, r);

        err = err != 0 ? err : fin;
    }
    mapping_free(map);
    return err;
}

int bulk_import_table(struct import_summary *out,
                      const struct import_options *opt, const char *map_path,
                      char *const *paths, size_t count,
                      struct mapping_error *merr)
{
    return run(out, opt, map_path, MAPPING_TABLE, paths, count, merr);
}

int bulk_import_json(struct import_summary *out,
                     const struct import_options *opt, const char *map_path,
                     char *const *paths, size_t count,
                     struct mapping_error *merr)
{
    return run(out, opt, map_path, MAPPING_JSON, paths, count, merr);
}
