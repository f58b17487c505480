/*
 * server: the loop of `oernode serve` and its read-only HTTP routes.
 */
#include "node/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "node/api_moderation.h"
#include "node/api_files.h"
#include "node/api_search.h"
#include "node/error.h"
#include "node/http.h"
#include "node/licence.h"
#include "node/log.h"
#include "node/metrics.h"
#include "node/metadata.h"
#include "node/oai.h"
#include "node/paradata.h"
#include "node/store.h"
#include "sync/fedsearch.h"
#include "sync/keyring.h"
#include "sync/replica.h"
#include "sync/session.h"
#include "node/web.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000

struct server {
    const struct server_options *opt;
    uv_loop_t loop;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    struct http_server *http;
    struct peer_table *peers;
    struct session *sync;
    struct fedsearch *fed; /* federated search, with the session */
    struct peer_options hooks; /* the session's peer hooks, behind ours */
    char *web_root; /* the search page's folder, or NULL */
    char *vocab_dir; /* the vocabularies' folder (api_search_vocab_dir) */
    uv_timer_t expiry; /* deletes idle accounts, at start and daily */
    uv_work_t expiry_work;
    int expiring; /* expiry_work is queued or running */
    /* the index catches up within a second of a catalogue moving (a
     * sync, a publish), on a worker, one catch-up at a time */
    uv_timer_t indexing;
    uv_work_t index_work;
    int catching_up; /* index_work is queued or running */
    int index_err;   /* its last result, logged when it changes */
};

/* How often the index looks whether a catalogue moved. */
#define INDEXING_MS 1000

/* The store is opened per request: a repository handle is not shared
 * between worker threads. */
static struct store *open_store(struct http_response *res,
                                const struct server *srv)
{
    struct store *s = NULL;

    if (store_open(&s, srv->opt->repo_path) != 0)
        http_response_error(res, 503, "store_unavailable",
                            "the node's store cannot be opened");
    return s;
}

static int on_origin(const char *origin, const char *head, void *arg)
{
    json_t *list = arg;

    return json_array_append_new(list, json_pack("{s:s,s:s}", "origin",
                                                 origin, "head", head));
}

/* A catalogue frozen on a fork: both heads (docs/SYNC.md, "Forks"). */
static int on_frozen(const struct replica_freeze *f, void *arg)
{
    return json_array_append_new(arg, json_pack("{s:s,s:s,s:s,s:I}", "origin",
                                                f->origin, "local", f->local,
                                                "foreign", f->foreign, "time",
                                                (json_int_t)f->time));
}

/* An origin key known here, and where from (sync/keyring.h). */
static int on_origin_key(const struct keyring_entry *e, void *arg)
{
    struct identity_pub pub;
    char fp[64] = "";

    if (identity_pub_parse(&pub, e->key) == 0)
        identity_fingerprint(fp, sizeof(fp), &pub);
    return json_array_append_new(
        arg, json_pack("{s:s,s:s,s:s,s:s,s:s}", "origin", e->origin,
                       "fingerprint", fp, "source",
                       keyring_source_name(e->source), "introduced_by",
                       e->introduced_by, "introduced_at", e->introduced_at));
}

static void answer_status(struct http_response *res,
                          const struct server *srv)
{
    const struct config *c = srv->opt->peer.config;
    struct store *s = open_store(res, srv);
    json_t *catalogs = json_array(), *frozen = json_array();
    json_t *keys = json_array();

    if (s == NULL)
        goto out;
    if (store_origins(s, on_origin, catalogs) != 0 ||
        replica_frozen(s, on_frozen, frozen) != 0 ||
        (c != NULL && keyring_list(c, on_origin_key, keys) != 0)) {
        http_response_error(res, 500, "store_error",
                            "the catalogues cannot be listed");
        goto out;
    }
    http_response_json(res, 200,
                       json_pack("{s:s,s:s,s:s,s:O,s:O,s:O}", "node",
                                 srv->opt->node_id, "fingerprint",
                                 srv->opt->fingerprint, "version",
                                 OERNODE_VERSION, "catalogs", catalogs,
                                 "frozen", frozen, "origin_keys", keys));
out:
    json_decref(catalogs);
    json_decref(frozen);
    json_decref(keys);
    store_free(s);
}

static void get_status(struct http_response *res,
                       const struct http_request *req, void *ctx)
{
    if (!http_refuse_args(res, req))
        answer_status(res, ctx);
}

struct page {
    json_t *items;
    long skip;
    long limit;
    long total;
    int deleted;
};

static int on_doc(const json_t *doc, void *arg)
{
    struct page *p = arg;

    if (!p->deleted && metadata_is_tombstone(doc))
        return 0;
    p->total++;
    if (p->total <= p->skip || (long)json_array_size(p->items) >= p->limit)
        return 0;
    return json_array_append(p->items, (json_t *)doc);
}

static int parse_count(long *out, const char *text, long max)
{
    char *end;

    if (text == NULL)
        return 0;
    *out = strtol(text, &end, 10);
    return *end != '\0' || end == text || *out < 0 || *out > max ? -1 : 0;
}

static void get_resources(struct http_response *res,
                          const struct http_request *req, void *ctx)
{
    const struct server *srv = ctx;
    const char *origin = http_request_arg(req, "origin");
    struct page p = { .limit = LIST_DEFAULT };
    char head[STORE_OID_HEX];
    const char *bad = NULL;
    struct store *s;

    if (origin == NULL)
        origin = srv->opt->node_id;
    if (!metadata_valid_origin(origin))
        bad = "origin: not a node id";
    else if (parse_count(&p.limit, http_request_arg(req, "limit"), LIST_MAX))
        bad = "limit: a whole number from 0 to 1000";
    else if (parse_count(&p.skip, http_request_arg(req, "offset"), 1L << 40))
        bad = "offset: a whole number, 0 or more";
    if (bad != NULL) {
        http_response_error(res, 400, "bad_parameter", bad);
        return;
    }
    p.deleted = http_request_arg(req, "deleted") != NULL;
    s = open_store(res, srv);
    if (s == NULL)
        return;
    p.items = json_array();
    if (store_head(head, s, origin) == OER_ENOTFOUND) {
        http_response_error(res, 404, "not_found",
                            "this node holds no catalogue of that origin");
        json_decref(p.items);
    } else if (store_foreach(s, origin, on_doc, &p) != 0) {
        http_response_error(res, 500, "store_error",
                            "the catalogue cannot be read");
        json_decref(p.items);
    } else {
        http_response_json(res, 200,
                           json_pack("{s:s,s:I,s:I,s:o}", "origin", origin,
                                     "total", (json_int_t)p.total, "offset",
                                     (json_int_t)p.skip, "items", p.items));
    }
    store_free(s);
}

/* The parameters of GET /api/resources/ID: lang and system, once each,
 * as a search takes them; 0, or an error after answering 400. */
static int resource_args(struct http_response *res,
                         const struct http_request *req,
                         struct index_query *q)
{
    const char *msg = NULL;

    for (size_t i = 0; i < req->nargs; i++) {
        const char *key = req->keys[i];
        const char *v = req->values[i] != NULL ? req->values[i] : "";
        int twice = strcmp(key, "lang") == 0 ? q->lang != NULL
                    : strcmp(key, "system") == 0 ? q->system != NULL
                                                 : -1;

        if (twice < 0) {
            http_response_error(res, 400, "unknown_parameter",
                                "a resource takes lang and system only");
            return OER_EINVAL;
        }
        if (twice) {
            http_response_error(res, 400, "bad_parameter",
                                "lang and system: once each");
            return OER_EINVAL;
        }
        if (api_search_arg(q, key, v, &msg) != 0) {
            http_response_error(res, 400, "bad_parameter", msg);
            return OER_EINVAL;
        }
    }
    return 0;
}

/* Give doc "levels_shown": its levels as a search hit shows them, in the
 * language and system of q; 0, or an error after answering 400 for a
 * system the vocabularies lack.  Without the index, doc goes without. */
static int shown_levels(struct http_response *res, const struct server *srv,
                        json_t *doc, const char *origin,
                        const struct index_query *q)
{
    struct index *ix = NULL;
    char why[256];
    json_t *shown;

    if (api_search_take(&ix, srv->opt->repo_path, srv->vocab_dir) != 0) {
        log_warn("api", "levels shown as stored: the index cannot be read",
                 NULL);
        return 0;
    }
    if (api_search_system_check(ix, q, why, sizeof(why)) != 0) {
        index_pool_give(ix);
        http_response_error(res, 400, "bad_parameter", why);
        return OER_EINVAL;
    }
    shown = index_levels(ix, json_object_get(doc, "levels"), origin,
                         q->system, q->lang);
    index_pool_give(ix);
    if (shown != NULL)
        json_object_set_new(doc, "levels_shown", shown);
    return 0;
}

/* Give doc the paradata of id as a search hit carries them, rating
 * (average, count) and downloads; without them (logged), doc goes
 * without. */
static void add_paradata(json_t *doc, const struct server *srv,
                         const char *id)
{
    char *path = paradata_path(srv->opt->repo_path);
    struct paradata *pd = NULL;
    long long n = 0, dl = 0;
    double avg = 0;
    int err = path != NULL ? paradata_open(&pd, path) : OER_ENOMEM;

    if (err == 0)
        err = paradata_get(pd, id, &avg, &n, &dl);
    if (err == 0)
        json_object_set_new(doc, "rating",
                            json_pack("{s:f,s:I}", "average", avg, "count",
                                      (json_int_t)n));
    if (err == 0)
        json_object_set_new(doc, "downloads", json_integer(dl));
    else
        log_warn("api", "a resource without its paradata", "id", id, "err",
                 error_name(err), NULL);
    paradata_free(pd);
    free(path);
}

static void get_resource(struct http_response *res,
                         const struct http_request *req, void *ctx)
{
    char origin[72];
    const char *slash = strchr(req->rest, '/');
    const char *local = slash != NULL ? slash + 1 : "";
    size_t olen = slash != NULL ? (size_t)(slash - req->rest) : 0;
    struct store *s;
    struct index_query q = {0};
    json_t *doc = NULL;
    const char *url;
    int err;

    if (api_files_is_file(req->rest)) {
        const struct server *srv = ctx;

        if (!http_refuse_args(res, req))
            api_files_serve(res, req, srv->opt->repo_path);
        return;
    }
    if (api_files_is_rating(req->rest)) {
        http_response_error(res, 405, "method_not_allowed",
                            "a rating is POSTed, with a token: {\"rating\":"
                            " 1 to 5}; the record shows its ratings");
        return;
    }
    if (olen == 0 || olen >= sizeof(origin)) {
        http_response_error(res, 400, "bad_id",
                            "a resource id is ORIGIN/LOCAL-ID");
        return;
    }
    memcpy(origin, req->rest, olen);
    origin[olen] = '\0';
    if (!metadata_valid_origin(origin) || !metadata_valid_local_id(local)) {
        http_response_error(res, 400, "bad_id",
                            "a resource id is ORIGIN/LOCAL-ID");
        return;
    }
    if (resource_args(res, req, &q) != 0)
        return;
    s = open_store(res, ctx);
    if (s == NULL)
        return;
    err = store_get(&doc, s, origin, local);
    url = err == 0 ? licence_url(json_string_value(
                         json_object_get(doc, "licence")))
                   : NULL;
    if (url != NULL) /* beside the record, for the page's link */
        json_object_set_new(doc, "licence_url", json_string(url));
    if (err == 0)
        add_paradata(doc, ctx, req->rest);
    /* only when asked: the index may be busy with a rebuild */
    if (err == 0 && (q.lang != NULL || q.system != NULL) &&
        shown_levels(res, ctx, doc, origin, &q) != 0) {
        json_decref(doc);
        store_free(s);
        return;
    }
    if (err == 0)
        http_response_json(res, 200, doc);
    else if (err == OER_ENOTFOUND)
        http_response_error(res, 404, "not_found", "no such resource");
    else
        http_response_error(res, 500, "store_error",
                            "the resource cannot be read");
    store_free(s);
}

static void get_peers(struct http_response *res,
                      const struct http_request *req, void *ctx)
{
    const struct server *srv = ctx;
    json_t *doc;

    if (http_refuse_args(res, req))
        return;
    doc = srv->peers ? peer_table_json(srv->peers) : NULL;
    if (srv->peers == NULL)
        http_response_error(res, 503, "stopping", "the node is stopping");
    else if (doc == NULL)
        http_response_error(res, 500, "no_memory", "out of memory");
    else
        http_response_json(res, 200, doc);
}

/* OAI-PMH at /oai (node/oai.h), GET and POST. */
static void serve_oai(struct http_response *res,
                      const struct http_request *req, void *ctx)
{
    const struct server *srv = ctx;
    const struct config *c = srv->opt->peer.config;
    struct oai_options o = {
        .node_id = srv->opt->node_id,
        .admin_email = c != NULL ? c->admin_email : CONFIG_ADMIN_EMAIL,
        .page_size = c != NULL ? c->oai_page_size : OAI_PAGE_DEFAULT,
        .base_url = c != NULL ? c->oai_base_url : NULL,
        .vocab_dir = srv->vocab_dir,
    };
    struct store *s = open_store(res, srv);
    struct index *ix = NULL;

    if (s == NULL)
        return;
    /* the vocabularies a pooled index connection holds, rather than
     * loading them for each page; without the index, oai_serve loads */
    if (api_search_take(&ix, srv->opt->repo_path, srv->vocab_dir) == 0)
        o.vocab = index_vocab(ix);
    oai_serve(res, req, s, &o);
    if (ix != NULL)
        index_pool_give(ix);
    store_free(s);
}

static unsigned expire_days(const struct server *srv)
{
    const struct config *c = srv->opt->peer.config;

    return c != NULL ? c->accounts_expire_days : CONFIG_EXPIRE_DAYS;
}

/* POST /api/resources/ORIGIN/LOCAL/rating (node/api_files.h): one rating
 * per account, so the request carries a token of any role. */
static void post_resource(struct http_response *res,
                          const struct http_request *req, void *ctx)
{
    const struct server *srv = ctx;
    struct api_moderation m = {
        .repo_path = srv->opt->repo_path,
        .node_id = srv->opt->node_id,
        .expire_days = expire_days(srv),
    };
    struct account who;
    char rater[ACCOUNT_NAME_MAX + 16];

    if (!api_files_is_rating(req->rest)) {
        http_response_error(res, 404, "not_found", "no such path");
        return;
    }
    if (http_refuse_args(res, req) ||
        api_moderation_account(&who, res, req, &m) != 0)
        return;
    snprintf(rater, sizeof(rater), "account:%s", who.name);
    api_files_rate(res, req, srv->opt->repo_path, rater);
}

/* GET /api/search (node/api_search.h). */
static void get_search(struct http_response *res,
                       const struct http_request *req, void *ctx)
{
    const struct server *srv = ctx;

    api_search_serve(res, req, srv->opt->repo_path, srv->vocab_dir,
                     srv->fed);
}

/* GET /metrics (node/metrics.h). */
static void get_metrics(struct http_response *res,
                        const struct http_request *req, void *ctx)
{
    const struct server *srv = ctx;

    if (!http_refuse_args(res, req))
        metrics_serve(res, srv->opt->repo_path, srv->vocab_dir,
                      srv->opt->node_id);
}

/* The search page at / and its files at /web/ (node/web.h). */
static void get_page(struct http_response *res,
                     const struct http_request *req, void *ctx)
{
    const struct server *srv = ctx;

    web_serve(res, srv->web_root, req->rest[0] != '\0' ? req->rest
                                                        : "index.html");
}


/* Submissions and moderation (node/api_moderation.h). */
static void moderate(struct http_response *res,
                     const struct http_request *req, void *ctx)
{
    const struct server *srv = ctx;
    struct api_moderation m = {
        .repo_path = srv->opt->repo_path,
        .node_id = srv->opt->node_id,
        .key = srv->opt->peer.key,
        .expire_days = expire_days(srv),
    };

    api_moderation_serve(res, req, &m);
}

static void expiry_run(uv_work_t *w)
{
    struct server *srv = w->data;

    api_moderation_expire(srv->opt->repo_path, expire_days(srv));
}

static void expiry_done(uv_work_t *w, int status)
{
    struct server *srv = w->data;

    srv->expiring = 0;
}

/* Idle accounts go on a worker (SQLite), not on the loop. */
static void on_expiry(uv_timer_t *timer)
{
    struct server *srv = timer->data;

    if (srv->expiring)
        return;
    srv->expiring = 1;
    srv->expiry_work.data = srv;
    if (uv_queue_work(&srv->loop, &srv->expiry_work, expiry_run,
                      expiry_done) != 0)
        srv->expiring = 0;
}

/* A worker: the index up to the catalogues' heads (cheap when nothing
 * moved: the heads are kept in memory, node/store.h) and to the
 * vocabularies: a change of those is rebuilt here, while searches read
 * the index as it was. */
static void index_run(uv_work_t *w)
{
    struct server *srv = w->data;
    int err = api_search_catch_up(srv->opt->repo_path, srv->vocab_dir);

    if (err != 0 && err != srv->index_err)
        log_warn("index", "cannot catch up; trying again each second", "err",
                 error_name(err), NULL);
    srv->index_err = err;
}

static void index_done(uv_work_t *w, int status)
{
    struct server *srv = w->data;

    srv->catching_up = 0;
}

static void on_indexing(uv_timer_t *timer)
{
    struct server *srv = timer->data;

    if (srv->catching_up)
        return;
    srv->catching_up = 1;
    srv->index_work.data = srv;
    if (uv_queue_work(&srv->loop, &srv->index_work, index_run,
                      index_done) != 0)
        srv->catching_up = 0;
}

static const struct http_route routes[] = {
    { "GET", "/", get_page, 0, 0 },
    { "GET", "/web/", get_page, 0, 0 },
    { "GET", "/api/status", get_status, 0, 0 },
    { "GET", "/api/peers", get_peers, 1, 0 },
    { "GET", "/api/resources", get_resources, 0, 0 },
    { "GET", "/api/resources/", get_resource, 0, 0 },
    { "POST", "/api/resources/", post_resource, 0, 0 },
    { "GET", "/api/search", get_search, 0, 0 },
    { "GET", "/metrics", get_metrics, 0, 0 },
    { "GET", "/oai", serve_oai, 0, 0 },
    { "POST", "/oai", serve_oai, 0, 0 },
    { "POST", "/api/submissions", moderate, 0, 0 },
    { "GET", "/api/submissions", moderate, 0, 0 },
    { "GET", "/api/submissions/", moderate, 0, 0 },
    { "GET", "/api/moderation/queue", moderate, 0, 0 },
    { "PUT", "/api/moderation/submissions/", moderate, 0, 0 },
    { "POST", "/api/moderation/submissions/", moderate, 0, 0 },
    { "PUT", "/api/submissions/", moderate, 0, API_MODERATION_UPLOAD_MAX },
    { NULL, NULL, NULL, 0, 0 },
};

static void on_signal(uv_signal_t *sig, int signum)
{
    struct server *srv = sig->data;

    log_info("server", "stopping", "signal", signum == SIGINT ? "INT"
                                                              : "TERM",
             NULL);
    http_stop(srv->http);
    srv->http = NULL;
    peer_table_stop(srv->peers);
    srv->peers = NULL;
    session_stop(srv->sync);
    srv->sync = NULL;
    /* srv->fed stays: searches on workers may still read it */
    fedsearch_stop(srv->fed);
    uv_close((uv_handle_t *)&srv->sigint, NULL);
    uv_close((uv_handle_t *)&srv->sigterm, NULL);
    uv_close((uv_handle_t *)&srv->expiry, NULL);
    uv_close((uv_handle_t *)&srv->indexing, NULL);
}

static int write_port(const char *path, unsigned int port)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
        log_error("server", "cannot write the port file", "path", path,
                  NULL);
        return OER_EIO;
    }
    return 0;
}

/* The peers with a connection in use, to node/metrics. */
static void count_peers(struct server *srv)
{
    json_t *doc = srv->peers != NULL ? peer_table_json(srv->peers) : NULL;
    json_t *peer;
    size_t i;
    long n = 0;

    json_array_foreach(json_object_get(doc, "peers"), i, peer) {
        const char *state = json_string_value(json_object_get(peer, "state"));

        if (state != NULL && strcmp(state, "connected") == 0)
            n++;
    }
    if (doc != NULL)
        metrics_peers_connected(n);
    json_decref(doc);
}

/* The session's hooks (srv->hooks), then the count of peers. */
static void on_peer_up(const char *id, void *arg)
{
    struct server *srv = arg;

    if (srv->hooks.on_up != NULL)
        srv->hooks.on_up(id, srv->hooks.arg);
    count_peers(srv);
}

static void on_peer_down(const char *id, void *arg)
{
    struct server *srv = arg;

    if (srv->hooks.on_down != NULL)
        srv->hooks.on_down(id, srv->hooks.arg);
    count_peers(srv);
}

static void on_peer_message(const char *id, const struct message *msg,
                            void *arg)
{
    struct server *srv = arg;

    if (srv->hooks.on_message != NULL)
        srv->hooks.on_message(id, msg, srv->hooks.arg);
}

/* The peer table, with the sync session on its hooks when the node has
 * a configuration. */
static int start_peers(struct server *srv)
{
    struct peer_options po = srv->opt->peer;
    struct session_options so = {
        .config = po.config,
        .repo_path = srv->opt->repo_path,
    };
    struct fedsearch_options fo = {
        .config = po.config,
        .repo_path = srv->opt->repo_path,
        .vocab_dir = srv->vocab_dir,
    };
    int err;

    if (po.config != NULL) {
        err = session_new(&srv->sync, &srv->loop, &so);
        if (err != 0)
            return err;
        session_hook(&po, srv->sync);
        err = fedsearch_new(&srv->fed, &srv->loop, &fo);
        if (err != 0)
            return err;
        fedsearch_hook(&po, srv->fed);
    }
    srv->hooks = po;
    po.on_up = on_peer_up;
    po.on_down = on_peer_down;
    po.on_message = on_peer_message;
    po.arg = srv;
    err = peer_table_start(&srv->peers, &srv->loop, &po);
    if (err == 0 && srv->sync != NULL)
        session_attach(srv->sync, srv->peers);
    if (err == 0 && srv->fed != NULL)
        fedsearch_attach(srv->fed, srv->peers);
    return err;
}

int server_run(const struct server_options *opt)
{
    struct server srv = { .opt = opt };
    const struct config *c = opt->peer.config;
    char port[24];
    int err;

    /* A peer or client that resets its connection must not kill the node:
     * libuv writes with write(), which raises SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&srv.loop);
    /* The search index catches up before serving, on this thread: nothing
     * else runs yet.  A failure is logged; the indexer retries it. */
    srv.vocab_dir = api_search_vocab_dir(c);
    if (srv.vocab_dir == NULL) {
        uv_loop_close(&srv.loop);
        return OER_ENOMEM;
    }
    srv.index_err = api_search_catch_up(opt->repo_path, srv.vocab_dir);
    if (srv.index_err != 0)
        log_error("index", "cannot catch up; the indexer tries again",
                  "repo", opt->repo_path, "err", error_name(srv.index_err),
                  NULL);
    /* Without its folder the node serves the API alone (logged). */
    if (web_root_find(&srv.web_root, c != NULL ? c->web_root : NULL,
                      c != NULL ? c->data_dir : NULL) == OER_ENOMEM) {
        uv_loop_close(&srv.loop);
        free(srv.vocab_dir);
        return OER_ENOMEM;
    }
    err = http_start(&srv.http, &srv.loop, opt->http_listen, routes, &srv);
    if (err == 0)
        err = start_peers(&srv);
    if (err == 0 && opt->peer_port_file != NULL)
        err = write_port(opt->peer_port_file, peer_table_port(srv.peers));
    if (err == 0 && opt->port_file != NULL)
        err = write_port(opt->port_file, http_port(srv.http));
    if (err != 0) {
        http_stop(srv.http);
        peer_table_stop(srv.peers);
        session_stop(srv.sync);
        fedsearch_stop(srv.fed);
        uv_run(&srv.loop, UV_RUN_DEFAULT);
        uv_loop_close(&srv.loop);
        fedsearch_free(srv.fed);
        free(srv.web_root);
        free(srv.vocab_dir);
        return err;
    }

    uv_signal_init(&srv.loop, &srv.sigint);
    uv_signal_init(&srv.loop, &srv.sigterm);
    srv.sigint.data = &srv;
    srv.sigterm.data = &srv;
    uv_signal_start(&srv.sigint, on_signal, SIGINT);
    uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
    uv_timer_init(&srv.loop, &srv.expiry);
    srv.expiry.data = &srv;
    uv_timer_start(&srv.expiry, on_expiry, 0, 24 * 3600 * 1000);
    uv_timer_init(&srv.loop, &srv.indexing);
    srv.indexing.data = &srv;
    uv_timer_start(&srv.indexing, on_indexing, INDEXING_MS, INDEXING_MS);
    log_info("server", "serving", "node", opt->node_id, "http",
             opt->http_listen, "port", log_num(port, http_port(srv.http)),
             NULL);

    uv_run(&srv.loop, UV_RUN_DEFAULT);
    uv_loop_close(&srv.loop);
    fedsearch_free(srv.fed);
    free(srv.web_root);
    free(srv.vocab_dir);
    log_info("server", "stopped", "node", opt->node_id, NULL);
    return 0;
}
