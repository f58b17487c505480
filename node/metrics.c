/*
 * metrics: counters behind one mutex, rendered as Prometheus text; the
 * resource counts come from the search index on the worker that answers.
 */
#include "node/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/api_search.h"
#include "node/error.h"
#include "node/index.h"
#include "node/store.h"

#define LABEL_MAX 72  /* bytes of a copied label value, with its NUL */
#define CACHE_MAX 256 /* catalogues whose count is kept */

enum sync_result { SYNC_APPLIED, SYNC_UNCHANGED, SYNC_REJECTED, SYNC_N };

static const char *const sync_names[SYNC_N] = {"applied", "unchanged",
                                               "rejected"};
static const double bucket_bounds[METRICS_NBUCKETS] = METRICS_BUCKETS;

struct http_series {
    char method[16];
    char route[LABEL_MAX];
    char status[4];                     /* "2xx" */
    uint64_t buckets[METRICS_NBUCKETS]; /* not cumulative: each its own */
    uint64_t count;
    double sum;
};

struct error_series {
    char kind[LABEL_MAX];
    enum log_level level;
    uint64_t count;
};

struct cached_count {
    char origin[LABEL_MAX];
    char head[STORE_OID_HEX];
    long long resources;
};

static struct {
    long peers;
    uint64_t sync[SYNC_N];
    uint64_t rounds; /* HEADS received */
    struct http_series http[METRICS_HTTP_SERIES];
    size_t nhttp;
    struct error_series errors[METRICS_ERROR_SERIES];
    size_t nerrors;
    struct cached_count cache[CACHE_MAX];
    size_t ncache;
} metrics;

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;

/* Copy s into dst of size cap, cut when longer. */
static void copy_label(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s != NULL ? s : "other");
}

/* The series of (method, route, status), created when new; NULL when the
 * table is full.  Under the lock. */
static struct http_series *http_series(const char *method, const char *route,
                                       const char *status)
{
    struct http_series *h;
    char m[sizeof(h->method)], r[sizeof(h->route)];

    copy_label(m, sizeof(m), method);
    copy_label(r, sizeof(r), route);
    for (size_t i = 0; i < metrics.nhttp; i++) {
        h = &metrics.http[i];
        if (strcmp(h->method, m) == 0 && strcmp(h->route, r) == 0 &&
            strcmp(h->status, status) == 0)
            return h;
    }
    if (metrics.nhttp == METRICS_HTTP_SERIES)
        return NULL;
    h = &metrics.http[metrics.nhttp++];
    memcpy(h->method, m, sizeof(m));
    memcpy(h->route, r, sizeof(r));
    copy_label(h->status, sizeof(h->status), status);
    return h;
}

void metrics_request(const char *method, const char *route, unsigned status,
                     uint64_t ns)
{
    double seconds = (double)ns / 1e9;
    char class[4] = "xxx";
    struct http_series *h;
    size_t b = 0;

    if (status >= 100 && status <= 599)
        class[0] = (char)('0' + status / 100);
    while (b < METRICS_NBUCKETS && seconds > bucket_bounds[b])
        b++;

    pthread_mutex_lock(&metrics_lock);
    h = http_series(route != NULL ? method : NULL, route, class);
    if (h != NULL) {
        if (b < METRICS_NBUCKETS)
            h->buckets[b]++;
        h->count++;
        h->sum += seconds;
    }
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_sync_pack(int err, int moved)
{
    enum sync_result r = err != 0 ? SYNC_REJECTED
                         : moved  ? SYNC_APPLIED
                                  : SYNC_UNCHANGED;

    pthread_mutex_lock(&metrics_lock);
    metrics.sync[r]++;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_sync_round(void)
{
    pthread_mutex_lock(&metrics_lock);
    metrics.rounds++;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_log_event(enum log_level level, const char *mod)
{
    struct error_series *e = NULL;
    char kind[LABEL_MAX];

    if (level != LOG_LEVEL_WARN && level != LOG_LEVEL_ERROR)
        return;
    copy_label(kind, sizeof(kind), mod);

    pthread_mutex_lock(&metrics_lock);
    for (size_t i = 0; i < metrics.nerrors && e == NULL; i++)
        if (metrics.errors[i].level == level &&
            strcmp(metrics.errors[i].kind, kind) == 0)
            e = &metrics.errors[i];
    if (e == NULL && metrics.nerrors < METRICS_ERROR_SERIES) {
        e = &metrics.errors[metrics.nerrors++];
        memcpy(e->kind, kind, sizeof(kind));
        e->level = level;
    }
    if (e != NULL)
        e->count++;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_peers_connected(long n)
{
    pthread_mutex_lock(&metrics_lock);
    metrics.peers = n;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_reset(void)
{
    pthread_mutex_lock(&metrics_lock);
    memset(&metrics, 0, sizeof(metrics));
    pthread_mutex_unlock(&metrics_lock);
}

/* ---- rendering ---- */

/* A label value, escaped as the format wants: \\, \" and \n. */
static void put_label(FILE *f, const char *value)
{
    for (const char *c = value; *c != '\0'; c++) {
        if (*c == '\\')
            fputs("\\\\", f);
        else if (*c == '"')
            fputs("\\\"", f);
        else if (*c == '\n')
            fputs("\\n", f);
        else
            fputc(*c, f);
    }
}

static void put_family(FILE *f, const char *name, const char *type,
                       const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_request_labels(FILE *f, const struct http_series *h)
{
    fputs("method=\"", f);
    put_label(f, h->method);
    fputs("\",route=\"", f);
    put_label(f, h->route);
    fputs("\",status=\"", f);
    put_label(f, h->status);
    fputc('"', f);
}

static void put_histogram(FILE *f, const struct http_series *h)
{
    const char *name = "oernode_http_request_duration_seconds";
    uint64_t below = 0;

    for (size_t b = 0; b < METRICS_NBUCKETS; b++) {
        below += h->buckets[b];
        fprintf(f, "%s_bucket{", name);
        put_request_labels(f, h);
        fprintf(f, ",le=\"%g\"} %llu\n", bucket_bounds[b],
                (unsigned long long)below);
    }
    fprintf(f, "%s_bucket{", name);
    put_request_labels(f, h);
    fprintf(f, ",le=\"+Inf\"} %llu\n%s_sum{", (unsigned long long)h->count,
            name);
    put_request_labels(f, h);
    fprintf(f, "} %.9f\n%s_count{", h->sum, name);
    put_request_labels(f, h);
    fprintf(f, "} %llu\n", (unsigned long long)h->count);
}

static void put_info(FILE *f, const char *node_id,
                     const struct metrics_catalogue *cats, size_t n)
{
    put_family(f, "oernode_info", "gauge",
               "The node's software version and id.");
    fputs("oernode_info{version=\"", f);
    put_label(f, OERNODE_VERSION);
    fputs("\",node=\"", f);
    put_label(f, node_id != NULL ? node_id : "");
    fputs("\"} 1\n", f);

    put_family(f, "oernode_resources", "gauge",
               "Live (not withdrawn) records of each catalogue held here.");
    for (size_t i = 0; i < n; i++) {
        fputs("oernode_resources{origin=\"", f);
        put_label(f, cats[i].origin);
        fprintf(f, "\"} %lld\n", cats[i].resources);
    }
}

/* The counters; under the lock. */
static void put_counters(FILE *f)
{
    put_family(f, "oernode_peers_connected", "gauge",
               "Configured peers with a connection in use.");
    fprintf(f, "oernode_peers_connected %ld\n", metrics.peers);

    put_family(f, "oernode_sync_packs_total", "counter",
               "Catalogue packs received from peers, by the result of "
               "their verification.");
    for (int r = 0; r < SYNC_N; r++)
        fprintf(f, "oernode_sync_packs_total{result=\"%s\"} %llu\n",
                sync_names[r], (unsigned long long)metrics.sync[r]);

    put_family(f, "oernode_sync_rounds_total", "counter",
               "Sync rounds: HEADS received from peers and compared with "
               "this node's catalogues.");
    fprintf(f, "oernode_sync_rounds_total %llu\n",
            (unsigned long long)metrics.rounds);

    put_family(f, "oernode_errors_total", "counter",
               "Warn and error log events, by module (kind) and level.");
    for (size_t i = 0; i < metrics.nerrors; i++) {
        fputs("oernode_errors_total{kind=\"", f);
        put_label(f, metrics.errors[i].kind);
        fprintf(f, "\",level=\"%s\"} %llu\n",
                metrics.errors[i].level == LOG_LEVEL_ERROR ? "error" : "warn",
                (unsigned long long)metrics.errors[i].count);
    }

    put_family(f, "oernode_http_request_duration_seconds", "histogram",
               "Time from a request's headers to its answer, by route "
               "pattern and status class.");
    for (size_t i = 0; i < metrics.nhttp; i++)
        put_histogram(f, &metrics.http[i]);
}

int metrics_render(char **out, size_t *len, const char *node_id,
                   const struct metrics_catalogue *cats, size_t n)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);

    *out = NULL;
    *len = 0;
    if (f == NULL)
        return OER_ENOMEM;
    put_info(f, node_id, cats, n);
    pthread_mutex_lock(&metrics_lock);
    put_counters(f);
    pthread_mutex_unlock(&metrics_lock);
    if (ferror(f) != 0 || fclose(f) != 0) {
        free(text);
        return OER_ENOMEM;
    }
    *out = text;
    *len = size;
    return 0;
}

/* ---- GET /metrics ---- */

/* The catalogues of a store and their counts. */
struct tally {
    struct metrics_catalogue *cats;
    char (*heads)[STORE_OID_HEX];
    size_t n;
    size_t cap;
    int counted; /* 0 once a count could not be had */
};

static int on_catalogue(const char *origin, const char *head, void *arg)
{
    struct tally *t = arg;

    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        void *cats = realloc(t->cats, cap * sizeof(*t->cats));

        if (cats == NULL)
            return OER_ENOMEM;
        t->cats = cats;
        cats = realloc(t->heads, cap * sizeof(*t->heads));
        if (cats == NULL)
            return OER_ENOMEM;
        t->heads = cats;
        t->cap = cap;
    }
    t->cats[t->n].origin = strdup(origin);
    if (t->cats[t->n].origin == NULL)
        return OER_ENOMEM;
    t->cats[t->n].resources = -1;
    snprintf(t->heads[t->n], STORE_OID_HEX, "%s", head);
    t->n++;
    return 0;
}

static void tally_release(struct tally *t)
{
    for (size_t i = 0; i < t->n; i++)
        free((char *)t->cats[i].origin);
    free(t->cats);
    free(t->heads);
}

/* The cached count of origin at head into *out: 1 when there is one. */
static int cache_get(long long *out, const char *origin, const char *head)
{
    int found = 0;

    pthread_mutex_lock(&metrics_lock);
    for (size_t i = 0; i < metrics.ncache && !found; i++) {
        const struct cached_count *c = &metrics.cache[i];

        if (strcmp(c->origin, origin) == 0 && strcmp(c->head, head) == 0) {
            *out = c->resources;
            found = 1;
        }
    }
    pthread_mutex_unlock(&metrics_lock);
    return found;
}

static void cache_put(const char *origin, const char *head, long long n)
{
    struct cached_count *c = NULL;

    if (strlen(origin) >= LABEL_MAX)
        return;
    pthread_mutex_lock(&metrics_lock);
    for (size_t i = 0; i < metrics.ncache && c == NULL; i++)
        if (strcmp(metrics.cache[i].origin, origin) == 0)
            c = &metrics.cache[i];
    if (c == NULL && metrics.ncache < CACHE_MAX)
        c = &metrics.cache[metrics.ncache++];
    if (c != NULL) {
        snprintf(c->origin, sizeof(c->origin), "%s", origin);
        snprintf(c->head, sizeof(c->head), "%s", head);
        c->resources = n;
    }
    pthread_mutex_unlock(&metrics_lock);
}

/* Count what the cache does not know; the index is opened when needed. */
static void count_resources(struct tally *t, const char *repo_path,
                            const char *vocab_dir)
{
    struct index *ix = NULL;
    int err = 0;

    for (size_t i = 0; i < t->n && err == 0; i++) {
        struct metrics_catalogue *c = &t->cats[i];

        if (cache_get(&c->resources, c->origin, t->heads[i]))
            continue;
        /* a pooled connection, caught up as a search's is */
        if (ix == NULL)
            err = api_search_take(&ix, repo_path, vocab_dir);
        if (err == 0)
            err = index_count(&c->resources, ix, INDEX_ORIGIN, c->origin);
        if (err == 0)
            cache_put(c->origin, t->heads[i], c->resources);
    }
    if (err == 0)
        index_pool_give(ix);
    else
        index_free(ix);
    t->counted = err == 0;
    if (err != 0)
        log_warn("metrics", "resources cannot be counted", "err",
                 error_name(err), NULL);
}

void metrics_serve(struct http_response *res, const char *repo_path,
                   const char *vocab_dir, const char *node_id)
{
    struct tally t = {.counted = 0};
    struct store *s = NULL;
    char *text = NULL;
    size_t len = 0;

    if (store_open(&s, repo_path) == 0 &&
        store_origins(s, on_catalogue, &t) == 0)
        count_resources(&t, repo_path, vocab_dir);
    store_free(s);

    if (metrics_render(&text, &len, node_id, t.cats, t.counted ? t.n : 0) !=
        0) {
        http_response_error(res, 500, "no_memory", "out of memory");
    } else {
        res->status = 200;
        res->body = text;
        res->len = len;
        snprintf(res->content_type, sizeof(res->content_type), "%s",
                 "text/plain; version=0.0.4; charset=utf-8");
        snprintf(res->cache_control, sizeof(res->cache_control), "%s",
                 "no-store");
    }
    tally_release(&t);
}
