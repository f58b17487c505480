/*
 * api_files: file downloads from the store's blobs, and ratings into the
 * paradata, each on the worker thread that answers the request.
 */
#include "node/api_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "node/error.h"
#include "node/log.h"
#include "node/metadata.h"
#include "node/paradata.h"
#include "node/store.h"

#define ORIGIN_MAX 72
#define LOCAL_MAX 128

/* The parts of ORIGIN/LOCAL/tail; tail points into rest.  0 or -1 when
 * the id is not valid. */
static int split_id(char origin[ORIGIN_MAX], char local[LOCAL_MAX],
                    const char **tail, const char *rest)
{
    const char *a = strchr(rest, '/'), *b = a != NULL ? strchr(a + 1, '/')
                                                      : NULL;

    if (b == NULL || a - rest >= ORIGIN_MAX || b - a - 1 >= LOCAL_MAX)
        return -1;
    snprintf(origin, ORIGIN_MAX, "%.*s", (int)(a - rest), rest);
    snprintf(local, LOCAL_MAX, "%.*s", (int)(b - a - 1), a + 1);
    *tail = b + 1;
    return metadata_valid_origin(origin) && metadata_valid_local_id(local)
               ? 0
               : -1;
}

static int tail_is(const char *rest, const char *what)
{
    const char *a = strchr(rest, '/');
    const char *b = a != NULL ? strchr(a + 1, '/') : NULL;
    size_t n = strlen(what);

    if (b == NULL || strncmp(b + 1, what, n) != 0)
        return 0;
    return what[n - 1] == '/' || b[1 + n] == '\0';
}

int api_files_is_file(const char *rest)
{
    return tail_is(rest, "files/");
}

int api_files_is_rating(const char *rest)
{
    return tail_is(rest, "rating");
}

/* A file name a client may ask for: what docs/METADATA.md allows. */
static int valid_name(const char *name)
{
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            return 0;
    }
    return 1;
}

/* Content-Disposition for name: an ASCII fallback in quotes, with every
 * byte that could end or break it made '_', and the exact name percent-
 * encoded (RFC 6266, RFC 8187). */
static void disposition(char *out, size_t cap, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    n += (size_t)snprintf(out, cap, "attachment; filename=\"");
    for (const unsigned char *p = (const unsigned char *)name;
         *p && n + 2 < cap / 2; p++)
        out[n++] = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' &&
                           *p != '%' && *p != ';'
                       ? (char)*p
                       : '_';
    n += (size_t)snprintf(out + n, cap - n, "\"; filename*=UTF-8''");
    for (const unsigned char *p = (const unsigned char *)name;
         *p && n + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
}

/* A media type safe to send as a header: token/token and parameters of
 * printable ASCII; else application/octet-stream. */
static const char *safe_type(const char *type)
{
    if (type == NULL || strlen(type) >= 64 || strchr(type, '/') == NULL)
        return "application/octet-stream";
    for (const char *p = type; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f)
            return "application/octet-stream";
    }
    return type;
}

/* The bytes of blob hex into the response body; 0 or OER_EIO. */
static int read_blob(struct http_response *res, struct store *s,
                     const char *hex)
{
    git_repository *repo = store_repository(s);
    git_blob *blob = NULL;
    git_oid oid;
    size_t len;

    if (git_oid_fromstr(&oid, hex) != 0 ||
        git_blob_lookup(&blob, repo, &oid) != 0) {
        log_warn("api", "cannot read a file blob", "blob", hex, NULL);
        return OER_EIO;
    }
    len = (size_t)git_blob_rawsize(blob);
    res->body = malloc(len + 1);
    if (res->body != NULL)
        memcpy(res->body, git_blob_rawcontent(blob), len);
    res->len = res->body != NULL ? len : 0;
    git_blob_free(blob);
    return res->body != NULL ? 0 : OER_ENOMEM;
}

static const json_t *find_file(const json_t *doc, const char *name)
{
    const json_t *f;
    size_t i;

    json_array_foreach(json_object_get(doc, "files"), i, f) {
        const char *n = json_string_value(json_object_get(f, "name"));

        if (n != NULL && strcmp(n, name) == 0)
            return f;
    }
    return NULL;
}

static void count_download(const char *repo_path, const char *id)
{
    char *path = paradata_path(repo_path);
    struct paradata *pd = NULL;

    if (path != NULL && paradata_open(&pd, path) == 0)
        paradata_download(pd, id);
    paradata_free(pd);
    free(path);
}

/* Answer with the file of doc, its blob, or where it lives. */
static void send_file(struct http_response *res, struct store *s,
                      const json_t *doc, const json_t *file,
                      const char *repo_path)
{
    const char *blob = json_string_value(json_object_get(file, "blob"));
    const char *url = json_string_value(json_object_get(doc, "source_url"));
    const char *name = json_string_value(json_object_get(file, "name"));

    if (blob != NULL && store_has_blob(s, blob) == 1) {
        if (read_blob(res, s, blob) != 0) {
            http_response_error(res, 500, "store_error",
                                "the file cannot be read");
            return;
        }
        res->status = 200;
        snprintf(res->content_type, sizeof(res->content_type), "%s",
                 safe_type(json_string_value(
                     json_object_get(file, "media_type"))));
        disposition(res->disposition, sizeof(res->disposition), name);
        count_download(repo_path, json_string_value(json_object_get(doc,
                                                                    "id")));
    } else if (url != NULL && metadata_valid_url(url) &&
               strlen(url) < sizeof(res->location)) {
        http_response_error(res, 302, "elsewhere",
                            "this node does not hold the file; see Location");
        snprintf(res->location, sizeof(res->location), "%s", url);
    } else {
        http_response_error(res, 404, "file_not_held",
                            "this node does not hold the file and the record "
                            "names no source_url");
    }
}

void api_files_serve(struct http_response *res,
                     const struct http_request *req, const char *repo_path)
{
    char origin[ORIGIN_MAX], local[LOCAL_MAX];
    const char *tail, *name;
    const json_t *file;
    struct store *s = NULL;
    json_t *doc = NULL;
    int err;

    if (split_id(origin, local, &tail, req->rest) != 0) {
        http_response_error(res, 400, "bad_id",
                            "a resource id is ORIGIN/LOCAL-ID");
        return;
    }
    name = tail + strlen("files/");
    if (!valid_name(name)) {
        http_response_error(res, 400, "bad_name",
                            "a file name has no '/', '\\' or control "
                            "character and is not '.' or '..'");
        return;
    }
    if (store_open(&s, repo_path) != 0) {
        http_response_error(res, 503, "store_unavailable",
                            "the node's store cannot be opened");
        return;
    }
    err = store_get(&doc, s, origin, local);
    file = err == 0 && !metadata_is_tombstone(doc) ? find_file(doc, name)
                                                   : NULL;
    if (file != NULL)
        send_file(res, s, doc, file, repo_path);
    else if (err == 0 || err == OER_ENOTFOUND)
        http_response_error(res, 404, "not_found", "no such file");
    else
        http_response_error(res, 500, "store_error",
                            "the resource cannot be read");
    json_decref(doc);
    store_free(s);
}

/* The rating of the body {"rating": N} (that key alone), or 0 when it
 * is not one. */
static int body_rating(const struct http_request *req)
{
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *r = json_object_get(body, "rating");
    json_int_t n = json_is_integer(r) && json_object_size(body) == 1
                       ? json_integer_value(r)
                       : 0;

    json_decref(body);
    return n >= 1 && n <= 5 ? (int)n : 0;
}

void api_files_rate(struct http_response *res, const struct http_request *req,
                    const char *repo_path, const char *rater)
{
    char origin[ORIGIN_MAX], local[LOCAL_MAX], id[ORIGIN_MAX + LOCAL_MAX];
    const char *tail;
    char *path = NULL;
    struct paradata *pd = NULL;
    struct store *s = NULL;
    json_t *doc = NULL;
    double avg = 0;
    long long n = 0, dl = 0;
    int rating = body_rating(req), err;

    if (split_id(origin, local, &tail, req->rest) != 0) {
        http_response_error(res, 400, "bad_id",
                            "a resource id is ORIGIN/LOCAL-ID");
        return;
    }
    if (rating == 0) {
        http_response_error(res, 400, "bad_rating",
                            "the body is {\"rating\": N}, N from 1 to 5");
        return;
    }
    err = store_open(&s, repo_path);
    if (err == 0)
        err = store_get(&doc, s, origin, local);
    if (err == 0 && metadata_is_tombstone(doc))
        err = OER_ENOTFOUND;
    json_decref(doc);
    store_free(s);
    if (err == OER_ENOTFOUND) {
        http_response_error(res, 404, "not_found", "no such resource");
        return;
    }
    snprintf(id, sizeof(id), "%s/%s", origin, local);
    path = paradata_path(repo_path);
    if (err == 0)
        err = path != NULL ? paradata_open(&pd, path) : OER_ENOMEM;
    if (err == 0)
        err = paradata_rate(pd, id, rater, rating);
    if (err == 0)
        err = paradata_get(pd, id, &avg, &n, &dl);
    if (err == 0)
        http_response_json(res, 200,
                           json_pack("{s:s,s:{s:f,s:I},s:I}", "id", id,
                                     "rating", "average", avg, "count",
                                     (json_int_t)n, "downloads",
                                     (json_int_t)dl));
    else
        http_response_error(res, 503, "paradata_unavailable",
                            "the rating cannot be recorded");
    paradata_free(pd);
    free(path);
}
