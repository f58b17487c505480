/*
 * table: the reader of CSV and TSV files (RFC 4180 quoting, with any
 * one-character separator), through libcsv in strict mode.  Each row is
 * handed over with the line it starts on; a malformed row (an unbalanced
 * quote, a quote inside an unquoted field) is reported with that line
 * and skipped whole, and reading goes on at the next line.  This module
 * writes nothing anywhere.
 */
#ifndef OERNODE_TABLE_H
#define OERNODE_TABLE_H

#include <stddef.h>

/* Largest input read, and largest row, in bytes. */
#define TABLE_INPUT_MAX (1024u * 1024 * 1024)
#define TABLE_ROW_MAX (1024u * 1024)

/* One row: its fields, NUL-terminated, borrowed for the callback. */
struct table_row {
    char **fields;
    size_t count;
    size_t line; /* the line it starts on, from 1 */
};

/* Called for each row, the header too, in input order.  A non-zero
 * return stops the reading, and table_read_* return that value. */
typedef int (*table_row_cb)(const struct table_row *row, void *arg);

/* Called for each row that is skipped: line, and why (lower case). */
typedef void (*table_error_cb)(size_t line, const char *reason, void *arg);

/*
 * Read the len bytes of buf (a UTF-8 BOM is skipped; lines end with LF
 * or CRLF; blank lines are skipped) as rows of fields separated by sep.
 * Returns 0 when the input was read, even with rows skipped; the value
 * of a callback that stopped it; OER_ENOMEM.
 */
int table_read_memory(const char *buf, size_t len, char sep, table_row_cb cb,
                      table_error_cb on_error, void *arg);

/* The same for the file at path; OER_EIO when it cannot be read,
 * OER_EINVAL when it is not a regular file or larger than
 * TABLE_INPUT_MAX (nothing is reported then). */
int table_read_file(const char *path, char sep, table_row_cb cb,
                    table_error_cb on_error, void *arg);

/* The separator a file's name suggests: '\t' for *.tsv and *.tab, else
 * ','. */
char table_separator_for(const char *path);

#endif
