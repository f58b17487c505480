/*
 * paradata: ratings and download counts in a small SQLite file beside
 * the search index.
 */
#include "node/paradata.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "node/error.h"
#include "node/log.h"
#include "node/store.h"

#define BUSY_MS 10000

struct paradata {
    sqlite3 *db;
    char *path;
};

/* The tables, in schema %s ("main" or "para"). */
static const char schema_fmt[] =
    "CREATE TABLE IF NOT EXISTS %s.rating(id TEXT NOT NULL,"
    " rater TEXT NOT NULL, rating INTEGER NOT NULL,"
    " PRIMARY KEY(id, rater)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS %s.download(id TEXT PRIMARY KEY,"
    " n INTEGER NOT NULL) WITHOUT ROWID;";

char *paradata_path(const char *repo_or_index_path)
{
    return store_sibling_path(repo_or_index_path, "paradata.sqlite");
}

static int create(sqlite3 *db, const char *schema)
{
    char *sql = sqlite3_mprintf(schema_fmt, schema, schema);
    int rc;

    if (sql == NULL)
        return OER_ENOMEM;
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_free(sql);
    return rc == SQLITE_OK ? 0 : OER_EIO;
}

static int fail(struct paradata *pd, const char *what)
{
    log_warn("paradata", what, "path", pd->path, "err",
             sqlite3_errmsg(pd->db), NULL);
    return OER_EIO;
}

int paradata_open(struct paradata **out, const char *path)
{
    struct paradata *pd = calloc(1, sizeof(*pd));
    int err = 0;

    *out = NULL;
    if (pd == NULL || (pd->path = strdup(path)) == NULL) {
        free(pd);
        return OER_ENOMEM;
    }
    if (sqlite3_open_v2(path, &pd->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK)
        err = fail(pd, "cannot open the paradata");
    if (err == 0) {
        sqlite3_busy_timeout(pd->db, BUSY_MS);
        sqlite3_exec(pd->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (create(pd->db, "main") != 0)
            err = fail(pd, "cannot create the paradata tables");
    }
    if (err != 0) {
        paradata_free(pd);
        return err;
    }
    *out = pd;
    return 0;
}

void paradata_free(struct paradata *pd)
{
    if (pd == NULL)
        return;
    sqlite3_close(pd->db);
    free(pd->path);
    free(pd);
}

/* Run sql with text parameters a and b and integer n; no rows. */
static int write_row(struct paradata *pd, const char *sql, const char *a,
                     const char *b, int n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(pd->db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        if (b != NULL)
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        if (b != NULL)
            sqlite3_bind_int(st, 3, n);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : fail(pd, "cannot write the paradata");
}

int paradata_rate(struct paradata *pd, const char *id, const char *rater,
                  int rating)
{
    if (rating < 1 || rating > 5 || rater == NULL || rater[0] == '\0' ||
        strlen(rater) > PARADATA_RATER_MAX)
        return OER_EINVAL;
    return write_row(pd, "INSERT OR REPLACE INTO rating(id, rater, rating)"
                     " VALUES (?, ?, ?)", id, rater, rating);
}

int paradata_download(struct paradata *pd, const char *id)
{
    return write_row(pd, "INSERT INTO download(id, n) VALUES (?, 1)"
                     " ON CONFLICT(id) DO UPDATE SET n = n + 1", id, NULL, 0);
}

int paradata_get(struct paradata *pd, const char *id, double *average,
                 long long *ratings, long long *downloads)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        pd->db,
        "SELECT coalesce((SELECT avg(rating) FROM rating WHERE id = ?1), 0),"
        " (SELECT count(*) FROM rating WHERE id = ?1),"
        " coalesce((SELECT n FROM download WHERE id = ?1), 0)",
        -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW && average != NULL)
        *average = sqlite3_column_double(st, 0);
    if (rc == SQLITE_ROW && ratings != NULL)
        *ratings = sqlite3_column_int64(st, 1);
    if (rc == SQLITE_ROW && downloads != NULL)
        *downloads = sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : fail(pd, "cannot read the paradata");
}

int paradata_attach(struct sqlite3 *db, const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS para", -1, &st,
                                NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return OER_EIO;
    return create(db, "para");
}
