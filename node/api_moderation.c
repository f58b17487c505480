/*
 * api_moderation: the submission and moderation routes.  Each request
 * authenticates its bearer token, checks the role its route needs, and
 * works on the queue table of DATA/accounts.sqlite through its own
 * connection; publishing holds the queue's write lock while it commits
 * to the store, so a submission is published once.  Uploaded files wait
 * in DATA/queue/ID/, each under its SHA-256, listed in the table
 * submission_files; publishing writes them into the store and the
 * record (their rows stay, so that the submission still lists what went
 * out), rejecting deletes them.
 */
#include "node/api_moderation.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "node/account.h"
#include "node/cmd_add.h"
#include "node/error.h"
#include "node/log.h"
#include "node/metadata.h"
#include "node/store.h"
#include "node/wholefile.h"

#define REASON_MAX 2000

static const char queue_schema[] =
    "CREATE TABLE IF NOT EXISTS submissions("
    " id INTEGER PRIMARY KEY, account TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending', metadata TEXT NOT NULL,"
    " reason TEXT, resource TEXT, moderator TEXT,"
    " created INTEGER NOT NULL, decided INTEGER);"
    "CREATE TABLE IF NOT EXISTS submission_files("
    " submission INTEGER NOT NULL, name TEXT NOT NULL,"
    " media_type TEXT NOT NULL, size INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL, PRIMARY KEY (submission, name));";

/* One request being answered. */
struct call {
    struct http_response *res;
    const struct http_request *req;
    const struct api_moderation *m;
    struct account who;
    sqlite3 *db;
    long long id;       /* the submission of .../submissions/ID */
    const char *action; /* what follows ID/ in the path */
};

int api_moderation_bearer(char *out, size_t cap, const char *header)
{
    const char *t;
    size_t n;

    if (strncasecmp(header, "Bearer ", 7) != 0)
        return OER_EINVAL;
    for (t = header + 7; *t == ' '; t++)
        ;
    for (n = 0; t[n] > ' ' && t[n] < 0x7f; n++)
        ;
    if (n == 0 || n >= cap || t[n + strspn(t + n, " ")] != '\0')
        return OER_EINVAL;
    memcpy(out, t, n);
    out[n] = '\0';
    return 0;
}

int api_moderation_reason(char **out, const char *body, size_t len,
                          const char **code, const char **msg)
{
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *reason = json_object_get(doc, "reason");
    const char *text = json_string_value(reason);
    int err = OER_EINVAL;

    *out = NULL;
    *code = "bad_parameter";
    if (!json_is_object(doc)) {
        *code = "malformed_json";
        *msg = "the body is not a JSON object";
    } else if (json_object_size(doc) != (reason != NULL ? 1u : 0u)) {
        *code = "unknown_parameter";
        *msg = "a reject takes only \"reason\"";
    } else if (text == NULL || text[0] == '\0' ||
               json_string_length(reason) > REASON_MAX ||
               strlen(text) != json_string_length(reason)) {
        *msg = "reason: a non-empty string of at most 2000 bytes";
    } else {
        *out = strdup(text);
        err = *out != NULL ? 0 : OER_ENOMEM;
        *msg = err == 0 ? "" : "out of memory";
    }
    json_decref(doc);
    return err;
}

char *api_moderation_db_path(const char *repo_path)
{
    return store_sibling_path(repo_path, "accounts.sqlite");
}

char *api_moderation_queue_path(const char *repo_path, long long id)
{
    char rel[40];

    snprintf(rel, sizeof(rel), "queue/%lld", id);
    return store_sibling_path(repo_path, rel);
}

/* dir/name, malloc'd; NULL when out of memory. */
static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *path = malloc(a + b + 2);

    if (path == NULL)
        return NULL;
    memcpy(path, dir, a);
    path[a] = '/';
    memcpy(path + a + 1, name, b + 1);
    return path;
}

static long long max_idle(unsigned days)
{
    return (long long)(days != 0 ? days : 365) * 24 * 3600;
}

int api_moderation_expire(const char *repo_path, unsigned days)
{
    char *path = api_moderation_db_path(repo_path);
    struct account_db *db = NULL;
    int err = path != NULL ? account_open(&db, path) : OER_ENOMEM;

    if (err == 0)
        err = account_expire(NULL, db, (long long)time(NULL), max_idle(days));
    account_close(db);
    free(path);
    return err;
}

static void fail_db(struct call *c, const char *what)
{
    log_error("moderation", what, "err", sqlite3_errmsg(c->db), NULL);
    http_response_error(c->res, 503, "queue_unavailable",
                        "the moderation queue cannot be used");
}

/* Who sent the request, into c->who; answers 401 or 503 and returns an
 * error when nobody usable did. */
static int authenticate(struct call *c, const char *path)
{
    char token[ACCOUNT_TOKEN_LEN + 2];
    struct account_db *db = NULL;
    int err;

    if (c->req->authorization[0] == '\0') {
        http_response_error(c->res, 401, "missing_token",
                            "send Authorization: Bearer TOKEN");
        return OER_EINVAL;
    }
    err = api_moderation_bearer(token, sizeof(token), c->req->authorization);
    if (err != 0) {
        /* a token without its scheme is the likely slip */
        http_response_error(c->res, 401, "invalid_token",
                            "the Authorization header is not 'Bearer TOKEN'");
        return err;
    }
    err = account_open(&db, path);
    if (err == 0)
        err = account_authenticate(&c->who, db, token, (long long)time(NULL),
                                   max_idle(c->m->expire_days));
    account_close(db);
    memset(token, 0, sizeof(token));
    if (err == OER_ETIMEOUT)
        http_response_error(c->res, 401, "expired_token",
                            "this token's account has expired");
    else if (err == OER_EINVAL || err == OER_ENOTFOUND)
        http_response_error(c->res, 401, "invalid_token",
                            "no account has this token");
    else if (err != 0)
        http_response_error(c->res, 503, "accounts_unavailable",
                            "the accounts cannot be read");
    return err;
}

static int open_queue(struct call *c, const char *path)
{
    if (sqlite3_open_v2(path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(c->db, 5000) != SQLITE_OK ||
        sqlite3_exec(c->db, queue_schema, NULL, NULL, NULL) != SQLITE_OK) {
        fail_db(c, "cannot open the moderation queue");
        return OER_EIO;
    }
    return 0;
}

/* The files uploaded to submission id, in name order: [{name,
 * media_type, size, sha256}]; NULL after answering 503. */
static json_t *files_of(struct call *c, long long id)
{
    sqlite3_stmt *st = NULL;
    json_t *list = json_array();
    int rc;

    if (sqlite3_prepare_v2(c->db,
                           "SELECT name, media_type, size, sha256"
                           " FROM submission_files WHERE submission = ?1"
                           " ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK) {
        fail_db(c, "cannot read the files of a submission");
        json_decref(list);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:I,s:s}", "name",
                            (const char *)sqlite3_column_text(st, 0),
                            "media_type",
                            (const char *)sqlite3_column_text(st, 1), "size",
                            (json_int_t)sqlite3_column_int64(st, 2), "sha256",
                            (const char *)sqlite3_column_text(st, 3)));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fail_db(c, "cannot read the files of a submission");
        json_decref(list);
        return NULL;
    }
    return list;
}

/* Give row its "files"; 0, or an error after answering 503. */
static int attach_files(struct call *c, json_t *row)
{
    json_t *files =
        files_of(c, json_integer_value(json_object_get(row, "id")));

    if (files == NULL)
        return OER_EIO;
    json_object_set_new(row, "files", files);
    return 0;
}

/* A submission row as JSON: id, account, state, metadata, created and,
 * once decided, reason or resource, moderator, decided. */
static json_t *row_json(sqlite3_stmt *st)
{
    const char *keys[] = {"account", "state", "reason", "resource",
                          "moderator"};
    const char *meta = (const char *)sqlite3_column_text(st, 3);
    json_t *o = json_object();

    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
    for (int i = 0; i < 5; i++) {
        const char *v =
            (const char *)sqlite3_column_text(st, i < 2 ? i + 1 : i + 2);
        if (v != NULL)
            json_object_set_new(o, keys[i], json_string(v));
    }
    json_object_set_new(o, "metadata",
                        json_loads(meta != NULL ? meta : "{}", 0, NULL));
    json_object_set_new(o, "created",
                        json_integer(sqlite3_column_int64(st, 7)));
    if (sqlite3_column_type(st, 8) != SQLITE_NULL)
        json_object_set_new(o, "decided",
                            json_integer(sqlite3_column_int64(st, 8)));
    return o;
}

#define ROW_COLUMNS                                                            \
    "SELECT id, account, state, metadata, reason, resource, moderator,"        \
    " created, decided FROM submissions "

/* Answer with the rows of sql (one text parameter, may be NULL). */
static void list(struct call *c, const char *sql, const char *param)
{
    sqlite3_stmt *st = NULL;
    json_t *items = json_array();
    int rc;

    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail_db(c, "cannot read the moderation queue");
        json_decref(items);
        return;
    }
    if (param != NULL)
        sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = row_json(st);

        json_array_append_new(items, row);
        if (attach_files(c, row) != 0)
            break;
    }
    sqlite3_finalize(st);
    if (c->res->status != 0 || rc != SQLITE_DONE) {
        if (c->res->status == 0)
            fail_db(c, "cannot read the moderation queue");
        json_decref(items);
        return;
    }
    http_response_json(c->res, 200, json_pack("{s:o}", "items", items));
}

/* The submission c->id into *out (a new reference): 0, or an error after
 * answering 404 or 503. */
static int get_row(json_t **out, struct call *c)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *out = NULL;
    if (sqlite3_prepare_v2(c->db, ROW_COLUMNS "WHERE id = ?1", -1, &st, NULL) !=
        SQLITE_OK) {
        fail_db(c, "cannot read the moderation queue");
        return OER_EIO;
    }
    sqlite3_bind_int64(st, 1, c->id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = row_json(st);
    sqlite3_finalize(st);
    if (*out != NULL && attach_files(c, *out) != 0) {
        json_decref(*out);
        *out = NULL;
        return OER_EIO;
    }
    if (rc == SQLITE_DONE)
        http_response_error(c->res, 404, "not_found", "no such submission");
    else if (rc != SQLITE_ROW)
        fail_db(c, "cannot read the moderation queue");
    return *out != NULL ? 0 : OER_ENOTFOUND;
}

/* Answer 422 invalid_metadata with what e says is wrong. */
static void answer_invalid(struct call *c, const struct metadata_error *e)
{
    http_response_json(c->res, 422,
                       json_pack("{s:{s:s,s:s,s:s,s:s}}", "error", "code",
                                 "invalid_metadata", "message", e->detail,
                                 "field", e->field, "problem",
                                 metadata_problem_name(e->problem)));
}

/* The body as a valid submission, canonical, into *out (malloc'd); or an
 * error after answering 400 or 422. */
static int read_metadata(char **out, struct call *c)
{
    struct metadata_error e = {0};
    json_t *doc = NULL;
    size_t len;
    int err;

    *out = NULL;
    if (c->req->body_len == 0) {
        http_response_error(c->res, 400, "malformed_json",
                            "the body is empty: a JSON metadata document "
                            "is expected (Content-Type: application/json)");
        return OER_EINVAL;
    }
    err = metadata_parse(&doc, c->req->body, c->req->body_len, &e);
    if (err != 0) {
        http_response_error(c->res, 400, "malformed_json", e.detail);
        return err;
    }
    err = metadata_validate(doc, METADATA_STRICT | METADATA_SUBMISSION, &e);
    if (err == 0 && (json_object_get(doc, "id") != NULL ||
                     json_object_get(doc, "updated") != NULL)) {
        snprintf(e.field, sizeof(e.field), "%s",
                 json_object_get(doc, "id") != NULL ? "id" : "updated");
        snprintf(e.detail, sizeof(e.detail), "set by the node on publishing");
        e.problem = METADATA_UNKNOWN_FIELD;
        err = OER_EINVAL;
    }
    if (err == 0)
        err = metadata_canonical(out, &len, doc);
    json_decref(doc);
    if (err == OER_EINVAL)
        answer_invalid(c, &e);
    else if (err != 0)
        http_response_error(c->res, 500, "no_memory", "out of memory");
    return err;
}

/* Run sql binding ?1 to text a (or c->id when NULL), ?2 to text b, ?3 to
 * c->who.name, ?4 to the time; the number of rows changed, or -1 after
 * answering 503. */
static int change(struct call *c, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail_db(c, "cannot change the moderation queue");
        return -1;
    }
    if (a != NULL)
        sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, c->id);
    sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, c->who.name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, (long long)time(NULL));
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fail_db(c, "cannot change the moderation queue");
        return -1;
    }
    return sqlite3_changes(c->db);
}

static void answer_row(struct call *c, unsigned status)
{
    json_t *row = NULL;

    if (get_row(&row, c) == 0)
        http_response_json(c->res, status, row);
}

/* POST /api/submissions */
static void on_submit(struct call *c)
{
    char *meta = NULL;

    if (read_metadata(&meta, c) != 0)
        return;
    if (change(c,
               "INSERT INTO submissions(metadata, account, created)"
               " VALUES (?2, ?3, ?4)",
               "", meta) == 1) {
        c->id = sqlite3_last_insert_rowid(c->db);
        log_info("moderation", "submitted", "account", c->who.name, NULL);
        answer_row(c, 201);
    }
    free(meta);
}

/* GET /api/submissions: the caller's own */
static void on_mine(struct call *c)
{
    list(c, ROW_COLUMNS "WHERE account = ?1 ORDER BY id", c->who.name);
}

/* Whether the caller submitted row or moderates. */
static int submitter_or_moderator(const struct call *c, const json_t *row)
{
    const char *owner = json_string_value(json_object_get(row, "account"));

    return c->who.role >= ACCOUNT_MODERATOR ||
           (owner != NULL && strcmp(owner, c->who.name) == 0);
}

/* GET /api/submissions/ID: one of the caller's own, or any for a
 * moderator */
static void on_one(struct call *c)
{
    json_t *row = NULL;

    if (get_row(&row, c) != 0)
        return;
    if (submitter_or_moderator(c, row)) {
        http_response_json(c->res, 200, row);
        return;
    }
    json_decref(row);
    http_response_error(c->res, 403, "forbidden",
                        "a submission is shown to its contributor and to "
                        "moderators");
}

/* GET /api/moderation/queue */
static void on_queue(struct call *c)
{
    list(c, ROW_COLUMNS "WHERE state = 'pending' ORDER BY id", NULL);
}

/* 409 unless the submission row is pending; 0 when it is. */
static int pending(struct call *c, const json_t *row)
{
    const char *state = json_string_value(json_object_get(row, "state"));

    if (state != NULL && strcmp(state, "pending") == 0)
        return 0;
    http_response_error(c->res, 409, "not_pending",
                        "this submission has been decided already");
    return OER_ECONFLICT;
}

/* Remove DATA/queue/ID and the files in it. */
static void remove_queue(struct call *c)
{
    char *dir = api_moderation_queue_path(c->m->repo_path, c->id);
    DIR *d = dir != NULL ? opendir(dir) : NULL;
    struct dirent *e;
    char *path;

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        path = join(dir, e->d_name);
        if (path != NULL && unlink(path) != 0 && errno != ENOENT)
            log_warn("moderation", "cannot remove a queued file", "path",
                     path, NULL);
        free(path);
    }
    if (d != NULL)
        closedir(d);
    if (dir != NULL && rmdir(dir) != 0 && errno != ENOENT)
        log_warn("moderation", "cannot remove a queue folder", "path", dir,
                 NULL);
    free(dir);
}

/* Remove the queued content sha of the submission unless one of its
 * files still names it, under the queue's write lock. */
static void drop_unused(struct call *c, const char *sha)
{
    char *dir = api_moderation_queue_path(c->m->repo_path, c->id);
    char *path = dir != NULL ? join(dir, sha) : NULL;
    sqlite3_stmt *st = NULL;
    int used = 1, locked;

    locked = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
             SQLITE_OK;
    if (locked && path != NULL &&
        sqlite3_prepare_v2(c->db,
                           "SELECT 1 FROM submission_files"
                           " WHERE submission = ?1 AND sha256 = ?2",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, c->id);
        sqlite3_bind_text(st, 2, sha, -1, SQLITE_TRANSIENT);
        used = sqlite3_step(st) != SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (!used && unlink(path) != 0 && errno != ENOENT)
        log_warn("moderation", "cannot remove a queued file", "path", path,
                 NULL);
    if (locked)
        sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    free(path);
    free(dir);
}

/* 403 unless the caller submitted row or moderates; 0 when it may add
 * files to it. */
static int may_upload(struct call *c, const json_t *row)
{
    if (submitter_or_moderator(c, row))
        return 0;
    http_response_error(c->res, 403, "forbidden",
                        "only its contributor or a moderator may add files "
                        "to a submission");
    return OER_EINVAL;
}

/* The NAME of .../files/NAME, checked as the name of a file entry of the
 * submission's metadata (docs/METADATA.md) and normalised to NFC, into
 * *out (malloc'd); or an error after answering 400 bad_name. */
static int file_name(char **out, struct call *c, const json_t *row)
{
    static const char zeros[] = "0000000000000000000000000000000000000000"
                                "000000000000000000000000";
    const char *raw = c->action + strlen("files/");
    struct metadata_error e = {0};
    json_t *doc = json_deep_copy(json_object_get(row, "metadata"));
    json_t *entry = json_pack("{s:o,s:s,s:i,s:s#,s:s}", "name",
                              json_stringn_nocheck(raw, strlen(raw)),
                              "media_type", "application/octet-stream",
                              "size", 0, "blob", zeros, (size_t)40, "sha256",
                              zeros);
    int err = doc != NULL && entry != NULL ? 0 : OER_ENOMEM;

    *out = NULL;
    if (err == 0 && json_object_set_new(doc, "files",
                                        json_pack("[O]", entry)) != 0)
        err = OER_ENOMEM;
    if (err == 0)
        err = metadata_validate(doc, METADATA_STRICT | METADATA_SUBMISSION,
                                &e);
    if (err == 0) {
        *out = strdup(json_string_value(json_object_get(entry, "name")));
        err = *out != NULL ? 0 : OER_ENOMEM;
    }
    if (err == OER_EINVAL)
        http_response_json(c->res, 400,
                           json_pack("{s:{s:s,s:s,s:s}}", "error", "code",
                                     "bad_name", "message", e.detail,
                                     "problem",
                                     metadata_problem_name(e.problem)));
    else if (err != 0)
        http_response_error(c->res, 500, "no_memory", "out of memory");
    json_decref(entry);
    json_decref(doc);
    return err;
}

static int sha256_hex(char out[65], const void *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        log_error("moderation", "cannot hash an upload", NULL);
        return OER_ECRYPTO;
    }
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Write the body, synced, into the folder dir under its SHA-256 (hex
 * into sha).  0 or OER_EIO, OER_ENOMEM, OER_ECRYPTO (logged). */
static int write_upload(char sha[65], const char *dir, const char *body,
                        size_t len)
{
    char *tmp = join(dir, ".upload-XXXXXX"), *final = NULL;
    int fd = -1, err = OER_ENOMEM;

    if (tmp == NULL)
        goto out;
    err = OER_EIO;
    fd = mkstemp(tmp);
    if (fd < 0 || wholefile_write_fd(fd, body, len) != 0 || fsync(fd) != 0) {
        log_error("moderation", "cannot write an upload", "path", tmp,
                  "err", strerror(errno), NULL);
        goto out;
    }
    err = sha256_hex(sha, body, len);
    if (err == 0)
        final = join(dir, sha);
    if (err == 0 && final == NULL)
        err = OER_ENOMEM;
    if (err == 0 && rename(tmp, final) != 0) {
        log_error("moderation", "cannot keep an upload", "path", final,
                  "err", strerror(errno), NULL);
        err = OER_EIO;
    }
out:
    if (fd >= 0)
        close(fd);
    if (fd >= 0 && err != 0)
        unlink(tmp);
    free(tmp);
    free(final);
    return err;
}

/* The body into DATA/queue/ID/ (0), or an error after answering 503. */
static int save_body(char sha[65], struct call *c)
{
    char *queue = store_sibling_path(c->m->repo_path, "queue");
    char *dir = api_moderation_queue_path(c->m->repo_path, c->id);
    int err = queue != NULL && dir != NULL ? 0 : OER_ENOMEM;

    if (err == 0 && ((mkdir(queue, 0700) != 0 && errno != EEXIST) ||
                     (mkdir(dir, 0700) != 0 && errno != EEXIST))) {
        log_error("moderation", "cannot make the queue folder", "path", dir,
                  "err", strerror(errno), NULL);
        err = OER_EIO;
    }
    if (err == 0)
        err = write_upload(sha, dir, c->req->body, c->req->body_len);
    if (err != 0)
        http_response_error(c->res, 503, "queue_unavailable",
                            "the file cannot be kept for moderation");
    free(queue);
    free(dir);
    return err;
}

/* The content of file name of the submission before this upload, into
 * old ("" when it is new). */
static void old_content(char old[65], struct call *c, const char *name)
{
    sqlite3_stmt *st = NULL;

    old[0] = '\0';
    if (sqlite3_prepare_v2(c->db,
                           "SELECT sha256 FROM submission_files"
                           " WHERE submission = ?1 AND name = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, c->id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 64)
        memcpy(old, sqlite3_column_text(st, 0), 65);
    sqlite3_finalize(st);
}

/* Keep the body as the file name of the submission, under the queue's
 * write lock (so no other upload's drop_unused removes it before it is
 * listed), unless the submission was decided meanwhile; its SHA-256 into
 * sha ("" when it was not written).  0, or an error after answering. */
static int list_file(char sha[65], char old[65], struct call *c,
                     const char *name)
{
    sqlite3_stmt *st = NULL;
    json_t *row = NULL;
    int rc = SQLITE_ERROR;

    sha[0] = '\0';
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
        SQLITE_OK) {
        fail_db(c, "cannot lock the moderation queue");
        return OER_EIO;
    }
    if (get_row(&row, c) == 0 && pending(c, row) == 0 &&
        save_body(sha, c) == 0) {
        old_content(old, c, name);
        if (sqlite3_prepare_v2(c->db,
                               "INSERT OR REPLACE INTO submission_files"
                               "(submission, name, media_type, size, sha256)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, c->id);
            sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 3, cmd_add_media_type(name), -1,
                              SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, (long long)c->req->body_len);
            sqlite3_bind_text(st, 5, sha, -1, SQLITE_TRANSIENT);
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            fail_db(c, "cannot list an uploaded file");
    }
    json_decref(row);
    if (sqlite3_exec(c->db, rc == SQLITE_DONE ? "COMMIT" : "ROLLBACK", NULL,
                     NULL, NULL) != SQLITE_OK &&
        rc == SQLITE_DONE) {
        fail_db(c, "cannot list an uploaded file");
        rc = SQLITE_ERROR;
    }
    return rc == SQLITE_DONE ? 0 : OER_ECONFLICT;
}

/* PUT /api/submissions/ID/files/NAME: the body is the file NAME of the
 * submission (replacing one of that name), kept in DATA/queue/ID/ until
 * the submission is published or rejected. */
static void on_upload(struct call *c)
{
    char sha[65], old[65] = "";
    json_t *row = NULL;
    char *name = NULL;

    if (get_row(&row, c) != 0 || may_upload(c, row) != 0 ||
        pending(c, row) != 0 || file_name(&name, c, row) != 0)
        goto out;
    if (list_file(sha, old, c, name) != 0) {
        if (sha[0] != '\0')
            drop_unused(c, sha);
        if (c->res->status == 409)
            remove_queue(c);
        goto out;
    }
    if (old[0] != '\0' && strcmp(old, sha) != 0)
        drop_unused(c, old);
    log_info("moderation", "file uploaded", "account", c->who.name, "name",
             name, "sha256", sha, NULL);
    answer_row(c, old[0] != '\0' ? 200 : 201);
out:
    json_decref(row);
    free(name);
}

/* PUT /api/moderation/submissions/ID */
static void on_edit(struct call *c)
{
    json_t *row = NULL;
    char *meta = NULL;

    if (get_row(&row, c) != 0 || pending(c, row) != 0 ||
        read_metadata(&meta, c) != 0)
        goto out;
    if (change(c,
               "UPDATE submissions SET metadata = ?2"
               " WHERE id = ?1 AND state = 'pending'",
               NULL, meta) == 1)
        answer_row(c, 200);
    else if (c->res->status == 0)
        http_response_error(c->res, 409, "not_pending",
                            "this submission has been decided already");
out:
    json_decref(row);
    free(meta);
}

/* POST /api/moderation/submissions/ID/reject */
static void on_reject(struct call *c)
{
    const char *code, *msg;
    json_t *row = NULL;
    char *reason = NULL;

    if (api_moderation_reason(&reason, c->req->body, c->req->body_len, &code,
                              &msg) != 0) {
        http_response_error(c->res, 400, code, msg);
        return;
    }
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        fail_db(c, "cannot lock the moderation queue");
        goto out;
    }
    if (get_row(&row, c) != 0 || pending(c, row) != 0) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    /* the state and the file rows change together; the files go after */
    if (change(c,
               "UPDATE submissions SET state = 'rejected', reason = ?2,"
               " moderator = ?3, decided = ?4"
               " WHERE id = ?1 AND state = 'pending'",
               NULL, reason) == 1 &&
        change(c, "DELETE FROM submission_files WHERE submission = ?1", NULL,
               NULL) >= 0 &&
        sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        log_info("moderation", "rejected", "moderator", c->who.name, NULL);
        remove_queue(c);
        answer_row(c, 200);
    } else {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        if (c->res->status == 0)
            fail_db(c, "cannot record the rejection");
    }
out:
    json_decref(row);
    free(reason);
}

/* entry in place of the file of its name in list, else at its end. */
static int put_entry(json_t *list, json_t *entry)
{
    const char *name = json_string_value(json_object_get(entry, "name"));
    const char *have;
    json_t *e;
    size_t i;

    json_array_foreach(list, i, e) {
        have = json_string_value(json_object_get(e, "name"));
        if (have != NULL && name != NULL && strcmp(have, name) == 0)
            return json_array_set(list, i, entry) == 0 ? 0 : OER_ENOMEM;
    }
    return json_array_append(list, entry) == 0 ? 0 : OER_ENOMEM;
}

/* Write the submission's uploaded files into the store (reachable from
 * refs/content/<origin>) and list them in doc's "files", each replacing
 * an entry of its name.  0, or an error (logged; answered when the queue
 * failed). */
static int add_files(json_t *doc, struct call *c, struct store *s)
{
    json_t *files = files_of(c, c->id), *list = json_object_get(doc, "files");
    char *dir = api_moderation_queue_path(c->m->repo_path, c->id), *path;
    const char *sha;
    struct store_file f;
    json_t *v;
    size_t i;
    int err = files != NULL && dir != NULL ? 0 : OER_EIO;

    if (err == 0 && json_array_size(files) > 0 && !json_is_array(list)) {
        list = json_array();
        json_object_set_new(doc, "files", list);
    }
    json_array_foreach(files, i, v) {
        sha = json_string_value(json_object_get(v, "sha256"));
        path = err == 0 ? join(dir, sha) : NULL;
        if (err == 0)
            err = path != NULL ? store_add_file(&f, s, c->m->node_id, path)
                               : OER_ENOMEM;
        if (err == 0 && strcmp(f.sha256, sha) != 0) {
            log_error("moderation", "a queued file changed", "path", path,
                      NULL);
            err = OER_ECORRUPT;
        }
        if (err == 0) {
            json_object_set_new(v, "blob", json_string(f.blob));
            json_object_set_new(v, "size", json_integer(f.size));
            err = put_entry(list, v);
        }
        free(path);
    }
    json_decref(files);
    free(dir);
    return err;
}

/* Check doc as a record (after its files were added); 0, or an error
 * after answering 422. */
static int check_record(struct call *c, json_t *doc)
{
    struct metadata_error e = {0};
    int err = metadata_validate(doc, METADATA_STRICT, &e);

    if (err == OER_EINVAL)
        answer_invalid(c, &e);
    return err;
}

/* Name doc as a new resource of this node, add the uploaded files and
 * commit it, signed; the resource id goes to id (96 bytes).  Answers
 * and returns an error on failure. */
static int commit(char id[96], struct call *c, json_t *doc, const char *account)
{
    char local[16], now[24], n[24], message[200];
    struct store_batch *b = NULL;
    struct store *s = NULL;
    int err;

    err = doc != NULL ? metadata_local_id(local, NULL) : OER_ECORRUPT;
    if (err == 0) {
        snprintf(id, 96, "%s/%s", c->m->node_id, local);
        metadata_now(now);
        json_object_set_new(doc, "id", json_string(id));
        json_object_set_new(doc, "updated", json_string(now));
    }
    snprintf(message, sizeof(message),
             "publish submission %s of %s, moderated by %s", log_num(n, c->id),
             account, c->who.name);
    if (err == 0)
        err = store_open(&s, c->m->repo_path);
    if (err == 0)
        err = add_files(doc, c, s);
    if (err == 0)
        err = check_record(c, doc);
    if (err == 0)
        err = store_batch_new(&b, s, c->m->node_id);
    if (err == 0)
        err = store_batch_put(b, doc, NULL);
    if (err == 0)
        err = store_batch_commit(NULL, b, c->m->key, message);
    store_batch_free(b);
    store_free(s);
    if (err != 0 && c->res->status == 0)
        http_response_error(c->res, 503, "store_error",
                            "the catalogue cannot be written");
    return err;
}

/* POST /api/moderation/submissions/ID/publish: under the queue's write
 * lock, so that one submission is published once. */
static void on_publish(struct call *c)
{
    json_t *row = NULL, *doc;
    char id[96];
    int done = 0;

    if (c->req->body_len != 0) {
        http_response_error(c->res, 400, "unknown_parameter",
                            "a publish takes no body");
        return;
    }
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        fail_db(c, "cannot lock the moderation queue");
        return;
    }
    if (get_row(&row, c) != 0 || pending(c, row) != 0)
        goto out;
    doc = json_deep_copy(json_object_get(row, "metadata"));
    done = commit(id, c, doc,
                  json_string_value(json_object_get(row, "account"))) == 0 &&
           change(c,
                  "UPDATE submissions SET state = 'published',"
                  " resource = ?2, moderator = ?3, decided = ?4"
                  " WHERE id = ?1",
                  NULL, id) == 1;
    json_decref(doc);
out:
    json_decref(row);
    /* the queued files go only once the queue says published */
    if (done && sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        log_info("moderation", "published", "resource", id, "moderator",
                 c->who.name, NULL);
        remove_queue(c);
        answer_row(c, 200);
        return;
    }
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    if (done)
        fail_db(c, "cannot record the publish");
}

/* One route: method, path (a trailing '/' takes "ID" or "ID/ACTION"
 * after it), the action (ending in '/': a prefix of ACTION), the least
 * role and the handler. */
struct route {
    const char *method;
    const char *path;
    const char *action;
    enum account_role role;
    void (*run)(struct call *c);
};

static const struct route routes[] = {
    {"POST", "/api/submissions", NULL, ACCOUNT_CONTRIBUTOR, on_submit},
    {"GET", "/api/submissions", NULL, ACCOUNT_CONTRIBUTOR, on_mine},
    {"GET", "/api/submissions/", "", ACCOUNT_CONTRIBUTOR, on_one},
    {"GET", "/api/moderation/queue", NULL, ACCOUNT_MODERATOR, on_queue},
    {"PUT", "/api/moderation/submissions/", "", ACCOUNT_MODERATOR, on_edit},
    {"POST", "/api/moderation/submissions/", "publish", ACCOUNT_MODERATOR,
     on_publish},
    {"POST", "/api/moderation/submissions/", "reject", ACCOUNT_MODERATOR,
     on_reject},
    {"PUT", "/api/submissions/", "files/", ACCOUNT_CONTRIBUTOR, on_upload},
    {NULL, NULL, NULL, 0, NULL},
};

/* Parse "ID" or "ID/ACTION" of rest; 0 or OER_EINVAL. */
static int parse_rest(long long *id, const char **action, const char *rest)
{
    char *end;

    if (rest[0] < '1' || rest[0] > '9')
        return OER_EINVAL;
    *id = strtoll(rest, &end, 10);
    if (*end == '/')
        end++;
    else if (*end != '\0')
        return OER_EINVAL;
    *action = end;
    return 0;
}

static int action_is(const char *action, const char *want)
{
    size_t n = strlen(want);

    if (n > 0 && want[n - 1] == '/')
        return strncmp(action, want, n) == 0;
    return strcmp(action, want) == 0;
}

static const struct route *find(struct call *c)
{
    const char *action = NULL;
    size_t n;

    for (const struct route *r = routes; r->method != NULL; r++) {
        n = strlen(r->path);
        if (strcmp(c->req->method, r->method) != 0 ||
            strncmp(c->req->path, r->path, n) != 0)
            continue;
        if (r->action == NULL && c->req->path[n] == '\0')
            return r;
        if (r->action != NULL &&
            parse_rest(&c->id, &action, c->req->path + n) == 0 &&
            action_is(action, r->action)) {
            c->action = action;
            return r;
        }
    }
    return NULL;
}

int api_moderation_account(struct account *who, struct http_response *res,
                           const struct http_request *req,
                           const struct api_moderation *m)
{
    struct call c = {.res = res, .req = req, .m = m};
    char *path = api_moderation_db_path(m->repo_path);
    int err;

    if (path == NULL) {
        http_response_error(res, 500, "no_memory", "out of memory");
        return OER_ENOMEM;
    }
    err = authenticate(&c, path);
    if (err == 0)
        *who = c.who;
    free(path);
    return err;
}

void api_moderation_serve(struct http_response *res,
                          const struct http_request *req,
                          const struct api_moderation *m)
{
    struct call c = {.res = res, .req = req, .m = m};
    const struct route *r = find(&c);
    char *path = api_moderation_db_path(m->repo_path);

    if (path == NULL) {
        http_response_error(res, 500, "no_memory", "out of memory");
        return;
    }
    if (authenticate(&c, path) != 0)
        goto out;
    if (r == NULL) {
        http_response_error(res, 404, "not_found", "no such path");
    } else if (c.who.role < r->role) {
        http_response_error(res, 403, "forbidden",
                            "this needs a moderator's token");
    } else if (req->nargs != 0) {
        http_response_error(res, 400, "unknown_parameter",
                            "this path takes no query parameters");
    } else if (open_queue(&c, path) == 0) {
        r->run(&c);
    }
out:
    sqlite3_close(c.db);
    free(path);
}
