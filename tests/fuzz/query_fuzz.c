/*
 * libFuzzer driver for the translation of a user's words into FTS5
 * (index_query_fts): whatever the input, the translation either refuses it
 * (too long, not UTF-8) or gives a query that FTS5 runs without an error,
 * on an in-memory table built as the index builds its own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "node/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sqlite3 *db;
static sqlite3_stmt *st;

static void open_db(void)
{
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE VIRTUAL TABLE fts USING fts5(title, description,"
                     " keywords, tokenize = 'unicode61 remove_diacritics 2');"
                     "INSERT INTO fts VALUES ('L''école', 'a b c', 'x');",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT count(*) FROM fts WHERE fts MATCH ?",
                           -1, &st, NULL) != SQLITE_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *out = NULL;
    int rc;

    if (text == NULL)
        return 0;
    if (db == NULL)
        open_db();
    memcpy(text, data, size);
    text[size] = '\0';
    if (index_query_fts(&out, text) == 0 && out[0] != '\0') {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, out, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            abort();
    }
    free(out);
    free(text);
    return 0;
}
