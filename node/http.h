/*
 * http: the node's HTTP server, GNU libmicrohttpd driven from the node's
 * libuv loop (its epoll descriptor is watched by a uv_poll, its timeouts
 * by a uv_timer: no second event loop, no thread per request).  Each
 * request is answered by a handler from a route table; handlers run on
 * libuv's worker threads (uv_queue_work) while the connection is
 * suspended, so git and SQLite work never stalls the loop.
 */
#ifndef OERNODE_HTTP_H
#define OERNODE_HTTP_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#define HTTP_MAX_ARGS 32
#define HTTP_BODY_MAX (64 * 1024) /* larger request bodies get a 413 */
/* Requests with a body past HTTP_BODY_MAX (uploads) taken at once; more
 * are answered 503 before their body is read. */
#define HTTP_SPOOLS_MAX 4

struct http_server;

/* What a handler sees of a request; everything is owned by the server
 * and valid while the handler runs. */
struct http_request {
    const char *method;
    const char *path; /* decoded URL path */
    const char *rest; /* path after the route's prefix */
    size_t nargs;
    const char *keys[HTTP_MAX_ARGS]; /* query arguments, in order */
    const char *values[HTTP_MAX_ARGS];
    const char *host;         /* Host header, or "" */
    const char *content_type; /* Content-Type header, or "" */
    const char *authorization; /* Authorization header, or "" */
    const char *client;       /* the client's IP address as text, or "" */
    const char *body;         /* request body (NUL follows), or "" */
    size_t body_len;
};

struct http_later;
struct http_response;

/* The second half of a handler that had to wait (http_response.later):
 * on the loop thread; it must not block. */
typedef void (*http_later_cb)(struct http_later *h, void *arg);

/* The end of a later answer (http_later_finish), on a worker thread. */
typedef void (*http_finish_cb)(struct http_response *res, void *arg);

/* What a handler answers.  body is malloc'd and becomes the server's;
 * the header strings are copied. */
struct http_response {
    unsigned int status;
    char *body;
    size_t len;
    char content_type[64];
    char location[512];    /* Location header, or empty */
    char disposition[512]; /* Content-Disposition header, or empty */
    char cache_control[64]; /* Cache-Control header, or empty */
    char csp[256];          /* Content-Security-Policy header, or empty */
    /* A handler on a worker whose answer waits for something the loop
     * brings (peers' answers) sets later instead of status, and returns:
     * the worker is free again, the connection stays suspended, and the
     * server calls later(h, later_arg) on the loop thread, which must
     * end with http_later_finish(h, ...).  Not for on_loop routes. */
    http_later_cb later;
    void *later_arg;
};

/* A handler, run on a worker thread (it must not touch the loop), or on
 * the loop thread for a route marked on_loop.  ctx is the pointer given
 * to http_start. */
typedef void (*http_handler_cb)(struct http_response *res,
                                const struct http_request *req, void *ctx);

struct http_route {
    const char *method; /* "GET", ... */
    /* exact path, or a prefix when it ends in '/' ("/" alone is exact) */
    const char *path;
    http_handler_cb handler;
    /* Run the handler on the loop thread instead of a worker: for quick
     * answers from state that lives on the loop (peers, counters); it
     * must not block. */
    int on_loop;
    /* The largest request body taken, in bytes (larger ones get a 413);
     * 0 for HTTP_BODY_MAX.  A route allowing more has its body written to
     * an unlinked temporary file and mapped, not held in memory, and is
     * refused before its body is stored without a bearer token (401),
     * with a Content-Length over the limit (413) or past HTTP_SPOOLS_MAX
     * such requests at once (503). */
    size_t body_max;
};

/*
 * Listen on addr ("127.0.0.1:8080", "[::1]:8080") and serve routes (a
 * table ending with a NULL method, kept by the caller while the server
 * runs) on loop.  *out is the caller's; stop it with http_stop.
 */
int http_start(struct http_server **out, uv_loop_t *loop, const char *addr,
               const struct http_route *routes, void *ctx);

/* The port actually bound (useful with port 0). */
unsigned int http_port(const struct http_server *srv);

/* Stop listening, close the handles and free the server once the loop
 * has closed them.  Requests still on a worker finish first.  Accepts
 * NULL. */
void http_stop(struct http_server *srv);

/*
 * End the later answer h (http_response.later): on the loop thread, run
 * cb(res, arg) on a worker thread, where it fills res as a handler does
 * (it must not set later again), then send res.  Call it once for each
 * later, also while the server is stopping (which waits for it).
 */
void http_later_finish(struct http_later *h, http_finish_cb cb, void *arg);

/* The value of query argument key, or NULL. */
const char *http_request_arg(const struct http_request *req, const char *key);

/* Answer with doc as JSON (compact); steals the reference. */
void http_response_json(struct http_response *res, unsigned int status,
                        json_t *doc);

/* For a path that takes no query parameters: when req has one, answer
 * 400 unknown_parameter naming it and return 1; else 0. */
int http_refuse_args(struct http_response *res,
                     const struct http_request *req);

/* Answer with a JSON error body {"error": {"code": code, "message": msg}}:
 * code is stable, for programs; message is for people. */
void http_response_error(struct http_response *res, unsigned int status,
                         const char *code, const char *message);

/* Parse "host:port" or "[v6]:port" into a socket address; OER_EINVAL. */
struct sockaddr_storage;
int http_parse_addr(struct sockaddr_storage *out, const char *addr);

#endif
