/*
 * http: libmicrohttpd in external-loop mode on the node's libuv loop, with
 * handlers on worker threads while their connection is suspended.
 */
#include "node/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "node/error.h"
#include "node/invariant.h"
#include "node/log.h"
#include "node/metrics.h"

#define HTTP_CONNECTION_LIMIT 256
#define HTTP_IDLE_SECONDS 30

enum call_state { CALL_NEW, CALL_RUNNING, CALL_DONE };

struct http_server {
    uv_loop_t *loop;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer;
    const struct http_route *routes;
    void *ctx;
    unsigned int port;
    unsigned int pending; /* calls on a worker thread */
    unsigned int spooling; /* calls allowed a large body, until complete */
    int handles_open;
    int stopping;
};

/* A call whose answer comes later (http_response.later). */
struct http_later {
    struct http_call *call;
};

/* One request in flight: everything the worker needs, copied out of the
 * connection before it is suspended. */
struct http_call {
    struct http_server *srv;
    struct http_later later;
    http_finish_cb finish; /* the work of http_later_finish, else NULL */
    void *finish_arg;
    struct MHD_Connection *conn;
    uv_work_t work;
    const struct http_route *route;
    enum call_state state;
    struct http_request req;
    struct http_response res;
    uint64_t started; /* uv_hrtime when the headers were in */
    char *strings[6 + 2 * HTTP_MAX_ARGS];
    size_t nstrings;
    char *body; /* the request body: malloc'd, or mapped from spool */
    size_t body_len;
    size_t body_max; /* the route's limit */
    FILE *spool;     /* the body of a route taking more than HTTP_BODY_MAX */
    int mapped;      /* body is a mapping of body_len + 1 bytes */
    int body_too_large;
    int spool_failed;
    int spools;   /* counted in srv->spooling */
    int refused;  /* answered before its body: the body is dropped */
};

static void run_mhd(struct http_server *srv);
int http_refuse_args(struct http_response *res,
                     const struct http_request *req)
{
    char key[65], text[128];
    size_t n;

    if (req->nargs == 0)
        return 0;
    /* printable ASCII only: it goes into the message */
    for (n = 0; n < sizeof(key) - 1 && req->keys[0][n] != '\0'; n++)
        key[n] = req->keys[0][n] > ' ' && req->keys[0][n] < 127
                     ? req->keys[0][n]
                     : '?';
    key[n] = '\0';
    snprintf(text, sizeof(text), "unknown parameter '%s': this path takes"
             " none", key);
    http_response_error(res, 400, "unknown_parameter", text);
    return 1;
}

static const struct http_route *find_route(const struct http_server *srv,
                                           const char *method,
                                           const char *url, int *path_known);

int http_parse_addr(struct sockaddr_storage *out, const char *addr)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hlen;
    char *end;
    long port;

    memset(out, 0, sizeof(*out));
    if (colon == NULL)
        return OER_EINVAL;
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
        return OER_EINVAL;
    hlen = (size_t)(colon - addr);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return OER_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");

    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0)
        return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) == 0)
        return 0;
    return OER_EINVAL;
}

const char *http_request_arg(const struct http_request *req, const char *key)
{
    for (size_t i = 0; i < req->nargs; i++)
        if (strcmp(req->keys[i], key) == 0)
            return req->values[i];
    return NULL;
}

void http_response_json(struct http_response *res, unsigned int status,
                        json_t *doc)
{
    res->status = status;
    res->body = json_dumps(doc, JSON_COMPACT);
    res->len = res->body != NULL ? strlen(res->body) : 0;
    snprintf(res->content_type, sizeof(res->content_type), "%s",
             "application/json; charset=utf-8");
    json_decref(doc);
    if (res->body == NULL) {
        res->status = 500;
        res->body = strdup("{\"error\":{\"code\":\"nomem\","
                           "\"message\":\"out of memory\"}}");
        res->len = res->body != NULL ? strlen(res->body) : 0;
    }
}

void http_response_error(struct http_response *res, unsigned int status,
                         const char *code, const char *message)
{
    http_response_json(res, status,
                       json_pack("{s:{s:s,s:s}}", "error", "code", code,
                                 "message", message));
}

static const struct http_route *find_route(const struct http_server *srv,
                                           const char *method,
                                           const char *url, int *path_known)
{
    *path_known = 0;
    for (const struct http_route *r = srv->routes; r->method != NULL; r++) {
        size_t n = strlen(r->path);
        int prefix = n > 1 && r->path[n - 1] == '/';

        if (prefix ? strncmp(url, r->path, n) != 0 || url[n] == '\0'
                   : strcmp(url, r->path) != 0)
            continue;
        *path_known = 1;
        if (strcmp(method, r->method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
            return r;
    }
    return NULL;
}

static char *keep(struct http_call *call, const char *s)
{
    char *copy = strdup(s != NULL ? s : "");

    if (copy != NULL)
        call->strings[call->nstrings++] = copy;
    return copy;
}

/* The address of the client of conn as text into out, or "". */
static void client_address(char out[INET6_ADDRSTRLEN],
                           struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

    out[0] = '\0';
    if (sa != NULL && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                  INET6_ADDRSTRLEN);
    else if (sa != NULL && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                  out, INET6_ADDRSTRLEN);
}

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind,
                              const char *key, const char *value)
{
    struct http_call *call = cls;
    struct http_request *req = &call->req;

    if (req->nargs == HTTP_MAX_ARGS)
        return MHD_NO;
    req->keys[req->nargs] = keep(call, key);
    req->values[req->nargs] = keep(call, value);
    if (req->keys[req->nargs] == NULL || req->values[req->nargs] == NULL)
        return MHD_NO;
    req->nargs++;
    return MHD_YES;
}

static enum MHD_Result queue(struct http_call *call)
{
    struct http_response *res = &call->res;
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(res->len, res->body,
                                        MHD_RESPMEM_MUST_FREE);
    if (r == NULL)
        return MHD_NO;
    res->body = NULL;
    MHD_add_response_header(r, "Content-Type", res->content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (res->location[0] != '\0')
        MHD_add_response_header(r, "Location", res->location);
    if (res->disposition[0] != '\0')
        MHD_add_response_header(r, "Content-Disposition", res->disposition);
    if (res->cache_control[0] != '\0')
        MHD_add_response_header(r, "Cache-Control", res->cache_control);
    if (res->csp[0] != '\0')
        MHD_add_response_header(r, "Content-Security-Policy", res->csp);
    ret = MHD_queue_response(call->conn, res->status, r);
    metrics_request(call->route != NULL ? call->route->method : NULL,
                    call->route != NULL ? call->route->path : NULL,
                    res->status, uv_hrtime() - call->started);
    MHD_destroy_response(r);
    return ret;
}

static void on_work(uv_work_t *work)
{
    struct http_call *call = work->data;

    if (call->finish != NULL)
        call->finish(&call->res, call->finish_arg);
    else
        call->route->handler(&call->res, &call->req, call->srv->ctx);
    if (call->res.later != NULL && call->finish == NULL)
        return;
    call->res.later = NULL;
    if (call->res.status == 0)
        http_response_error(&call->res, 500, "internal",
                            "the handler gave no answer");
}

static void finish_stop(struct http_server *srv);

static void on_work_done(uv_work_t *work, int status)
{
    struct http_call *call = work->data;
    struct http_server *srv = call->srv;
    http_later_cb later = call->res.later;

    /* the handler's second half, on this thread; the call stays pending */
    if (later != NULL) {
        call->res.later = NULL;
        call->later.call = call;
        later(&call->later, call->res.later_arg);
        return;
    }
    call->state = CALL_DONE;
    srv->pending--;
    MHD_resume_connection(call->conn);
    if (srv->stopping)
        finish_stop(srv);
    else
        run_mhd(srv);
}

void http_later_finish(struct http_later *h, http_finish_cb cb, void *arg)
{
    struct http_call *call = h->call;

    call->finish = cb;
    call->finish_arg = arg;
    if (uv_queue_work(call->srv->loop, &call->work, on_work,
                      on_work_done) != 0) {
        /* no worker to be had: the end runs here, as short as it is */
        on_work(&call->work);
        on_work_done(&call->work, 0);
    }
}

/* Map the spooled body, with a NUL after it, as call->body. */
static int map_spool(struct http_call *call)
{
    void *map;

    if (fputc('\0', call->spool) == EOF || fflush(call->spool) != 0) {
        log_error("http", "cannot write a request body", NULL);
        return OER_EIO;
    }
    map = mmap(NULL, call->body_len + 1, PROT_READ, MAP_PRIVATE,
               fileno(call->spool), 0);
    fclose(call->spool);
    call->spool = NULL;
    if (map == MAP_FAILED) {
        log_error("http", "cannot map a request body", NULL);
        return OER_EIO;
    }
    call->body = map;
    call->mapped = 1;
    return 0;
}

/* Copy what the worker needs and hand the request to it. */
static enum MHD_Result start_call(struct http_call *call, const char *url,
                                  const char *method)
{
    struct http_server *srv = call->srv;
    char client[INET6_ADDRSTRLEN];
    int path_known;

    call->route = find_route(srv, method, url, &path_known);
    if (call->route == NULL) {
        if (path_known)
            http_response_error(&call->res, 405, "method_not_allowed",
                                "this path does not take that method");
        else
            http_response_error(&call->res, 404, "not_found",
                                "no such path");
        call->state = CALL_DONE;
        return queue(call);
    }

    call->req.method = keep(call, method);
    call->req.path = keep(call, url);
    call->req.host = keep(call, MHD_lookup_connection_value(
                                    call->conn, MHD_HEADER_KIND, "Host"));
    call->req.content_type = keep(
        call, MHD_lookup_connection_value(call->conn, MHD_HEADER_KIND,
                                          "Content-Type"));
    call->req.authorization = keep(
        call, MHD_lookup_connection_value(call->conn, MHD_HEADER_KIND,
                                          "Authorization"));
    client_address(client, call->conn);
    call->req.client = keep(call, client);
    if (call->req.method == NULL || call->req.path == NULL ||
        call->req.host == NULL || call->req.content_type == NULL ||
        call->req.authorization == NULL || call->req.client == NULL)
        return MHD_NO;
    if (call->spool != NULL && map_spool(call) != 0)
        return MHD_NO;
    call->req.body = call->body != NULL ? call->body : "";
    call->req.body_len = call->body_len;
    call->work.data = call;
    call->req.rest = call->req.path + strlen(call->route->path);
    if (call->route->path[strlen(call->route->path) - 1] != '/')
        call->req.rest = "";
    MHD_get_connection_values(call->conn, MHD_GET_ARGUMENT_KIND, on_arg,
                              call);
    if (call->route->on_loop) {
        on_work(&call->work);
        INVARIANT(call->res.later == NULL);
        call->state = CALL_DONE;
        return queue(call);
    }

    call->state = CALL_RUNNING;
    MHD_suspend_connection(call->conn);
    if (uv_queue_work(srv->loop, &call->work, on_work, on_work_done) != 0) {
        MHD_resume_connection(call->conn);
        return MHD_NO;
    }
    srv->pending++;
    return MHD_YES;
}

/* Append to the temporary file of a large body. */
static enum MHD_Result spool_body(struct http_call *call, const char *data,
                                  size_t len)
{
    if (call->spool == NULL && !call->spool_failed)
        call->spool = tmpfile();
    if (call->spool == NULL || fwrite(data, 1, len, call->spool) != len) {
        if (!call->spool_failed)
            log_error("http", "cannot spool a request body", NULL);
        call->spool_failed = 1;
        return MHD_YES;
    }
    call->body_len += len;
    return MHD_YES;
}

/* Keep up to the route's limit of the body; past that, only note it. */
static enum MHD_Result keep_body(struct http_call *call, const char *data,
                                 size_t len)
{
    char *grown;

    if (call->refused)
        return MHD_YES;
    if (call->body_too_large || len > call->body_max - call->body_len) {
        call->body_too_large = 1;
        return MHD_YES;
    }
    if (call->body_max > HTTP_BODY_MAX)
        return spool_body(call, data, len);
    grown = realloc(call->body, call->body_len + len + 1);
    if (grown == NULL)
        return MHD_NO;
    memcpy(grown + call->body_len, data, len);
    call->body = grown;
    call->body_len += len;
    grown[call->body_len] = '\0';
    return MHD_YES;
}

/*
 * A route that takes a large body: before any of it is stored, refuse a
 * request without a bearer token (401), one whose Content-Length is over
 * the limit (413), or one past HTTP_SPOOLS_MAX large bodies at once
 * (503).  The handler still checks the token itself.
 */
static void check_large(struct http_call *call, struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   "Authorization");
    const char *length = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end = NULL;
    unsigned long long n = 0;

    if (length != NULL)
        n = strtoull(length, &end, 10);
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
        http_response_error(&call->res, 401, "missing_token",
                            "send Authorization: Bearer TOKEN");
    } else if (length != NULL && (end == length || n > call->body_max)) {
        http_response_error(&call->res, 413, "body_too_large",
                            "the request body is larger than this path "
                            "takes");
    } else if (call->srv->spooling >= HTTP_SPOOLS_MAX) {
        http_response_error(&call->res, 503, "busy",
                            "too many uploads at once; try again later");
    } else {
        call->srv->spooling++;
        call->spools = 1;
        return;
    }
    call->refused = 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_call *call = *con_cls;

    if (call == NULL) {
        const struct http_route *r;
        int known;

        call = calloc(1, sizeof(*call));
        if (call == NULL)
            return MHD_NO;
        call->srv = cls;
        call->conn = conn;
        call->started = uv_hrtime();
        r = find_route(call->srv, method, url, &known);
        call->body_max = r != NULL && r->body_max != 0 ? r->body_max
                                                        : HTTP_BODY_MAX;
        if (call->body_max > HTTP_BODY_MAX)
            check_large(call, conn);
        *con_cls = call;
        return MHD_YES;
    }

    /* Keep a small body for the handler; answer once it is all read. */
    if (*upload_data_size != 0) {
        enum MHD_Result ret = keep_body(call, upload_data, *upload_data_size);

        *upload_data_size = 0;
        return ret;
    }
    if (call->state == CALL_DONE)
        return queue(call);
    if (call->state == CALL_RUNNING)
        return MHD_YES;
    if (call->refused) {
        call->state = CALL_DONE;
        return queue(call);
    }
    if (call->body_too_large || call->spool_failed) {
        if (call->body_too_large)
            http_response_error(&call->res, 413, "body_too_large",
                                "the request body is larger than this "
                                "path takes");
        else
            http_response_error(&call->res, 503, "body_not_stored",
                                "the request body could not be stored");
        call->state = CALL_DONE;
        return queue(call);
    }
    return start_call(call, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct http_call *call = *con_cls;

    if (call == NULL)
        return;
    if (call->spools)
        call->srv->spooling--;
    for (size_t i = 0; i < call->nstrings; i++)
        free(call->strings[i]);
    if (call->spool != NULL)
        fclose(call->spool);
    if (call->mapped)
        munmap(call->body, call->body_len + 1);
    else
        free(call->body);
    free(call->res.body);
    free(call);
    *con_cls = NULL;
}

static void on_timer(uv_timer_t *timer)
{
    run_mhd(timer->data);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    run_mhd(poll->data);
}

static void run_mhd(struct http_server *srv)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (srv->mhd == NULL)
        return;
    MHD_run(srv->mhd);
    if (MHD_get_timeout(srv->mhd, &ms) == MHD_YES)
        uv_timer_start(&srv->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&srv->timer);
}

static struct MHD_Daemon *start_mhd(struct http_server *srv,
                                    const struct sockaddr_storage *sa)
{
    return MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request,
        srv, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)HTTP_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)HTTP_IDLE_SECONDS, MHD_OPTION_END);
}

int http_start(struct http_server **out, uv_loop_t *loop, const char *addr,
               const struct http_route *routes, void *ctx)
{
    struct sockaddr_storage sa;
    struct http_server *srv;
    const union MHD_DaemonInfo *info;

    *out = NULL;
    if (http_parse_addr(&sa, addr) != 0) {
        log_error("http", "bad listen address", "addr", addr, NULL);
        return OER_EINVAL;
    }
    srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return OER_ENOMEM;
    srv->loop = loop;
    srv->routes = routes;
    srv->ctx = ctx;

    srv->mhd = start_mhd(srv, &sa);
    if (srv->mhd == NULL) {
        log_error("http", "cannot listen", "addr", addr, "hint",
                  "address in use or not local", NULL);
        free(srv);
        return OER_EIO;
    }
    info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL ? info->port : 0;
    info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);

    uv_timer_init(loop, &srv->timer);
    uv_poll_init(loop, &srv->poll, info->epoll_fd);
    srv->timer.data = srv;
    srv->poll.data = srv;
    srv->handles_open = 2;
    uv_poll_start(&srv->poll, UV_READABLE, on_poll);
    run_mhd(srv);
    *out = srv;
    return 0;
}

unsigned int http_port(const struct http_server *srv)
{
    return srv->port;
}

static void on_close(uv_handle_t *handle)
{
    struct http_server *srv = handle->data;

    if (--srv->handles_open == 0)
        free(srv);
}

/* Once no call is on a worker: stop the daemon, then close the handles;
 * the last close callback frees the server. */
static void finish_stop(struct http_server *srv)
{
    if (srv->pending > 0 || srv->mhd == NULL)
        return;
    uv_poll_stop(&srv->poll);
    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    uv_close((uv_handle_t *)&srv->poll, on_close);
    uv_close((uv_handle_t *)&srv->timer, on_close);
}

void http_stop(struct http_server *srv)
{
    if (srv == NULL || srv->stopping)
        return;
    srv->stopping = 1;
    finish_stop(srv);
}
