/*
 * index: the SQLite search index derived from the git store: the schema,
 * catching up with the catalogues, rebuilding, translating a user's words
 * into FTS5 and answering a search with its facet counts.
 */
#include "node/index.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <openssl/evp.h>
#include <sqlite3.h>
#include <utf8proc.h>

#include "node/error.h"
#include "node/log.h"
#include "node/metadata.h"
#include "node/paradata.h"

#define INDEX_SCHEMA 11
#define NO_VOCAB "none" /* the vocabulary hash of an index without */
#define BUSY_MS 10000
/* SQLite's page cache while writing, and after (its default): rowids
 * follow `updated`, so a catalogue's records land all over the tables'
 * b-trees, and a small cache writes a page out for nearly every row */
#define WRITE_CACHE "-1048576" /* KiB */
#define READ_CACHE "-2000"
/* Reads map the file (up to SQLite's own limit, 2 GB as Debian builds
 * it) rather than copy each page into every connection's cache: a
 * search touches thousands of pages, and the workers share one map. */
#define MMAP_SIZE "17179869184"
#define FACET_VALUES 50
/* doc_rowid: seconds from year 0 to 1970; the last second of 9999 */
#define SECONDS_0000_TO_1970 62167219200LL
#define SECONDS_MAX 315569519999LL
#define ROWID_HASH_BITS 20
#define ROWID_TRIES 1000
#define TIME_MIN LLONG_MIN
#define TIME_MAX LLONG_MAX
#define POOL_MAX 16 /* idle connections index_pool_give keeps */
#define KEPT_MAX 16 /* statements a connection keeps prepared */
#define VOCAB_CHECK_MS 1000 /* a pooled connection's look at vocab/ */
#define REBUILT_ALREADY 1   /* rebuild: another connection did it */
#define VOCAB_KEPT 2        /* vocab_matches: files unreadable, no writing */

/* A statement a connection keeps prepared between searches (take). */
struct kept {
    sqlite3_stmt *st; /* NULL: a free slot */
    int busy;
};

struct index {
    sqlite3 *db;
    struct kept kept[KEPT_MAX];
    char *path;
    char *pool_vocab; /* the vocabulary folder index_pool_take asked */
    struct vocab *vocab; /* NULL: terms as plain values */
    char vocab_hash[2 * 32 + 1];
    /* of a pooled connection: the vocabulary files' names, times and
     * sizes when last looked at (vocab_stamp), and when that was */
    uint64_t vocab_stamp;
    int64_t vocab_checked_ms;
    int short_wait; /* in index_catch_up_within: busy is no surprise,
                     * and a rebuild is left to a writer */
    /* the last load of the vocabularies: 0, OER_EINVAL for files that
     * do not read as vocabularies, else (no folder) another error */
    int vocab_err;
    int vocab_warned; /* that the index keeps its vocabularies, once */
    int unbuilt; /* vocab_matches found no vocabularies recorded */
};

static const char *const facet_names[INDEX_FACETS] = {
    "level", "subject", "language", "licence", "type", "audience", "origin",
};

/* The fields of a document that fill each facet: an array of terms, an
 * array of strings, or one string. */
static const char *const facet_fields[INDEX_FACETS] = {
    "levels", "subjects", "languages", "licence",
    "resource_types", "audience", NULL,
};

static const char schema_sql[] =
    "CREATE TABLE doc(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " origin TEXT NOT NULL, licence TEXT NOT NULL, updated TEXT NOT NULL,"
    " titles TEXT NOT NULL, levels TEXT NOT NULL DEFAULT '[]',"
    /* the ids of its facet values (facet_value), four bytes each, little
     * endian: the facet counts of a search read them, one row a hit */
    " facets BLOB NOT NULL DEFAULT x'');"
    "CREATE INDEX doc_origin ON doc(origin);"
    "CREATE TABLE facet(kind INTEGER NOT NULL, value TEXT NOT NULL,"
    " doc INTEGER NOT NULL, PRIMARY KEY(kind, value, doc)) WITHOUT ROWID;"
    "CREATE INDEX facet_doc ON facet(doc);"
    "CREATE TABLE facet_value(id INTEGER PRIMARY KEY, kind INTEGER NOT NULL,"
    " value TEXT NOT NULL, UNIQUE(kind, value));"
    /* tags: the document's facet values as tokens (tag_token), so that
     * FTS5 itself joins the words' matches and the filters */
    "CREATE VIRTUAL TABLE fts USING fts5(title, description, keywords,"
    " tags, tokenize = 'unicode61 remove_diacritics 2');"
    "CREATE TABLE indexed(origin TEXT PRIMARY KEY, head TEXT NOT NULL);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    /* the facet counts of the whole index, and (kind -1) its documents,
     * kept by triggers: a search without words or filters reads them */
    "CREATE TABLE facet_count(kind INTEGER NOT NULL, value TEXT NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY(kind, value)) WITHOUT ROWID;"
    "CREATE TRIGGER facet_add AFTER INSERT ON facet BEGIN"
    " INSERT INTO facet_count VALUES (new.kind, new.value, 1)"
    " ON CONFLICT(kind, value) DO UPDATE SET n = n + 1; END;"
    "CREATE TRIGGER facet_del AFTER DELETE ON facet BEGIN"
    " UPDATE facet_count SET n = n - 1"
    " WHERE kind = old.kind AND value = old.value;"
    " DELETE FROM facet_count"
    " WHERE kind = old.kind AND value = old.value AND n <= 0; END;"
    "CREATE TRIGGER doc_add AFTER INSERT ON doc BEGIN"
    " INSERT INTO facet_count VALUES (-1, '', 1)"
    " ON CONFLICT(kind, value) DO UPDATE SET n = n + 1; END;"
    "CREATE TRIGGER doc_del AFTER DELETE ON doc BEGIN"
    " UPDATE facet_count SET n = n - 1 WHERE kind = -1; END;"
    "PRAGMA user_version = 11;";

static const char drop_sql[] =
    "DROP TABLE IF EXISTS doc; DROP TABLE IF EXISTS facet;"
    "DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS indexed;"
    "DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS facet_count;"
    "DROP TABLE IF EXISTS facet_value;"
    "DROP TABLE IF EXISTS doc_span;"; /* of versions 6 and 7 */

const char *index_facet_name(enum index_facet f)
{
    return (unsigned)f < INDEX_FACETS ? facet_names[f] : "";
}

/* Translate a SQLite result, logging what failed. */
static int from_sqlite(struct index *ix, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    /* another connection writes: expected by index_catch_up_within */
    if ((rc & 0xff) == SQLITE_BUSY && ix->short_wait)
        return OER_ETIMEOUT;
    if ((rc & 0xff) == SQLITE_BUSY) {
        log_warn("index", what, "path", ix->path, "err",
                 "another writer has held the index's write lock for"
                 " 10 s", NULL);
        return OER_ETIMEOUT;
    }
    log_warn("index", what, "path", ix->path, "err",
             ix->db != NULL ? sqlite3_errmsg(ix->db) : sqlite3_errstr(rc),
             NULL);
    return rc == SQLITE_NOMEM ? OER_ENOMEM : OER_EIO;
}

static int exec(struct index *ix, const char *sql, const char *what)
{
    return from_sqlite(ix, sqlite3_exec(ix->db, sql, NULL, NULL, NULL), what);
}

static int prepare(sqlite3_stmt **out, struct index *ix, const char *sql)
{
    int rc = sqlite3_prepare_v2(ix->db, sql, -1, out, NULL);

    return from_sqlite(ix, rc, "cannot prepare a statement");
}

/*
 * A statement of sql, prepared on an earlier call and kept on ix when
 * there is one free, else prepared now (and kept when a slot is free):
 * parsing the SQL of a search's statements was a tenth of a cheap one.
 * sql is the key, compared by text.  Return it with give().
 */
static int take(sqlite3_stmt **out, struct index *ix, const char *sql)
{
    struct kept *free_slot = NULL;
    int rc;

    for (size_t i = 0; i < KEPT_MAX; i++) {
        struct kept *k = &ix->kept[i];

        if (k->st == NULL && free_slot == NULL)
            free_slot = k;
        if (k->st != NULL && !k->busy && strcmp(sqlite3_sql(k->st), sql) == 0) {
            k->busy = 1;
            *out = k->st;
            return 0;
        }
    }
    rc = sqlite3_prepare_v3(ix->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out,
                            NULL);
    if (rc == SQLITE_OK && free_slot != NULL)
        *free_slot = (struct kept){ *out, 1 };
    return from_sqlite(ix, rc, "cannot prepare a statement");
}

/* Reset st (from take) and keep it for the next take, or finalize it
 * when it was not kept. */
static void give(struct index *ix, sqlite3_stmt *st)
{
    if (st == NULL)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (size_t i = 0; i < KEPT_MAX; i++) {
        if (ix->kept[i].st == st) {
            ix->kept[i].busy = 0;
            return;
        }
    }
    sqlite3_finalize(st);
}

/* Run sql, one statement without rows, kept prepared (take). */
static int kept_exec(struct index *ix, const char *sql, const char *what)
{
    sqlite3_stmt *st = NULL;
    int err = take(&st, ix, sql);

    if (err == 0)
        err = from_sqlite(ix, sqlite3_step(st), what);
    give(ix, st);
    return err;
}

/* One number from sql, a bound as parameter 1 and b (text; NULL: left
 * unbound) as 2. */
static int count_of(sqlite3_int64 *out, struct index *ix, const char *sql,
                    sqlite3_int64 a, const char *b)
{
    sqlite3_stmt *st = NULL;
    int err = take(&st, ix, sql), rc;

    *out = 0;
    if (err != 0)
        return err;
    sqlite3_bind_int64(st, 1, a);
    if (b != NULL)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    err = from_sqlite(ix, rc, "cannot count");
    give(ix, st);
    return err;
}

static const char value_count_sql[] =
    "SELECT coalesce((SELECT n FROM facet_count"
    " WHERE kind = ?1 AND value = ?2), 0)";
static const char doc_count_sql[] =
    "SELECT coalesce((SELECT n FROM facet_count WHERE kind = ?1), 0)";

/* Run a statement of up to three text parameters and no rows. */
static int run(struct index *ix, const char *sql, const char *a,
               const char *b, const char *c)
{
    const char *args[3] = { a, b, c };
    sqlite3_stmt *st = NULL;
    int err = prepare(&st, ix, sql);

    for (int i = 0; err == 0 && i < 3 && args[i] != NULL; i++)
        sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
    if (err == 0)
        err = from_sqlite(ix, sqlite3_step(st), "cannot write the index");
    sqlite3_finalize(st);
    return err;
}

static int schema(struct index *ix)
{
    sqlite3_stmt *st = NULL;
    int version = -1, err;

    /* the usual case reads only: a connection opened while another
     * writes (a long rebuild) does not wait for its lock */
    if (prepare(&st, ix, "PRAGMA user_version") == 0 &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (version == INDEX_SCHEMA)
        return 0;
    version = -1;
    err = exec(ix, "BEGIN IMMEDIATE", "cannot begin");
    if (err == 0)
        err = prepare(&st, ix, "PRAGMA user_version");
    if (err == 0 && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (err == 0 && version != INDEX_SCHEMA) {
        if (version != 0)
            log_info("index", "rebuilding an index of another version",
                     "path", ix->path, NULL);
        err = exec(ix, drop_sql, "cannot drop the old tables");
        if (err == 0)
            err = exec(ix, schema_sql, "cannot create the tables");
    }
    if (err == 0)
        return exec(ix, "COMMIT", "cannot commit");
    sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

/* Ratings and downloads (node/paradata.h), from the file beside. */
static int attach_paradata(struct index *ix)
{
    char *path = paradata_path(ix->path);
    int err = path != NULL ? paradata_attach(ix->db, path) : OER_ENOMEM;

    if (err == OER_EIO)
        log_warn("index", "cannot attach the paradata", "path", path, "err",
                 sqlite3_errmsg(ix->db), NULL);
    free(path);
    return err;
}

void index_sqlite_setup(void)
{
    /* SQLite's memory statistics take a global lock around every
     * allocation, which the workers' searches contend for */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int index_open(struct index **out, const char *path)
{
    struct index *ix = calloc(1, sizeof(*ix));
    int rc, err;

    *out = NULL;
    if (ix != NULL)
        strcpy(ix->vocab_hash, NO_VOCAB);
    if (ix == NULL || (ix->path = strdup(path)) == NULL) {
        free(ix);
        return OER_ENOMEM;
    }
    /* a connection is used by one thread at a time (index.h) */
    rc = sqlite3_open_v2(path, &ix->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX,
                         NULL);
    err = from_sqlite(ix, rc, "cannot open the index");
    if (err == 0)
        sqlite3_busy_timeout(ix->db, BUSY_MS);
    if (err == 0)
        err = exec(ix, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                   " PRAGMA mmap_size = " MMAP_SIZE, "cannot set WAL mode");
    if (err == 0)
        err = schema(ix);
    if (err == 0)
        err = attach_paradata(ix);
    if (err != 0) {
        index_free(ix);
        return err == OER_ENOMEM ? err : OER_EIO;
    }
    *out = ix;
    return 0;
}

void index_free(struct index *ix)
{
    if (ix == NULL)
        return;
    for (size_t i = 0; i < KEPT_MAX; i++)
        sqlite3_finalize(ix->kept[i].st);
    sqlite3_close(ix->db);
    vocab_free(ix->vocab);
    free(ix->path);
    free(ix->pool_vocab);
    free(ix);
}

/* ---- the pool of open connections ---- */

static void vocab_refresh(struct index *ix, int now);
static uint64_t vocab_stamp(const char *dir);
static int64_t monotonic_ms(void);

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct index *pool[POOL_MAX];
static size_t pool_size;
static int pool_at_exit;

static void pool_drain(void)
{
    pthread_mutex_lock(&pool_lock);
    while (pool_size > 0)
        index_free(pool[--pool_size]);
    pthread_mutex_unlock(&pool_lock);
}

/* An idle connection to path with the vocabularies of vocab_dir, taken
 * out of the pool, or NULL. */
static struct index *pool_find(const char *path, const char *vocab_dir)
{
    struct index *ix = NULL;

    pthread_mutex_lock(&pool_lock);
    for (size_t i = pool_size; i-- > 0;) {
        if (strcmp(pool[i]->path, path) == 0 &&
            strcmp(pool[i]->pool_vocab, vocab_dir) == 0) {
            ix = pool[i];
            pool[i] = pool[--pool_size];
            break;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    return ix;
}

int index_pool_take(struct index **out, const char *path,
                    const char *vocab_dir)
{
    uint64_t stamp;
    int err;

    *out = pool_find(path, vocab_dir);
    if (*out != NULL) {
        vocab_refresh(*out, 0);
        return 0;
    }
    /* before the files are read: a change meanwhile moves it again */
    stamp = vocab_stamp(vocab_dir);
    err = index_open(out, path);
    if (err == 0 && ((*out)->pool_vocab = strdup(vocab_dir)) == NULL)
        err = OER_ENOMEM;
    /* without its vocabularies the index still serves plain values */
    if (err == 0 && index_use_vocab(*out, vocab_dir) != 0)
        log_warn("index", "searching without vocabularies", "dir",
                 vocab_dir, NULL);
    if (err == 0) {
        (*out)->vocab_stamp = stamp;
        (*out)->vocab_checked_ms = monotonic_ms();
    }
    if (err != 0) {
        index_free(*out);
        *out = NULL;
    }
    return err;
}

void index_pool_give(struct index *ix)
{
    if (ix == NULL)
        return;
    pthread_mutex_lock(&pool_lock);
    if (ix->pool_vocab != NULL && pool_size < POOL_MAX) {
        pool[pool_size++] = ix;
        ix = NULL;
    }
    /* idle connections are closed before the process ends */
    if (!pool_at_exit && atexit(pool_drain) == 0)
        pool_at_exit = 1;
    pthread_mutex_unlock(&pool_lock);
    index_free(ix);
}

/* ---- vocabularies ---- */

static int is_json_name(const struct dirent *e)
{
    size_t n = strlen(e->d_name);

    return e->d_name[0] != '.' && n > 5 &&
           strcmp(e->d_name + n - 5, ".json") == 0;
}

/* Feed the file at path into md; 0 or OER_EIO. */
static int hash_file(EVP_MD_CTX *md, const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n;
    int err = 0;

    if (f == NULL)
        return OER_EIO;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(md, buf, n);
    if (ferror(f))
        err = OER_EIO;
    fclose(f);
    return err;
}

/* SHA-256 over the names and bytes of the *.json files of dir, in name
 * order, as hex into out. */
static int vocab_digest(char out[2 * 32 + 1], const char *dir)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    struct dirent **names = NULL;
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char path[4096];
    int n, err = 0;

    n = scandir(dir, &names, is_json_name, alphasort);
    if (md == NULL || n < 0 || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        err = md == NULL ? OER_ENOMEM : OER_EIO;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (err == 0)
            EVP_DigestUpdate(md, names[i]->d_name,
                             strlen(names[i]->d_name) + 1);
        if (err == 0)
            err = hash_file(md, path);
        free(names[i]);
    }
    free(names);
    if (err == 0 && EVP_DigestFinal_ex(md, sum, &len) != 1)
        err = OER_EIO;
    EVP_MD_CTX_free(md);
    for (unsigned int i = 0; err == 0 && i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", sum[i]);
    if (err != 0)
        log_warn("index", "cannot hash the vocabularies", "dir", dir, "err",
                 error_name(err), NULL);
    return err;
}

int index_use_vocab(struct index *ix, const char *dir)
{
    struct vocab *v = NULL;
    char hash[2 * 32 + 1];
    int err = vocab_digest(hash, dir);

    if (err == 0)
        err = vocab_load(&v, dir);
    ix->vocab_err = err;
    if (err != 0)
        return err;
    ix->vocab_warned = 0;
    vocab_free(ix->vocab);
    ix->vocab = v;
    memcpy(ix->vocab_hash, hash, sizeof(hash));
    return 0;
}

static int64_t monotonic_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t fnv_mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* A hash of the names, inodes, sizes and change times of the *.json
 * files of dir (0 when it cannot be read): it moves when a file is
 * written, replaced, added or removed, without reading the files. */
static uint64_t vocab_stamp(const char *dir)
{
    struct dirent **names = NULL;
    uint64_t h = 0xcbf29ce484222325ull;
    char path[4096];
    struct stat st;
    int n = scandir(dir, &names, is_json_name, alphasort);

    if (n < 0)
        return 0;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        h = fnv_mix(h, names[i]->d_name, strlen(names[i]->d_name) + 1);
        if (stat(path, &st) == 0) {
            h = fnv_mix(h, &st.st_ino, sizeof(st.st_ino));
            h = fnv_mix(h, &st.st_size, sizeof(st.st_size));
            h = fnv_mix(h, &st.st_mtim, sizeof(st.st_mtim));
            h = fnv_mix(h, &st.st_ctim, sizeof(st.st_ctim));
        }
        free(names[i]);
    }
    free(names);
    return h;
}

/*
 * A pooled connection loads its vocabularies again when their files
 * changed: looked at once a VOCAB_CHECK_MS at most, or at once with now
 * (the index was built with other vocabularies than ix holds: ix may be
 * the one behind, and must not rebuild the index back to its old ones).
 * A folder that cannot be loaded leaves ix with the vocabularies it had.
 */
static void vocab_refresh(struct index *ix, int now)
{
    int64_t t = monotonic_ms();
    uint64_t stamp;

    if (ix->pool_vocab == NULL ||
        (!now && t - ix->vocab_checked_ms < VOCAB_CHECK_MS))
        return;
    ix->vocab_checked_ms = t;
    stamp = vocab_stamp(ix->pool_vocab);
    if (stamp == ix->vocab_stamp)
        return;
    ix->vocab_stamp = stamp;
    if (index_use_vocab(ix, ix->pool_vocab) == 0) {
        log_info("index", "vocabularies reloaded", "dir", ix->pool_vocab,
                 "hash", ix->vocab_hash, NULL);
    } else if (ix->vocab_err != OER_EINVAL) {
        /* the folder is gone: as a connection opened now would be */
        log_warn("index", "vocabularies gone: plain values from now on",
                 "dir", ix->pool_vocab, NULL);
        vocab_free(ix->vocab);
        ix->vocab = NULL;
        strcpy(ix->vocab_hash, NO_VOCAB);
    }
}

const struct vocab *index_vocab(const struct index *ix)
{
    return ix->vocab;
}

/* ---- writing documents ---- */

static int remove_doc(struct index *ix, const char *id)
{
    static const char sql[] =
        "DELETE FROM fts WHERE rowid IN (SELECT rowid FROM doc WHERE id = ?1);"
        "DELETE FROM temp.pending_text"
        " WHERE rowid IN (SELECT rowid FROM doc WHERE id = ?1);"
        "DELETE FROM facet WHERE doc IN (SELECT rowid FROM doc WHERE id = ?1);"
        "DELETE FROM doc WHERE id = ?1;";
    const char *tail = sql;
    int err = 0;

    /* four statements sharing one parameter (put_text: pending texts) */
    while (err == 0 && *tail != '\0') {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(ix->db, tail, -1, &st, &tail);

        err = from_sqlite(ix, rc, "cannot prepare a statement");
        if (err == 0 && st != NULL) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            err = from_sqlite(ix, sqlite3_step(st), "cannot remove a record");
        }
        sqlite3_finalize(st);
    }
    return err;
}

/* Every string of a langmap (object of strings) or langlist (object of
 * arrays of strings), one a line, into *out (sqlite3_free; NULL when
 * there is none). */
static int join_texts(char **out, struct index *ix, const json_t *obj)
{
    sqlite3_str *s = sqlite3_str_new(ix->db);
    const char *lang;
    json_t *v, *item;
    size_t i;
    int err;

    json_object_foreach((json_t *)obj, lang, v) {
        if (json_is_string(v))
            sqlite3_str_appendf(s, "%s\n", json_string_value(v));
        json_array_foreach(v, i, item) {
            if (json_is_string(item))
                sqlite3_str_appendf(s, "%s\n", json_string_value(item));
        }
    }
    err = sqlite3_str_errcode(s) == SQLITE_OK ? 0 : OER_ENOMEM;
    *out = sqlite3_str_finish(s);
    return err;
}

/*
 * Append to s the token of value of facet kind: "f", the kind, "x" and
 * the value's bytes in hex, one word to FTS5's tokenizer and a column of
 * its own (tags), so that a filter is a term FTS5 joins with the words.
 * Users' words cannot reach it: they match only the text columns.
 */
static void tag_token(sqlite3_str *s, int kind, const char *value)
{
    static const char hex[] = "0123456789abcdef";

    sqlite3_str_appendf(s, "f%dx", kind);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        sqlite3_str_appendchar(s, 1, hex[*p >> 4]);
        sqlite3_str_appendchar(s, 1, hex[*p & 15]);
    }
}

/* The id of value of facet kind in facet_value, added when new. */
static int value_id(sqlite3_int64 *out, struct index *ix, int kind,
                    const char *value)
{
    sqlite3_stmt *st = NULL;
    int err = take(&st, ix, "SELECT id FROM facet_value"
                   " WHERE kind = ? AND value = ?"), rc;

    *out = 0;
    if (err != 0)
        return err;
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    err = from_sqlite(ix, rc, "cannot read a facet value");
    give(ix, st);
    if (err != 0 || *out != 0)
        return err;
    err = take(&st, ix, "INSERT INTO facet_value(kind, value) VALUES (?, ?)");
    if (err != 0)
        return err;
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    err = from_sqlite(ix, sqlite3_step(st), "cannot add a facet value");
    give(ix, st);
    *out = sqlite3_last_insert_rowid(ix->db);
    return err != 0 ? err : *out > 0 && *out <= UINT32_MAX ? 0 : OER_EIO;
}

/*
 * From the facet rows of the document at row (put_facets has written
 * them): their tokens for the tags column, into *tags (sqlite3_free),
 * and their ids (value_id), four bytes each, into the document's
 * `facets`.
 */
static int doc_facets(char **tags, struct index *ix, sqlite3_int64 row)
{
    sqlite3_str *s = sqlite3_str_new(ix->db);
    sqlite3_str *ids = sqlite3_str_new(ix->db);
    sqlite3_stmt *st = NULL;
    int err = take(&st, ix, "SELECT kind, value FROM facet WHERE doc = ?");
    int rc = SQLITE_DONE;

    if (err == 0) {
        sqlite3_bind_int64(st, 1, row);
        while (err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            int kind = sqlite3_column_int(st, 0);
            const char *value = (const char *)sqlite3_column_text(st, 1);
            sqlite3_int64 id = 0;

            tag_token(s, kind, value);
            sqlite3_str_appendchar(s, 1, ' ');
            err = value_id(&id, ix, kind, value);
            for (int i = 0; i < 4; i++)
                sqlite3_str_appendchar(ids, 1, (char)((id >> (8 * i)) & 255));
        }
        if (err == 0)
            err = from_sqlite(ix, rc, "cannot read facets");
    }
    give(ix, st);
    st = NULL;
    if (err == 0 && (sqlite3_str_errcode(s) != SQLITE_OK ||
                     sqlite3_str_errcode(ids) != SQLITE_OK))
        err = OER_ENOMEM;
    if (err == 0)
        err = take(&st, ix, "UPDATE doc SET facets = ? WHERE rowid = ?");
    if (err == 0) {
        if (sqlite3_str_length(ids) > 0)
            sqlite3_bind_blob(st, 1, sqlite3_str_value(ids),
                              sqlite3_str_length(ids), SQLITE_STATIC);
        else
            sqlite3_bind_zeroblob(st, 1, 0);
        sqlite3_bind_int64(st, 2, row);
        err = from_sqlite(ix, sqlite3_step(st), "cannot index facets");
        give(ix, st);
    }
    sqlite3_free(sqlite3_str_finish(ids));
    *tags = sqlite3_str_finish(s);
    return err;
}

/* The texts and tags of the document at row, staged until end(). */
static int put_text(struct index *ix, sqlite3_int64 row, const json_t *doc)
{
    static const char *const fields[] = { "title", "description", "keywords" };
    char *text[4] = { NULL, NULL, NULL, NULL };
    sqlite3_stmt *st = NULL;
    int err = 0;

    for (int i = 0; i < 3 && err == 0; i++)
        err = join_texts(&text[i], ix, json_object_get(doc, fields[i]));
    if (err == 0)
        err = doc_facets(&text[3], ix, row);
    if (err == 0)
        err = prepare(&st, ix,
                      "INSERT INTO temp.pending_text(rowid, title,"
                      " description, keywords, tags) VALUES (?, ?, ?, ?, ?)");
    if (err == 0) {
        sqlite3_bind_int64(st, 1, row);
        for (int i = 0; i < 4; i++)
            sqlite3_bind_text(st, i + 2, text[i], -1, SQLITE_STATIC);
        err = from_sqlite(ix, sqlite3_step(st), "cannot index a text");
    }
    sqlite3_finalize(st);
    for (int i = 0; i < 4; i++)
        sqlite3_free(text[i]);
    return err;
}

static int put_facet(sqlite3_stmt *st, struct index *ix, sqlite3_int64 row,
                     int kind, const json_t *v)
{
    if (json_is_object(v))
        v = json_object_get(v, "value");
    if (!json_is_string(v))
        return 0;
    sqlite3_reset(st);
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_text(st, 2, json_string_value(v), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, row);
    return from_sqlite(ix, sqlite3_step(st), "cannot index a facet");
}

/* The facet value of a vocabulary key: the key, but the plain value of
 * a "raw:" key, so that an unmapped term filters by its value. */
static const char *key_value(const char *key)
{
    const char *sep;

    if (strncmp(key, "raw:", 4) != 0)
        return key;
    sep = strchr(key, '\x1f');
    return sep != NULL ? sep + 1 : key + 4;
}

struct key_put {
    sqlite3_stmt *st;
    struct index *ix;
    sqlite3_int64 row;
    int kind;
    int *isced; /* set when a key is an ISCED level, or NULL */
};

static int on_index_key(const char *key, void *arg)
{
    struct key_put *kp = arg;
    json_t *v = json_string(key_value(key));

    if (kp->isced != NULL && strncmp(key, "isced:", 6) == 0)
        *kp->isced = 1;
    int err = v != NULL ? put_facet(kp->st, kp->ix, kp->row, kp->kind, v)
                        : OER_ENOMEM;

    json_decref(v);
    return err;
}

/* The system an origin's own terms are in: the vocabulary system of the
 * origin's id when there is one ("be-vl"), else NULL. */
static const char *origin_system(const struct vocab *v, const char *origin)
{
    return vocab_system_label(v, origin, NULL) != NULL ? origin : NULL;
}

/* A level or subject term under its vocabulary keys, others as is; *isced
 * is set when a level term maps to an ISCED level. */
static int put_term(sqlite3_stmt *st, struct index *ix, sqlite3_int64 row,
                    int kind, const json_t *term, const char *origin,
                    int *isced)
{
    struct key_put kp = { st, ix, row, kind, isced };
    const char *value = json_string_value(json_object_get(term, "value"));
    const char *source = json_string_value(json_object_get(term, "source"));

    if (ix->vocab == NULL || value == NULL ||
        (kind != INDEX_LEVEL && kind != INDEX_SUBJECT))
        return put_facet(st, ix, row, kind, term);
    return vocab_index_keys(ix->vocab,
                            kind == INDEX_LEVEL ? VOCAB_LEVEL : VOCAB_SUBJECT,
                            source != NULL ? source : "", value,
                            origin_system(ix->vocab, origin), on_index_key,
                            &kp);
}

static int put_facets(struct index *ix, sqlite3_int64 row, const json_t *doc,
                      const char *origin)
{
    int isced = 0;
    json_t *o = json_string(origin), *v, *item;
    sqlite3_stmt *st = NULL;
    size_t i;
    int err = o != NULL ? 0 : OER_ENOMEM;

    if (err == 0)
        err = prepare(&st, ix,
                      "INSERT OR IGNORE INTO facet(kind, value, doc)"
                      " VALUES (?, ?, ?)");
    for (int k = 0; k < INDEX_FACETS && err == 0; k++) {
        v = facet_fields[k] != NULL ? json_object_get(doc, facet_fields[k])
                                    : o;
        if (!json_is_array(v)) {
            err = put_facet(st, ix, row, k, v);
            continue;
        }
        json_array_foreach(v, i, item) {
            if (err == 0)
                err = put_term(st, ix, row, k, item, origin,
                               k == INDEX_LEVEL ? &isced : NULL);
        }
    }
    /* no level term maps to ISCED: the candidate levels of the record's
     * LOM context and typical age range (docs/VOCABULARIES.md) */
    if (err == 0 && ix->vocab != NULL && !isced) {
        struct key_put kp = { st, ix, row, INDEX_LEVEL, NULL };

        err = vocab_record_age_keys(doc, on_index_key, &kp);
    }
    sqlite3_finalize(st);
    json_decref(o);
    return err;
}

static const char *str(const json_t *doc, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));

    return v != NULL ? v : "";
}

/*
 * The rowid of the document id updated at updated: the seconds from
 * 0000-01-01T00:00:00Z (timegm, proleptic Gregorian) to the end of 9999,
 * after it, above 20 bits of a hash of the id, plus one.  Ascending rowid
 * order is then newest first, which the searches without ranking follow
 * without sorting (FTS5 reads its lists forwards faster than backwards);
 * records of the same second come in the order of their ids' hashes.  A rowid
 * another record holds moves on to the next free one (put_doc).
 */
static sqlite3_int64 doc_rowid(const char *updated, const char *id)
{
    struct tm tm = { 0 };
    long long secs = 0;
    uint32_t h = 2166136261u;
    int y, mo, d, n = 0;

    if (sscanf(updated, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        if (sscanf(updated + 10, "T%2d:%2d:%2d", &tm.tm_hour, &tm.tm_min,
                   &tm.tm_sec) != 3)
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        secs = (long long)timegm(&tm) + SECONDS_0000_TO_1970;
    }
    if (secs < 0 || secs > SECONDS_MAX)
        secs = 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return ((sqlite3_int64)(SECONDS_MAX - secs) << ROWID_HASH_BITS) +
           (h & ((1u << ROWID_HASH_BITS) - 1)) + 1;
}

/* Index doc (a record or a tombstone) of origin, replacing what the
 * index held for its id. */
static int put_doc(struct index *ix, const json_t *doc, const char *origin)
{
    const char *id = str(doc, "id");
    json_t *levels = json_object_get(doc, "levels");
    char *titles = NULL, *lv = NULL;
    sqlite3_stmt *st = NULL;
    sqlite3_int64 row;
    int err;

    err = remove_doc(ix, id);
    if (err != 0 || metadata_is_tombstone(doc))
        return err;
    titles = json_dumps(json_object_get(doc, "title"), JSON_COMPACT);
    lv = json_is_array(levels) ? json_dumps(levels, JSON_COMPACT)
                               : strdup("[]");
    err = titles != NULL && lv != NULL ? 0 : OER_ENOMEM;
    if (err == 0)
        err = prepare(&st, ix,
                      "INSERT INTO doc(rowid, id, origin, licence, updated,"
                      " titles, levels) VALUES (?, ?, ?, ?, ?, ?, ?)");
    row = doc_rowid(str(doc, "updated"), id);
    for (int tries = 0; err == 0; tries++) {
        int rc;

        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, row);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, origin, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, str(doc, "licence"), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, str(doc, "updated"), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, titles, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, lv, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        /* the id was removed above: a conflict is another record's rowid */
        if (rc != SQLITE_CONSTRAINT || tries >= ROWID_TRIES) {
            err = from_sqlite(ix, rc, "cannot index a record");
            break;
        }
        row++;
    }
    sqlite3_finalize(st);
    free(titles);
    free(lv);
    if (err == 0)
        err = put_facets(ix, row, doc, origin);
    if (err == 0)
        err = put_text(ix, row, doc);
    return err;
}

/* ---- catching up with the store ---- */

struct walk {
    struct index *ix;
    struct store *s;
    const char *origin;
    const char *head;
    json_t *paths; /* changed paths, as the keys of an object */
    size_t docs;
};

static int of_origin(const char *id, const char *origin)
{
    size_t n = strlen(origin);

    return strncmp(id, origin, n) == 0 && id[n] == '/';
}

static int on_doc(const json_t *doc, void *arg)
{
    struct walk *w = arg;

    if (!of_origin(str(doc, "id"), w->origin))
        return 0;
    w->docs++;
    return put_doc(w->ix, doc, w->origin);
}

static int on_change(const struct store_change *c, void *arg)
{
    struct walk *w = arg;

    for (size_t i = 0; i < c->count; i++) {
        if (json_object_set_new(w->paths, c->paths[i], json_true()) != 0)
            return OER_ENOMEM;
    }
    return 0;
}

/* Index the document at path of the head, or remove it when it is gone. */
static int apply_path(struct walk *w, const char *path)
{
    const char *base = strrchr(path, '/');
    size_t n;
    char id[256];
    json_t *doc = NULL;
    int err;

    base = base != NULL ? base + 1 : path;
    n = strlen(base);
    if (n <= 5 || strcmp(base + n - 5, ".json") != 0)
        return 0;
    w->docs++;
    err = store_get_at(&doc, NULL, w->s, w->head, path);
    if (err == OER_ENOTFOUND) {
        snprintf(id, sizeof(id), "%s/%.*s", w->origin, (int)(n - 5), base);
        return remove_doc(w->ix, id);
    }
    if (err == 0 && of_origin(str(doc, "id"), w->origin))
        err = put_doc(w->ix, doc, w->origin);
    json_decref(doc);
    return err;
}

static int incremental(struct walk *w, const char *from)
{
    const char *path;
    json_t *v;
    int err;

    w->paths = json_object();
    if (w->paths == NULL)
        return OER_ENOMEM;
    err = store_changes(w->s, w->head, from, TIME_MIN, TIME_MAX, on_change, w);
    json_object_foreach(w->paths, path, v) {
        if (err == 0)
            err = apply_path(w, path);
    }
    json_decref(w->paths);
    w->paths = NULL;
    return err;
}

static int drop_origin(struct index *ix, const char *origin)
{
    static const char *const sql[] = {
        "DELETE FROM fts WHERE rowid IN"
        " (SELECT rowid FROM doc WHERE origin = ?)",
        "DELETE FROM facet WHERE doc IN"
        " (SELECT rowid FROM doc WHERE origin = ?)",
        "DELETE FROM doc WHERE origin = ?",
        "DELETE FROM indexed WHERE origin = ?",
    };
    int err = 0;

    for (size_t i = 0; i < 4 && err == 0; i++)
        err = run(ix, sql[i], origin, NULL, NULL);
    return err;
}

/* The commit recorded for origin into out, or "" when there is none. */
static int recorded(char out[STORE_OID_HEX], struct index *ix,
                    const char *origin)
{
    sqlite3_stmt *st = NULL;
    int err = prepare(&st, ix, "SELECT head FROM indexed WHERE origin = ?");
    int rc;

    out[0] = '\0';
    if (err != 0)
        return err;
    sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(out, STORE_OID_HEX, "%s", sqlite3_column_text(st, 0));
    else
        err = from_sqlite(ix, rc, "cannot read the indexed commit");
    sqlite3_finalize(st);
    return err;
}

/* Bring one origin to head; the caller holds the transaction. */
static int origin_catch_up(struct walk *w, struct index_stats *st)
{
    char from[STORE_OID_HEX];
    int err = recorded(from, w->ix, w->origin);

    if (err != 0 || strcmp(from, w->head) == 0)
        return err;
    if (from[0] != '\0' && store_descends(w->s, w->head, from) == 1) {
        err = incremental(w, from);
        st->origins_updated++;
    } else {
        if (from[0] != '\0')
            log_info("index", "history rewritten: rebuilding the origin",
                     "origin", w->origin, "indexed", from, "head", w->head,
                     NULL);
        err = drop_origin(w->ix, w->origin);
        if (err == 0)
            err = store_foreach(w->s, w->origin, on_doc, w);
        st->origins_rebuilt++;
    }
    if (err == 0)
        err = run(w->ix, "INSERT OR REPLACE INTO indexed(origin, head)"
                  " VALUES (?, ?)", w->origin, w->head, NULL);
    return err;
}

/*
 * A writing transaction.  Texts wait in a temporary table until it ends
 * and go into FTS5 in rowid order: FTS5 writes its pending terms out as
 * a new segment whenever a rowid comes below the last one, and rowids
 * follow `updated` (doc_rowid), not the order a catalogue's tree is read
 * in, so putting them in as read made a segment of almost every record.
 */
static int begin(struct index *ix)
{
    int err = exec(ix, "CREATE TEMP TABLE IF NOT EXISTS pending_text("
                   "rowid INTEGER PRIMARY KEY, title, description,"
                   " keywords, tags);"
                   " PRAGMA cache_size = " WRITE_CACHE,
                   "cannot create a temporary table");

    return err != 0 ? err
                    : exec(ix, "BEGIN IMMEDIATE", "cannot begin a transaction");
}

static int end(struct index *ix, int err)
{
    if (err == 0)
        err = exec(ix, "INSERT INTO fts(rowid, title, description, keywords,"
                   " tags) SELECT rowid, title, description, keywords, tags"
                   " FROM temp.pending_text ORDER BY rowid;"
                   " DELETE FROM temp.pending_text", "cannot index texts");
    if (err == 0)
        err = exec(ix, "COMMIT", "cannot commit the index");
    else
        sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(ix->db, "PRAGMA cache_size = " READ_CACHE, NULL, NULL, NULL);
    return err;
}

static const char empty_sql[] =
    "DELETE FROM fts; DELETE FROM facet; DELETE FROM doc;"
    " DELETE FROM indexed; DELETE FROM facet_count; DELETE FROM facet_value;";

static int record_vocab(struct index *ix)
{
    return run(ix, "INSERT OR REPLACE INTO meta(key, value)"
               " VALUES ('vocab', ?)", ix->vocab_hash, NULL, NULL);
}

/*
 * Whether the index was built with the vocabularies ix uses, into *same:
 * 1, 0 (also for an index built with none recorded), or VOCAB_KEPT when
 * ix could not load the files and the index is to stay as it is.  A pooled
 * connection that has not looked at the files since they changed loads
 * them first: it may be the one behind, and must not rebuild the index
 * back to its old ones.
 */
static int vocab_matches(struct index *ix, int *same)
{
    sqlite3_stmt *st = NULL;
    const char *was;
    int err = prepare(&st, ix, "SELECT value FROM meta WHERE key = 'vocab'");

    *same = 0;
    ix->unbuilt = 1;
    if (err == 0 && sqlite3_step(st) == SQLITE_ROW) {
        ix->unbuilt = 0;
        was = (const char *)sqlite3_column_text(st, 0);
        *same = was != NULL && strcmp(was, ix->vocab_hash) == 0;
        if (!*same && was != NULL) {
            vocab_refresh(ix, 1);
            *same = strcmp(was, ix->vocab_hash) == 0;
        }
        /* files that do not read as vocabularies (being edited, say):
         * the index stays as it was built, neither rebuilt nor caught
         * up by a connection without its vocabularies, until they read
         * again */
        if (!*same && was != NULL && ix->vocab_err == OER_EINVAL) {
            if (!ix->vocab_warned)
                log_warn("index", "the vocabulary files cannot be read:"
                         " the index is not updated until they can", "path",
                         ix->path, NULL);
            ix->vocab_warned = 1;
            *same = VOCAB_KEPT;
        }
    }
    sqlite3_finalize(st);
    return err;
}

static int on_origin(const char *origin, const char *head, void *arg)
{
    return json_object_set_new(arg, origin, json_string(head)) != 0
               ? OER_ENOMEM
               : 0;
}

/* Drop the origins the index holds and the store does not. */
static int drop_gone(struct index *ix, const json_t *heads,
                     struct index_stats *stats)
{
    json_t *gone = json_array(), *v;
    sqlite3_stmt *st = NULL;
    size_t i;
    int err = gone != NULL ? prepare(&st, ix, "SELECT origin FROM indexed")
                           : OER_ENOMEM;

    while (err == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *o = (const char *)sqlite3_column_text(st, 0);

        if (json_object_get(heads, o) == NULL)
            json_array_append_new(gone, json_string(o));
    }
    sqlite3_finalize(st);
    json_array_foreach(gone, i, v) {
        if (err == 0)
            err = begin(ix);
        if (err == 0)
            err = end(ix, drop_origin(ix, json_string_value(v)));
        stats->origins_dropped++;
    }
    json_decref(gone);
    return err;
}

/* Whether the index holds exactly the heads of the store, built with the
 * vocabularies ix uses: read only, so that the catch-up before every
 * search takes no write lock when nothing moved. */
static int up_to_date(struct index *ix, const json_t *heads)
{
    sqlite3_stmt *st = NULL;
    size_t same = 0;
    int ok = 1;

    if (take(&st, ix, "SELECT origin, head FROM indexed UNION ALL"
                " SELECT NULL, value FROM meta WHERE key = 'vocab'") != 0)
        return 0;
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        const char *o = (const char *)sqlite3_column_text(st, 0);
        const char *h = (const char *)sqlite3_column_text(st, 1);
        const char *want = o != NULL
                               ? json_string_value(json_object_get(heads, o))
                               : ix->vocab_hash;

        ok = want != NULL && h != NULL && strcmp(want, h) == 0;
        same++;
    }
    give(ix, st);
    return ok && same == json_object_size(heads) + 1;
}

/*
 * Merge FTS5's segments into one after writing a tenth of the index or
 * more: a million records indexed at once leave a dozen segments, and a
 * search joining words and filters read three times slower from those
 * than from one (bench/README.md).  Some seconds a million records.
 */
static int merge_text(struct index *ix, size_t written)
{
    sqlite3_int64 all = 0;
    char n[24];
    int err = written > 0 ? count_of(&all, ix, doc_count_sql, -1, NULL) : 0;

    if (err != 0 || written == 0 || (sqlite3_int64)written * 10 < all)
        return err;
    err = exec(ix, "BEGIN IMMEDIATE", "cannot begin a transaction");
    if (err == 0)
        err = exec(ix, "INSERT INTO fts(fts) VALUES ('optimize')",
                   "cannot merge the text index");
    if (err == 0)
        err = exec(ix, "COMMIT", "cannot commit the index");
    else
        sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    if (err == 0)
        log_info("index", "text index merged", "path", ix->path, "documents",
                 log_num(n, (long long)all), NULL);
    return err;
}

int index_holds(struct index *ix, const json_t *heads)
{
    return up_to_date(ix, heads);
}

/*
 * Empty the index and index every origin of heads again, in one
 * transaction (searches read the old index until it ends).  With
 * recheck (a catch-up that found other vocabularies), once the write
 * lock is held: when another connection has rebuilt meanwhile, nothing
 * is done and the answer is REBUILT_ALREADY (VOCAB_KEPT when the files
 * stopped reading meanwhile).
 */
static int rebuild(struct index *ix, struct store *s, const json_t *heads,
                   struct index_stats *stats, int recheck)
{
    const char *origin;
    json_t *head;
    int same = 0, err = begin(ix);

    if (err != 0)
        return err;
    if (recheck)
        err = vocab_matches(ix, &same);
    if (err == 0 && same != 0)
        return end(ix, 0) != 0       ? OER_EIO
               : same == VOCAB_KEPT ? VOCAB_KEPT
                                    : REBUILT_ALREADY;
    if (err == 0 && recheck && ix->unbuilt)
        log_info("index", "building the index", "path", ix->path,
                 "vocab", ix->vocab_hash, NULL);
    else if (err == 0 && recheck)
        log_info("index", "vocabularies changed: rebuilding", "path",
                 ix->path, "now", ix->vocab_hash, NULL);
    if (err == 0)
        err = exec(ix, empty_sql, "cannot empty the index");
    if (err == 0)
        err = record_vocab(ix);
    json_object_foreach((json_t *)heads, origin, head) {
        struct walk w = { ix, s, origin, json_string_value(head), NULL, 0 };

        if (err == 0)
            err = origin_catch_up(&w, stats);
        stats->documents += w.docs;
    }
    err = end(ix, err);
    return err == 0 ? merge_text(ix, stats->documents) : err;
}

int index_catch_up(struct index *ix, struct store *s,
                   struct index_stats *stats)
{
    struct index_stats local = { 0 };
    json_t *heads = json_object(), *head;
    const char *origin;
    int err, same = 1;

    if (stats == NULL)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    err = heads != NULL ? store_origins(s, on_origin, heads) : OER_ENOMEM;
    if (err == 0 && up_to_date(ix, heads)) {
        json_decref(heads);
        return 0;
    }
    if (err == 0)
        err = vocab_matches(ix, &same);
    /* a search does not rebuild: it reads the index as it is until a
     * writer (the daemon's indexer) has */
    if (err == 0 && !same && ix->short_wait) {
        log_debug("index", "vocabularies changed: searching the index as"
                  " it is until it is rebuilt", "path", ix->path, NULL);
        json_decref(heads);
        return OER_ETIMEOUT;
    }
    /* other vocabularies: every origin again, in one transaction, so
     * that searches read the old index meanwhile */
    if (err == 0 && !same)
        err = rebuild(ix, s, heads, stats, 1);
    if ((err == 0 && !same) || err == VOCAB_KEPT || same == VOCAB_KEPT) {
        json_decref(heads);
        return err == VOCAB_KEPT ? 0 : err;
    }
    if (err == REBUILT_ALREADY)
        err = 0;
    json_object_foreach(heads, origin, head) {
        struct walk w = { ix, s, origin, json_string_value(head), NULL, 0 };

        if (err == 0)
            err = begin(ix);
        if (err == 0)
            err = end(ix, origin_catch_up(&w, stats));
        stats->documents += w.docs;
    }
    if (err == 0)
        err = drop_gone(ix, heads, stats);
    if (err == 0)
        err = merge_text(ix, stats->documents);
    json_decref(heads);
    return err;
}

int index_catch_up_within(struct index *ix, struct store *s,
                          struct index_stats *stats, int wait_ms)
{
    int err;

    sqlite3_busy_timeout(ix->db, wait_ms);
    ix->short_wait = 1;
    err = index_catch_up(ix, s, stats);
    ix->short_wait = 0;
    sqlite3_busy_timeout(ix->db, BUSY_MS);
    return err;
}

int index_rebuild(struct index *ix, struct store *s,
                  struct index_stats *stats)
{
    struct index_stats local = { 0 };
    json_t *heads = json_object();
    int err;

    if (stats == NULL)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    err = heads != NULL ? store_origins(s, on_origin, heads) : OER_ENOMEM;
    if (err == 0)
        err = rebuild(ix, s, heads, stats, 0);
    json_decref(heads);
    return err;
}

/* ---- the user's words ---- */

/* Whether text[0..len) holds a letter or a digit; -1 when it is not valid
 * UTF-8. */
static int has_alnum(const char *text, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    utf8proc_int32_t c;
    utf8proc_ssize_t n;
    int found = 0;

    while (len > 0) {
        n = utf8proc_iterate(p, (utf8proc_ssize_t)len, &c);
        if (n <= 0)
            return -1;
        switch (utf8proc_category(c)) {
        case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
        case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
        case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
            found = 1;
            break;
        default:
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    return found;
}

int index_utf8(const char *text)
{
    return text == NULL || has_alnum(text, strlen(text)) >= 0;
}

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Append word as a quoted FTS5 phrase, '*' after it when prefix. */
static void quote_word(char **dst, const char *word, size_t len, int prefix)
{
    char *d = *dst;

    *d++ = '"';
    for (size_t i = 0; i < len; i++) {
        if (word[i] == '"')
            *d++ = '"';
        *d++ = word[i];
    }
    *d++ = '"';
    if (prefix)
        *d++ = '*';
    *d++ = ' ';
    *dst = d;
}

int index_query_fts(char **out, const char *text)
{
    size_t len = text != NULL ? strlen(text) : 0, words = 0;
    const char *p = text;
    char *buf, *d;

    *out = NULL;
    if (len > INDEX_QUERY_MAX || (len > 0 && has_alnum(text, len) < 0))
        return OER_EINVAL;
    /* at worst every byte a quote, doubled, plus quotes and a star */
    buf = malloc(len * 2 + 4 * INDEX_QUERY_WORDS + 1);
    if (buf == NULL)
        return OER_ENOMEM;
    d = buf;
    while (len > 0 && *p != '\0') {
        size_t n = 0, stem;
        int word;

        while (is_space(*p))
            p++;
        while (p[n] != '\0' && !is_space(p[n]))
            n++;
        for (stem = n; stem > 0 && p[stem - 1] == '*'; stem--)
            ;
        word = n > 0 && has_alnum(p, stem) == 1;
        if (word && ++words > INDEX_QUERY_WORDS) {
            free(buf);
            return OER_EINVAL;
        }
        if (word)
            quote_word(&d, p, stem, stem < n);
        p += n;
    }
    if (d > buf)
        d--; /* the last space */
    *d = '\0';
    *out = buf;
    return 0;
}

/* ---- searching ---- */

/*
 * How a search runs.  Document rowids follow `updated` (doc_rowid), so
 * newest first is ascending rowid order, which FTS5 gives without
 * sorting.  A search is one FTS5 query: its words in the text columns,
 * and each filter as its values' tokens in the tags column (tag_token),
 * so that FTS5 joins them by merging its lists of documents rather than
 * testing every candidate here.  It counts the facet values of the first
 * hits (q->sample, INDEX_SAMPLE by default) in a hash table, and reads no
 * further than those, the page and one more hit: when the hits end
 * within the sample the counts are exact, else the total is the hits read
 * (at least) and the facets count the newest of them.  Words that match
 * at most INDEX_RANK_MAX documents (a probe counts them, filters aside)
 * rank their hits: the bm25 of the words alone is read for those
 * documents, and the hits keep theirs.  (bm25 over the whole query would
 * count every document of each filter's values for their weights.)
 */

/* A search being answered. */
struct search {
    struct index *ix;
    const struct index_query *q;
    char *words; /* the user's words as FTS5 phrases, or NULL for none */
    char *text;  /* the words in the text columns (sqlite3_free), or NULL */
    char *match; /* words and filters (sqlite3_free); NULL for neither */
    int rankable; /* the words match at most INDEX_RANK_MAX documents */
    int none;    /* a filter that accepts no value: no hits */
    json_t *keys[INDEX_FACETS]; /* the facet values each filter accepts */
};

static int on_filter_key(const char *key, void *arg)
{
    json_t *s = json_string(key_value(key));

    return json_array_append_new(arg, s) != 0 ? OER_ENOMEM : 0;
}

static int is_key(const char *value)
{
    return strncmp(value, "isced:", 6) == 0 ||
           strncmp(value, "subject:", 8) == 0;
}

/* The facet values filter value of facet k accepts, into list: a key or
 * a plain value as is, a level or subject term of the searcher's system
 * as its vocabulary keys. */
static int filter_keys(json_t *list, struct index *ix,
                       const struct index_query *q, int k, const char *value)
{
    const char *sys = q->system != NULL && q->system[0] != '\0' ? q->system
                                                                 : NULL;

    if (ix->vocab == NULL || is_key(value) ||
        (k != INDEX_LEVEL && k != INDEX_SUBJECT))
        return json_array_append_new(list, json_string(value)) != 0
                   ? OER_ENOMEM
                   : 0;
    return vocab_filter_keys(ix->vocab,
                             k == INDEX_LEVEL ? VOCAB_LEVEL : VOCAB_SUBJECT,
                             sys != NULL ? sys : "", value, sys, on_filter_key,
                             list);
}

static int search_keys(struct search *sr)
{
    int err = 0;

    for (int k = 0; k < INDEX_FACETS && err == 0; k++) {
        sr->keys[k] = json_array();
        if (sr->keys[k] == NULL)
            return OER_ENOMEM;
        for (size_t i = 0; i < sr->q->nfilters[k] && err == 0; i++)
            err = index_utf8(sr->q->filters[k][i])
                      ? filter_keys(sr->keys[k], sr->ix, sr->q, k,
                                    sr->q->filters[k][i])
                      : OER_EINVAL;
    }
    return err;
}

static int has_filters(const struct search *sr)
{
    for (int k = 0; k < INDEX_FACETS; k++) {
        if (sr->q->nfilters[k] > 0)
            return 1;
    }
    return 0;
}

/* sr->match: the words in the text columns, and for each filter one of
 * its values' tokens in the tags column. */
static int search_match(struct search *sr)
{
    sqlite3_str *s = sqlite3_str_new(sr->ix->db);
    const char *and = "";

    if (sr->words != NULL) {
        sr->text = sqlite3_mprintf("{title description keywords} : (%s)",
                                   sr->words);
        if (sr->text == NULL)
            return OER_ENOMEM;
        sqlite3_str_appendall(s, sr->text);
        and = " AND ";
    }
    for (int k = 0; k < INDEX_FACETS; k++) {
        size_t n = json_array_size(sr->keys[k]);

        if (sr->q->nfilters[k] == 0)
            continue;
        if (n == 0) {
            sr->none = 1;
            continue;
        }
        sqlite3_str_appendf(s, "%stags : (", and);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                sqlite3_str_appendall(s, " OR ");
            tag_token(s, k, json_string_value(json_array_get(sr->keys[k], i)));
        }
        sqlite3_str_appendall(s, ")");
        and = " AND ";
    }
    if (sqlite3_str_errcode(s) != SQLITE_OK) {
        sqlite3_free(sqlite3_str_finish(s));
        return OER_ENOMEM;
    }
    sr->match = sqlite3_str_finish(s); /* NULL when empty */
    return 0;
}

/* The hits, newest first. */
static const char stream_sql[] =
    "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rowid";
/* The documents of the words with their bm25 (the weights of title,
 * description, keywords and tags), for words few enough to rank. */
static const char scored_sql[] =
    "SELECT rowid, bm25(fts, 10.0, 2.0, 5.0, 0.0) FROM fts WHERE fts MATCH ?";
/* Whether the words match at most ?1 - 1 documents. */
static const char probe_sql[] =
    "SELECT count(*) < ?1 FROM (SELECT 1 FROM fts WHERE fts MATCH ?2"
    " LIMIT ?1)";

/* ---- counting facet values ---- */

struct tally_slot {
    uint32_t id; /* facet_value's; 0: free */
    sqlite3_int64 n;
    int kind;    /* with value, read by tally_values */
    char *value;
};

struct tally {
    struct tally_slot *slot;
    size_t cap; /* a power of two */
    size_t used;
    sqlite3_stmt *rows; /* a document's facet ids */
    struct index *ix;   /* rows's */
};

static struct tally_slot *tally_find(struct tally_slot *slot, size_t cap,
                                     uint32_t id)
{
    size_t i = (id * 2654435761u) & (cap - 1);

    while (slot[i].id != 0 && slot[i].id != id)
        i = (i + 1) & (cap - 1);
    return &slot[i];
}

static int tally_grow(struct tally *t)
{
    size_t cap = t->cap > 0 ? 2 * t->cap : 256;
    struct tally_slot *slot = calloc(cap, sizeof(*slot));

    if (slot == NULL)
        return OER_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slot[i].id != 0)
            *tally_find(slot, cap, t->slot[i].id) = t->slot[i];
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return 0;
}

static int tally_add(struct tally *t, uint32_t id)
{
    struct tally_slot *s;

    if (2 * (t->used + 1) > t->cap && tally_grow(t) != 0)
        return OER_ENOMEM;
    s = tally_find(t->slot, t->cap, id);
    if (s->id == 0) {
        s->id = id;
        t->used++;
    }
    s->n++;
    return 0;
}

/* Count the facet values of the document at row (their ids, as
 * doc_facets wrote them). */
static int tally_doc(struct tally *t, struct index *ix, sqlite3_int64 row)
{
    const unsigned char *ids;
    int rc, err = 0, len;

    if (t->rows == NULL) {
        err = take(&t->rows, ix, "SELECT facets FROM doc WHERE rowid = ?");
        t->ix = ix;
    }
    if (err != 0)
        return err;
    sqlite3_reset(t->rows);
    sqlite3_bind_int64(t->rows, 1, row);
    rc = sqlite3_step(t->rows);
    if (rc != SQLITE_ROW)
        return from_sqlite(ix, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                           "cannot count facets");
    ids = sqlite3_column_blob(t->rows, 0);
    len = sqlite3_column_bytes(t->rows, 0);
    for (int i = 0; err == 0 && i + 4 <= len; i += 4)
        err = tally_add(t, (uint32_t)ids[i] | (uint32_t)ids[i + 1] << 8 |
                               (uint32_t)ids[i + 2] << 16 |
                               (uint32_t)ids[i + 3] << 24);
    return err;
}

/* The facet and value of each id counted. */
static int tally_values(struct tally *t, struct index *ix)
{
    sqlite3_stmt *st = NULL;
    int err = t->used > 0 ? take(&st, ix, "SELECT kind, value FROM"
                                 " facet_value WHERE id = ?")
                          : 0;

    for (size_t i = 0; i < t->cap && err == 0; i++) {
        struct tally_slot *s = &t->slot[i];
        int rc;

        if (s->id == 0)
            continue;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, s->id);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            err = from_sqlite(ix, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                              "cannot read a facet value");
            break;
        }
        s->kind = sqlite3_column_int(st, 0);
        s->value = strdup((const char *)sqlite3_column_text(st, 1));
        if (s->value == NULL)
            err = OER_ENOMEM;
    }
    give(ix, st);
    return err;
}

static void tally_free(struct tally *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slot[i].value);
    free(t->slot);
    if (t->rows != NULL)
        give(t->ix, t->rows);
}

/* Facet order: by facet, most frequent first, then by value (bytes). */
static int slot_order(const void *a, const void *b)
{
    const struct tally_slot *x = a, *y = b;

    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->value, y->value);
}

/* ---- reading the hits ---- */

/* A hit to rank: its bm25, then scaled by its paradata (page_ranked). */
struct scored {
    sqlite3_int64 row;
    double score;
    char *id;
};

struct scan {
    json_int_t hits;    /* hits read */
    int more;           /* there are hits past those read */
    sqlite3_int64 page[INDEX_LIMIT_MAX]; /* the page's hits, in order */
    size_t npage;
    struct scored scored[INDEX_RANK_MAX]; /* a ranked search's hits */
    size_t nscored;
};

/* Read hits newest first until the sample is counted and the page is
 * reached, and one more to know whether there are more. */
static int scan_hits(struct scan *sc, struct tally *t, struct search *sr,
                     long sample)
{
    long end = sr->q->offset + sr->q->limit;
    sqlite3_stmt *st = NULL;
    int err = sr->none ? 0 : take(&st, sr->ix, stream_sql);
    int rc = SQLITE_DONE;

    if (st == NULL)
        return err;
    sqlite3_bind_text(st, 1, sr->match, -1, SQLITE_STATIC);
    while (err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 row = sqlite3_column_int64(st, 0);

        if (sc->hits >= sample && sc->hits >= end) {
            sc->more = 1;
            break;
        }
        if (sc->hits < sample)
            err = tally_doc(t, sr->ix, row);
        if (sc->hits >= sr->q->offset && sc->hits < end)
            sc->page[sc->npage++] = row;
        if (sr->rankable && sc->nscored < INDEX_RANK_MAX)
            sc->scored[sc->nscored++] = (struct scored){ row, 0, NULL };
        sc->hits++;
    }
    if (err == 0)
        err = from_sqlite(sr->ix, rc, "cannot read hits");
    give(sr->ix, st);
    return err;
}

static int by_row(const void *a, const void *b)
{
    sqlite3_int64 x = ((const struct scored *)a)->row;
    sqlite3_int64 y = ((const struct scored *)b)->row;

    return x < y ? -1 : x > y;
}

/* The bm25 of the words for each hit scan_hits kept (in rowid order):
 * the documents of the words, at most INDEX_RANK_MAX, scored. */
static int score_hits(struct scan *sc, struct search *sr)
{
    sqlite3_stmt *st = NULL;
    int err = take(&st, sr->ix, scored_sql), rc = SQLITE_DONE;
    size_t found = 0;

    if (err != 0)
        return err;
    sqlite3_bind_text(st, 1, sr->text, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct scored key = { sqlite3_column_int64(st, 0), 0, NULL };
        struct scored *h = bsearch(&key, sc->scored, sc->nscored,
                                   sizeof(key), by_row);

        if (h != NULL) {
            h->score = sqlite3_column_double(st, 1);
            found++;
        }
    }
    err = from_sqlite(sr->ix, rc, "cannot rank hits");
    give(sr->ix, st);
    /* every hit matches the words: a miss is a damaged index */
    if (err == 0 && found != sc->nscored)
        err = from_sqlite(sr->ix, SQLITE_CORRUPT, "cannot rank hits");
    return err;
}

/* One facet value: a level or subject, with vocabularies, also has its
 * label in the searcher's language. */
static json_t *facet_json(const struct search *sr, int k, const char *value,
                          json_int_t count)
{
    const char *label = NULL;
    json_t *out = json_pack("{s:s,s:I}", "value", value, "count", count);

    if (sr->ix->vocab == NULL || (k != INDEX_LEVEL && k != INDEX_SUBJECT))
        return out;
    label = is_key(value) ? vocab_key_label(sr->ix->vocab, value, sr->q->lang)
                          : NULL;
    if (out != NULL)
        json_object_set_new(out, "label",
                            json_string(label != NULL ? label : value));
    return out;
}

/* The facets of the answer from the tally. */
static int tally_json(json_t *facets, struct tally *t, struct search *sr)
{
    struct tally_slot *all = malloc((t->used > 0 ? t->used : 1) *
                                    sizeof(*all));
    size_t n = 0;
    int err = all != NULL ? tally_values(t, sr->ix) : OER_ENOMEM;

    if (err != 0) {
        free(all);
        return err;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slot[i].value != NULL)
            all[n++] = t->slot[i];
    }
    qsort(all, n, sizeof(*all), slot_order);
    for (size_t i = 0; i < n; i++) {
        json_t *list = all[i].kind >= 0 && all[i].kind < INDEX_FACETS
                           ? json_object_get(facets,
                                             facet_names[all[i].kind])
                           : NULL;

        if (list == NULL || json_array_size(list) >= FACET_VALUES)
            continue;
        json_array_append_new(list, facet_json(sr, all[i].kind,
                                               all[i].value,
                                               (json_int_t)all[i].n));
    }
    free(all);
    return 0;
}

/* The title in lang, else the first. */
static json_t *hit_title(const json_t *titles, const char *lang)
{
    json_t *t = lang != NULL ? json_object_get(titles, lang) : NULL;
    void *it = json_object_iter((json_t *)titles);

    if (t == NULL && it != NULL)
        t = json_object_iter_value(it);
    return t != NULL ? json_incref(t) : json_string("");
}

/* One level term of a hit: the origin's term with its label in the
 * searcher's language, and its equivalent in the searcher's system. */
static json_t *hit_level(const struct search *sr, const json_t *term,
                         const char *origin)
{
    const struct vocab *v = sr->ix->vocab;
    const char *value = json_string_value(json_object_get(term, "value"));
    const char *source = json_string_value(json_object_get(term, "source"));
    const struct vocab_term *t = NULL, *e = NULL;
    const char *sys = sr->q->system, *lang = sr->q->lang;
    enum vocab_match m = VOCAB_EXACT;
    json_t *out, *label;

    if (value == NULL)
        return NULL;
    if (source == NULL)
        source = "";
    if (v != NULL)
        t = vocab_resolve(v, VOCAB_LEVEL, source, value,
                          origin_system(v, origin));
    if (t != NULL && sys != NULL && sys[0] != '\0')
        e = vocab_equivalent(&m, v, t, sys);
    label = json_object_get(json_object_get(term, "label"),
                            lang != NULL ? lang : "");
    out = json_pack("{s:s,s:s,s:s}", "source", source, "value", value,
                    "label", t != NULL ? vocab_term_label(t, lang)
                             : json_is_string(label) ? json_string_value(label)
                                                     : value);
    if (out != NULL && t != NULL)
        json_object_set_new(out, "system",
                            json_string(vocab_term_system(t)));
    if (out != NULL && e != NULL)
        json_object_set_new(out, "equivalent",
                            json_pack("{s:s,s:s,s:s,s:s}", "system", sys,
                                      "id", vocab_term_id(e), "label",
                                      vocab_term_label(e, lang), "match",
                                      vocab_match_name(m)));
    return out;
}

static json_t *hit_levels(const struct search *sr, const char *text,
                          const char *origin)
{
    json_t *terms = json_loads(text != NULL ? text : "[]", 0, NULL);
    json_t *out = json_array(), *term;
    size_t i;

    json_array_foreach(terms, i, term) {
        json_t *l = hit_level(sr, term, origin);

        if (l != NULL)
            json_array_append_new(out, l);
    }
    json_decref(terms);
    return out;
}

json_t *index_levels(struct index *ix, const json_t *levels,
                     const char *origin, const char *system,
                     const char *lang)
{
    struct index_query q = {.system = system, .lang = lang};
    struct search sr = {.ix = ix, .q = &q};
    json_t *out = json_array(), *term;
    size_t i;

    json_array_foreach(levels, i, term) {
        json_t *l = hit_level(&sr, term, origin);

        if (l != NULL && json_array_append_new(out, l) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *hit_json(sqlite3_stmt *st, const struct search *sr)
{
    json_t *titles = json_loads((const char *)sqlite3_column_text(st, 2), 0,
                                NULL);
    json_t *hit;

    if (titles == NULL)
        titles = json_object();
    hit = json_pack("{s:s,s:s,s:o,s:o,s:s,s:o,s:{s:f,s:I},s:I}",
                    "id", (const char *)sqlite3_column_text(st, 0),
                    "licence", (const char *)sqlite3_column_text(st, 1),
                    "title", hit_title(titles, sr->q->lang), "titles", titles,
                    "updated", (const char *)sqlite3_column_text(st, 3),
                    "levels",
                    hit_levels(sr, (const char *)sqlite3_column_text(st, 4),
                               (const char *)sqlite3_column_text(st, 5)),
                    "rating", "average", sqlite3_column_double(st, 6),
                    "count", (json_int_t)sqlite3_column_int64(st, 7),
                    "downloads", (json_int_t)sqlite3_column_int64(st, 8));
    return hit;
}

/* The columns of a hit: the document's, then its paradata. */
#define AVG_RATING                                                         \
    "coalesce((SELECT avg(rating) FROM para.rating r WHERE r.id = d.id),"  \
    " 0.0)"
#define DOWNLOADS                                                          \
    "coalesce((SELECT n FROM para.download w WHERE w.id = d.id), 0)"
#define HIT_COLUMNS                                                        \
    "d.id, d.licence, d.titles, d.updated, d.levels, d.origin, "           \
    AVG_RATING ", (SELECT count(*) FROM para.rating r WHERE r.id = d.id), " \
    DOWNLOADS

static const char newest_sql[] =
    "SELECT " HIT_COLUMNS " FROM doc d ORDER BY d.rowid LIMIT ? OFFSET ?";
static const char row_sql[] =
    "SELECT " HIT_COLUMNS " FROM doc d WHERE d.rowid = ?";

/* Append the hits st gives (reset or fresh, bound) to hits. */
static int read_hits(json_t *hits, sqlite3_stmt *st, struct search *sr)
{
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (json_array_append_new(hits, hit_json(st, sr)) != 0)
            return OER_ENOMEM;
    }
    return from_sqlite(sr->ix, rc, "cannot read hits");
}

/* The page of a search without words or filters: the newest of all
 * documents. */
static int page_newest(json_t *hits, struct search *sr)
{
    sqlite3_stmt *st = NULL;
    int err = take(&st, sr->ix, newest_sql);

    if (err != 0)
        return err;
    sqlite3_bind_int64(st, 1, sr->q->limit);
    sqlite3_bind_int64(st, 2, sr->q->offset);
    err = read_hits(hits, st, sr);
    give(sr->ix, st);
    return err;
}

/* The page: the hits the scan kept, by rowid. */
static int page_rows(json_t *hits, struct search *sr, const struct scan *sc)
{
    sqlite3_stmt *st = NULL;
    int err = 0;

    if (sc->npage > 0)
        err = take(&st, sr->ix, row_sql);
    for (size_t i = 0; i < sc->npage && err == 0; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, sc->page[i]);
        err = read_hits(hits, st, sr);
    }
    give(sr->ix, st);
    return err;
}

static int scored_order(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;

    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

/*
 * The page of a ranked search, from the hits the scan scored (all of
 * them: ranking needs the set read whole): bm25 is negative, lower is
 * better, and a mild boost scales it by up to 10% for a rating away from
 * 3 and up to 10% for 100 downloads or more; then by id.
 */
static int page_ranked(json_t *hits, struct search *sr, struct scan *sc)
{
    sqlite3_stmt *st = NULL;
    int err = take(&st, sr->ix,
                      "SELECT d.id, " AVG_RATING ", " DOWNLOADS
                      " FROM doc d WHERE d.rowid = ?");
    size_t i;

    for (i = 0; i < sc->nscored && err == 0; i++) {
        struct scored *h = &sc->scored[i];
        double rating, downloads;
        int rc;

        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, h->row);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            err = from_sqlite(sr->ix, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                              "cannot read a hit");
            break;
        }
        rating = sqlite3_column_double(st, 1);
        downloads = sqlite3_column_double(st, 2);
        h->score *= 1.0 + (rating > 0 ? (rating - 3.0) * 0.05 : 0) +
                    (downloads < 100 ? downloads : 100) / 1000.0;
        h->id = strdup((const char *)sqlite3_column_text(st, 0));
        if (h->id == NULL)
            err = OER_ENOMEM;
    }
    give(sr->ix, st);
    if (err == 0) {
        qsort(sc->scored, sc->nscored, sizeof(*sc->scored), scored_order);
        sc->npage = 0;
        for (i = (size_t)sr->q->offset;
             i < sc->nscored && sc->npage < (size_t)sr->q->limit; i++)
            sc->page[sc->npage++] = sc->scored[i].row;
        err = page_rows(hits, sr, sc);
    }
    for (i = 0; i < sc->nscored; i++)
        free(sc->scored[i].id);
    return err;
}

static json_t *empty_facets(void)
{
    json_t *facets = json_object();

    for (int k = 0; k < INDEX_FACETS && facets != NULL; k++) {
        if (json_object_set_new(facets, facet_names[k], json_array()) != 0) {
            json_decref(facets);
            return NULL;
        }
    }
    return facets;
}

/* The facet counts of every document, kept by the triggers. */
static int whole_facets(json_t *facets, struct search *sr)
{
    sqlite3_stmt *st = NULL;
    int err, rc = SQLITE_DONE;

    err = take(&st, sr->ix, "SELECT kind, value, n FROM facet_count"
                  " WHERE kind >= 0 ORDER BY kind, n DESC, value");
    while (err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int k = sqlite3_column_int(st, 0);
        json_t *list = k < INDEX_FACETS
                           ? json_object_get(facets, facet_names[k])
                           : NULL;

        if (list == NULL || json_array_size(list) >= FACET_VALUES)
            continue;
        if (json_array_append_new(
                list, facet_json(sr, k,
                                 (const char *)sqlite3_column_text(st, 1),
                                 (json_int_t)sqlite3_column_int64(st, 2))) !=
            0)
            err = OER_ENOMEM;
    }
    if (err == 0)
        err = from_sqlite(sr->ix, rc, "cannot count facets");
    give(sr->ix, st);
    return err;
}

/* What a search found, besides its hits and facets. */
struct found {
    json_int_t total;   /* hits, or (not exact) hits read */
    json_int_t counted; /* the hits the facets count */
    int exact;
    int ranked;
};

/* A search with words or filters: scan the hits, then the page. */
static int search_scan(struct found *f, json_t *hits, json_t *facets,
                       struct search *sr)
{
    long sample = sr->q->sample > 0 ? sr->q->sample : INDEX_SAMPLE;
    struct tally t = { NULL, 0, 0, NULL, NULL };
    struct scan *sc = calloc(1, sizeof(*sc));
    sqlite3_int64 few = 0;
    int err = sc != NULL ? 0 : OER_ENOMEM;

    if (err == 0 && sr->words != NULL && sr->q->sort != INDEX_SORT_NEWEST)
        err = count_of(&few, sr->ix, probe_sql, INDEX_RANK_MAX + 1, sr->text);
    sr->rankable = few != 0;
    if (err == 0)
        err = scan_hits(sc, &t, sr, sample);
    if (err == 0) {
        f->total = sc->hits;
        f->counted = sc->hits < sample ? sc->hits : sample;
        /* exact: every hit read, and every hit read counted */
        f->exact = !sc->more && sc->hits <= sample;
        /* rank the hits of words few enough, every hit read */
        f->ranked = sr->rankable && !sc->more && sc->hits <= INDEX_RANK_MAX;
    }
    if (err == 0 && f->ranked && sc->hits > 0)
        err = score_hits(sc, sr);
    if (err == 0)
        err = f->ranked ? page_ranked(hits, sr, sc) : page_rows(hits, sr, sc);
    if (err == 0)
        err = tally_json(facets, &t, sr);
    tally_free(&t);
    free(sc);
    return err;
}

int index_search(json_t **out, struct index *ix, const struct index_query *q)
{
    struct search sr = { .ix = ix, .q = q };
    struct found f = { 0, 0, 1, 0 };
    json_t *hits = NULL, *facets = NULL;
    sqlite3_int64 all = 0;
    int err;

    *out = NULL;
    if (q->limit < 0 || q->limit > INDEX_LIMIT_MAX || q->offset < 0 ||
        q->offset > INDEX_OFFSET_MAX || q->sample < 0 ||
        !index_utf8(q->lang) || !index_utf8(q->system))
        return OER_EINVAL;
    err = index_query_fts(&sr.words, q->text);
    if (err != 0)
        return err;
    if (sr.words[0] == '\0') {
        free(sr.words);
        sr.words = NULL;
    }
    err = search_keys(&sr);
    if (err == 0)
        err = search_match(&sr);
    hits = json_array();
    facets = empty_facets();
    if (err == 0 && (hits == NULL || facets == NULL))
        err = OER_ENOMEM;
    /* one read transaction: every count sees the same state */
    if (err == 0 && (err = kept_exec(ix, "BEGIN", "cannot begin")) == 0) {
        if (sr.words != NULL || has_filters(&sr)) {
            err = search_scan(&f, hits, facets, &sr);
        } else {
            err = count_of(&all, ix, doc_count_sql, -1, NULL);
            f.total = f.counted = all;
            if (err == 0)
                err = page_newest(hits, &sr);
            if (err == 0)
                err = whole_facets(facets, &sr);
        }
        kept_exec(ix, "COMMIT", "cannot end a read");
    }
    if (err == 0)
        *out = json_pack("{s:I,s:b,s:I,s:I,s:I,s:s,s:o,s:o}", "total",
                         f.total, "exact", f.exact, "counted", f.counted,
                         "offset", (json_int_t)q->offset, "limit",
                         (json_int_t)q->limit, "order",
                         f.ranked ? "rank" : "updated", "hits", hits,
                         "facets", facets);
    else {
        json_decref(hits);
        json_decref(facets);
    }
    free(sr.words);
    sqlite3_free(sr.text);
    sqlite3_free(sr.match);
    for (int k = 0; k < INDEX_FACETS; k++)
        json_decref(sr.keys[k]);
    return err != 0 ? err : *out != NULL ? 0 : OER_ENOMEM;
}

int index_count(long long *out, struct index *ix, enum index_facet f,
                const char *value)
{
    sqlite3_int64 n = 0;
    int err = count_of(&n, ix, value_count_sql, f, value);

    *out = n;
    return err;
}
