/*
 * api_search: GET /api/search and the search parameters: one store per
 * request, opened and closed on the worker thread that answers it, and a
 * SQLite connection from the index's pool (index_pool_take).
 */
#include "node/api_search.h"

#include <stdlib.h>
#include <string.h>

#include "node/error.h"
#include "node/licence.h"
#include "node/log.h"
#include "node/metadata.h"
#include "node/store.h"
#include "sync/fedsearch.h"

static const char *const facet_keys[INDEX_FACETS] = {
    "level", "subject", "language", "licence", "type", "audience", "origin",
};

static int parse_count(long *out, const char *text, long max)
{
    char *end;
    long v;

    if (text[0] < '0' || text[0] > '9')
        return -1;
    v = strtol(text, &end, 10);
    if (*end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int api_search_system_check(const struct index *ix,
                            const struct index_query *q, char *msg,
                            size_t cap)
{
    const struct vocab *v = index_vocab(ix);
    const char *id;
    size_t n;

    if (q->system == NULL || q->system[0] == '\0' || v == NULL)
        return 0;
    for (size_t i = 0; (id = vocab_system_at(v, i)) != NULL; i++) {
        if (strcmp(id, q->system) == 0)
            return 0;
    }
    /* at most 64 bytes of it, cut between characters */
    n = strlen(q->system) < 64 ? strlen(q->system) : 64;
    while (n > 0 && n < strlen(q->system) &&
           ((unsigned char)q->system[n] & 0xc0) == 0x80)
        n--;
    n = (size_t)snprintf(msg, cap, "system: no education system '%.*s'"
                         " here; there are", (int)n, q->system);
    for (size_t i = 0; n < cap && (id = vocab_system_at(v, i)) != NULL; i++)
        n += (size_t)snprintf(msg + n, cap - n, "%s %s", i > 0 ? "," : "",
                              id);
    return OER_EINVAL;
}

int api_search_arg(struct index_query *q, const char *key, const char *value,
                   const char **msg)
{
    *msg = NULL;
    if (!index_utf8(value)) {
        *msg = "a value that is not UTF-8 text";
        return OER_EINVAL;
    }
    for (int k = 0; k < INDEX_FACETS; k++) {
        if (strcmp(key, facet_keys[k]) != 0)
            continue;
        if (q->nfilters[k] >= INDEX_FILTER_VALUES) {
            *msg = "at most 8 values of one filter";
            return OER_EINVAL;
        }
        q->filters[k][q->nfilters[k]++] = value;
        return 0;
    }
    if (strcmp(key, "q") == 0 && q->text != NULL) {
        *msg = "q: given twice";
        return OER_EINVAL;
    }
    if (strcmp(key, "q") == 0) {
        q->text = value;
        return 0;
    }
    if (strcmp(key, "lang") == 0 && value[0] != '\0' &&
        !metadata_valid_language(value)) {
        *msg = "lang: a language tag (en, nl, nl-BE)";
        return OER_EINVAL;
    }
    if (strcmp(key, "lang") == 0) {
        q->lang = value;
        return 0;
    }
    if (strcmp(key, "sort") == 0 && (strcmp(value, "relevance") == 0 ||
                                     strcmp(value, "newest") == 0)) {
        q->sort = strcmp(value, "newest") == 0 ? INDEX_SORT_NEWEST : 0;
        return 0;
    }
    if (strcmp(key, "sort") == 0) {
        *msg = "sort: relevance or newest";
        return OER_EINVAL;
    }
    if (strcmp(key, "system") == 0) {
        q->system = value;
        return 0;
    }
    if (strcmp(key, "limit") == 0 &&
        parse_count(&q->limit, value, INDEX_LIMIT_MAX) != 0) {
        *msg = "limit: a whole number from 0 to 100";
        return OER_EINVAL;
    }
    if (strcmp(key, "offset") == 0 &&
        parse_count(&q->offset, value, INDEX_OFFSET_MAX) != 0) {
        *msg = "offset: a whole number from 0 to 100000";
        return OER_EINVAL;
    }
    if (strcmp(key, "limit") == 0 || strcmp(key, "offset") == 0)
        return 0;
    *msg = "unknown parameter";
    return OER_ENOTFOUND;
}

char *api_search_index_path(const char *repo_path)
{
    return store_sibling_path(repo_path, "index.sqlite");
}

char *api_search_vocab_dir(const struct config *c)
{
    const char *root = c != NULL ? c->vocab_root : NULL;
    const char *data = c != NULL && c->data_dir != NULL ? c->data_dir : ".";
    size_t n;
    char *dir;

    if (root == NULL || root[0] == '/')
        return strdup(root != NULL ? root : INDEX_VOCAB_DIR);
    n = strlen(data) + strlen(root) + 2;
    dir = malloc(n);
    if (dir != NULL)
        snprintf(dir, n, "%s/%s", data, root);
    return dir;
}

int api_search_open(struct index **out, const char *path,
                    const char *vocab_dir)
{
    int err = index_open(out, path);

    /* without its vocabularies the index still serves plain values */
    if (err == 0 && index_use_vocab(*out, vocab_dir) != 0)
        log_warn("index", "searching without vocabularies", "dir",
                 vocab_dir, NULL);
    return err;
}

/* How long a request waits for another worker's catch-up before it
 * reads the index as it is. */
#define CATCH_UP_WAIT_MS 500

/* api_search_take, or with writer the indexer's catch-up that also
 * rebuilds for changed vocabularies. */
static int take(struct index **out, const char *repo_path,
                const char *vocab_dir, int writer)
{
    char *path = api_search_index_path(repo_path);
    struct store *s = NULL;
    struct index_stats st = { 0 };
    json_t *heads = NULL;
    int err;

    *out = NULL;
    if (path == NULL)
        return OER_ENOMEM;
    err = store_heads(&heads, repo_path);
    if (err == 0)
        err = index_pool_take(out, path, vocab_dir);
    if (err == 0 && !index_holds(*out, heads)) {
        err = store_open(&s, repo_path);
        if (err == 0)
            err = writer ? index_catch_up(*out, s, &st)
                         : index_catch_up_within(*out, s, &st,
                                                 CATCH_UP_WAIT_MS);
        /* another worker is writing the index (a catch-up, or a rebuild
         * after a change of the vocabularies), or the vocabularies
         * changed and the indexer rebuilds: read it as it is */
        if (err == OER_ETIMEOUT && !writer) {
            log_debug("index", "another catch-up is writing: searching the"
                      " index as it is", "path", path, NULL);
            err = 0;
        }
    }
    if (err == 0 && st.documents > 0) {
        char n[24];

        log_info("index", "caught up", "path", path, "documents",
                 log_num(n, (long long)st.documents), NULL);
    }
    if (err != 0) {
        index_free(*out);
        *out = NULL;
    }
    json_decref(heads);
    store_free(s);
    free(path);
    return err;
}

int api_search_take(struct index **out, const char *repo_path,
                    const char *vocab_dir)
{
    return take(out, repo_path, vocab_dir, 0);
}

int api_search_catch_up(const char *repo_path, const char *vocab_dir)
{
    struct index *ix = NULL;
    int err = take(&ix, repo_path, vocab_dir, 1);

    index_pool_give(ix);
    return err;
}

/* Name the unknown key, printable ASCII only (it goes into JSON). */
static void unknown_message(char *text, size_t cap, const char *key)
{
    char safe[65];
    size_t n;

    for (n = 0; n < sizeof(safe) - 1 && key[n] != '\0'; n++)
        safe[n] = key[n] > ' ' && key[n] < 127 ? key[n] : '?';
    safe[n] = '\0';
    snprintf(text, cap, "unknown parameter '%s'; see docs/CLI.md", safe);
}

json_t *api_search_licence_urls(json_t *answer)
{
    json_t *hit;
    const char *url;
    size_t i;

    json_array_foreach(json_object_get(answer, "hits"), i, hit) {
        url = licence_url(json_string_value(json_object_get(hit, "licence")));
        if (url != NULL)
            json_object_set_new(hit, "licence_url", json_string(url));
    }
    return answer;
}

/* The first parameter of req that may be given once and came twice, or
 * NULL. */
static const char *given_twice(const struct http_request *req)
{
    static const char *const once[] = {"q",      "lang",  "system",
                                       "sort",   "limit", "offset",
                                       "peers",  "wait_ms"};

    for (size_t k = 0; k < sizeof(once) / sizeof(once[0]); k++) {
        size_t seen = 0;

        for (size_t i = 0; i < req->nargs; i++)
            seen += strcmp(req->keys[i], once[k]) == 0;
        if (seen > 1)
            return once[k];
    }
    return NULL;
}

/* The parameters of the peers' part: peers (0 or 1) and wait_ms.  1 when
 * key is neither, else as api_search_arg. */
static int peer_arg(int *peers, long *wait_ms, const char *key,
                    const char *value, const char **msg)
{
    long v;

    if (strcmp(key, "peers") == 0 && parse_count(&v, value, 1) == 0) {
        *peers = (int)v;
        return 0;
    }
    if (strcmp(key, "wait_ms") == 0 &&
        parse_count(wait_ms, value, FEDSEARCH_WAIT_MAX) == 0)
        return 0;
    if (strcmp(key, "peers") == 0 || strcmp(key, "wait_ms") == 0) {
        *msg = strcmp(key, "peers") == 0
                   ? "peers: 0 or 1"
                   : "wait_ms: a whole number from 0 to 2000";
        return OER_EINVAL;
    }
    return 1;
}

/* A search whose peers have still to answer: the local answer, kept
 * until theirs is in (http_response.later). */
struct later_search {
    struct http_later *h;
    struct fedsearch_ask *ask;
    json_t *answer;
    json_t *remote;
    long limit;
};

/* The answer: answer (stolen) with the hits of remote (stolen; may be
 * NULL) merged in. */
static void respond(struct http_response *res, json_t *answer,
                    json_t *remote, long limit)
{
    if (fedsearch_merge(answer, remote, limit) != 0)
        log_warn("search", "peers' hits left out: out of memory", NULL);
    json_decref(remote);
    http_response_json(res, 200, api_search_licence_urls(answer));
}

/* On a worker, once the peers have answered. */
static void on_merge(struct http_response *res, void *arg)
{
    struct later_search *ls = arg;

    respond(res, ls->answer, ls->remote, ls->limit);
    free(ls);
}

/* On the loop: the peers' answer is in, or their time is up. */
static void on_peers_answered(json_t *remote, void *arg)
{
    struct later_search *ls = arg;

    ls->remote = remote;
    http_later_finish(ls->h, on_merge, ls);
}

/* On the loop, once the local search is done and its worker free. */
static void on_later(struct http_later *h, void *arg)
{
    struct later_search *ls = arg;

    ls->h = h;
    fedsearch_ask_await(ls->ask, on_peers_answered, ls);
}

/* Keep answer (stolen) until ask's peers answer, without holding this
 * worker; 0, or OER_ENOMEM with nothing taken. */
static int answer_later(struct http_response *res, json_t *answer,
                        struct fedsearch_ask *ask, long limit)
{
    struct later_search *ls = calloc(1, sizeof(*ls));

    if (ls == NULL)
        return OER_ENOMEM;
    ls->ask = ask;
    ls->answer = answer;
    ls->limit = limit;
    res->later = on_later;
    res->later_arg = ls;
    return 0;
}

void api_search_serve(struct http_response *res,
                      const struct http_request *req, const char *repo_path,
                      const char *vocab_dir, struct fedsearch *fed)
{
    struct index_query q = { .limit = INDEX_LIMIT_DEFAULT };
    struct index *ix = NULL;
    struct fedsearch_ask *ask = NULL;
    const char *msg = NULL;
    char text[256], *match = NULL;
    json_t *answer = NULL, *remote = NULL;
    long wait_ms = FEDSEARCH_WAIT_DEFAULT;
    int peers = 1;
    size_t i;
    int err = 0;

    if (given_twice(req) != NULL) {
        snprintf(text, sizeof(text), "%s: given twice", given_twice(req));
        http_response_error(res, 400, "bad_parameter", text);
        return;
    }
    for (i = 0; i < req->nargs && err == 0; i++) {
        const char *v = req->values[i] != NULL ? req->values[i] : "";

        err = peer_arg(&peers, &wait_ms, req->keys[i], v, &msg);
        if (err > 0)
            err = api_search_arg(&q, req->keys[i], v, &msg);
    }
    if (err == 0 && index_query_fts(&match, q.text) != 0) {
        err = OER_EINVAL;
        msg = "q: at most 1000 bytes of UTF-8 text, and 32 words";
    }
    free(match);
    if (err == OER_ENOTFOUND)
        unknown_message(text, sizeof(text), req->keys[i - 1]);
    if (err == OER_ENOTFOUND || err == OER_EINVAL) {
        http_response_error(res, 400, err == OER_EINVAL ? "bad_parameter"
                                                        : "unknown_parameter",
                            err == OER_EINVAL ? msg : text);
        return;
    }
    /* peers are asked first, so that they work while the index does */
    if (fed != NULL && peers && q.offset == 0 && wait_ms > 0 &&
        fedsearch_ask_start(&ask, fed, &q, (unsigned)wait_ms) != 0)
        log_warn("search", "peers not asked: out of memory", NULL);
    err = api_search_take(&ix, repo_path, vocab_dir);
    if (err == 0 &&
        api_search_system_check(ix, &q, text, sizeof(text)) != 0) {
        index_pool_give(ix);
        if (ask != NULL)
            fedsearch_ask_drop(ask);
        http_response_error(res, 400, "bad_parameter", text);
        return;
    }
    if (err == 0)
        err = index_search(&answer, ix, &q);
    if (err == 0)
        index_pool_give(ix);
    else
        index_free(ix);
    if (err == 0 && ask != NULL && fedsearch_ask_waits(ask) &&
        answer_later(res, answer, ask, q.limit) == 0)
        return;
    if (ask != NULL && err == 0)
        remote = fedsearch_ask_finish(ask);
    else if (ask != NULL)
        fedsearch_ask_drop(ask);
    if (err == 0) {
        respond(res, answer, remote, q.limit);
        return;
    }
    http_response_error(res, 503, "index_unavailable",
                        "the search index cannot be read");
}
