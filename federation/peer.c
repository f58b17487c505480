/*
 * peer: the peer table over federation/link: the listener, who may
 * connect (a configured key), dialling with backoff, the choice between
 * two connections to one peer, and the table's state for status.
 */
#include "federation/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "federation/link.h"
#include "federation/tls.h"
#include "node/error.h"
#include "node/invariant.h"
#include "node/log.h"

#define MOD "peer"
#define BACKLOG 64
/* Connections whose key is not checked yet, at most. */
#define PENDING_MAX 64

struct peer {
    struct peer_table *t;
    const struct config_peer *conf;
    struct link *up;       /* the connection in use, HELLO done */
    struct link *dialling; /* our dial, before its HELLO */
    uv_timer_t retry;
    uv_getaddrinfo_t resolve;
    int resolving;
    unsigned failures; /* redials since the last good connection */
    uint64_t retry_at; /* uv_now of the next dial, 0 when none */
    uint64_t up_at;    /* uv_now when up came */
    char last_error[LINK_WHY];
    int64_t last_error_at;
};

struct peer_table {
    uv_loop_t *loop;
    struct peer_options opt;
    struct link_opts lopts;
    struct tls_context *tls;
    uv_tcp_t listener;
    int listening;
    unsigned port;
    char listen_addr[80];
    struct peer *peers;
    size_t npeers;
    struct link **links; /* every live link */
    size_t nlinks, cap;
    int handles;   /* open libuv handles: the listener, retry timers */
    int resolving; /* lookups in flight */
    int stopping;
    uint64_t rand;
};

static void dial(struct peer *p);

/* ---- small helpers ---- */

static uint64_t next_rand(struct peer_table *t)
{
    /* xorshift64: jitter only, nothing secret */
    t->rand ^= t->rand << 13;
    t->rand ^= t->rand >> 7;
    t->rand ^= t->rand << 17;
    return t->rand;
}

static void format_time(char *buf, size_t cap, int64_t when)
{
    time_t tt = (time_t)when;
    struct tm tm;

    if (when <= 0 || gmtime_r(&tt, &tm) == NULL)
        snprintf(buf, cap, "%s", "");
    else
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct peer *peer_by_key(struct peer_table *t, const char *fp)
{
    for (size_t i = 0; i < t->npeers; i++) {
        if (strcmp(t->peers[i].conf->fingerprint, fp) == 0)
            return &t->peers[i];
    }
    return NULL;
}

static struct peer *peer_by_id(const struct peer_table *t, const char *id)
{
    for (size_t i = 0; i < t->npeers; i++) {
        if (strcmp(t->peers[i].conf->name, id) == 0)
            return &t->peers[i];
    }
    return NULL;
}

static int track(struct peer_table *t, struct link *l)
{
    if (t->nlinks == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct link **grown = realloc(t->links, cap * sizeof(*grown));

        if (grown == NULL)
            return OER_ENOMEM;
        t->links = grown;
        t->cap = cap;
    }
    t->links[t->nlinks++] = l;
    return 0;
}

static void untrack(struct peer_table *t, struct link *l)
{
    for (size_t i = 0; i < t->nlinks; i++) {
        if (t->links[i] == l) {
            t->links[i] = t->links[--t->nlinks];
            return;
        }
    }
}

static size_t pending_links(const struct peer_table *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->nlinks; i++)
        n += link_peer(t->links[i]) == NULL;
    return n;
}

static void note_error(struct peer *p, const char *why)
{
    snprintf(p->last_error, sizeof(p->last_error), "%s", why);
    p->last_error_at = (int64_t)time(NULL);
}

/* Free the table once stopping and nothing of it is left on the loop. */
static void maybe_free(struct peer_table *t)
{
    if (!t->stopping || t->handles > 0 || t->nlinks > 0 || t->resolving > 0)
        return;
    tls_context_free(t->tls);
    free(t->links);
    free(t->peers);
    free(t);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct peer_table *t = h->data;

    t->handles--;
    maybe_free(t);
}

/* ---- redialling ---- */

static void on_retry(uv_timer_t *timer)
{
    struct peer *p = timer->data;

    p->retry_at = 0;
    dial(p);
}

/* Dial again after min * 2^failures, capped, less up to half of it. */
static void schedule_retry(struct peer *p)
{
    struct peer_table *t = p->t;
    uint64_t delay = t->opt.retry_min_ms;
    char n[24], attempt[24];

    for (unsigned i = 0; i < p->failures && delay < t->opt.retry_max_ms; i++)
        delay *= 2;
    if (delay > t->opt.retry_max_ms)
        delay = t->opt.retry_max_ms;
    delay -= next_rand(t) % (delay / 2 + 1);
    if (delay == 0)
        delay = 1;
    p->failures++;
    p->retry_at = uv_now(t->loop) + delay;
    uv_timer_start(&p->retry, on_retry, delay, 0);
    log_debug(MOD, "redial scheduled", "peer", p->conf->name, "attempt",
              log_num(attempt, p->failures), "delay_ms",
              log_num(n, (long long)delay), NULL);
}

/* ---- link callbacks ---- */

static int on_verify(struct link *l, const char *fp, char *reason)
{
    struct peer_table *t = link_arg(l);
    struct peer *p = link_peer(l);

    if (p != NULL) {
        if (strcmp(fp, p->conf->fingerprint) == 0)
            return 0;
        snprintf(reason, LINK_WHY, "key %s does not match the pinned %s", fp,
                 p->conf->fingerprint);
        log_warn(MOD, "peer key does not match the pinned fingerprint", "peer",
                 p->conf->name, "addr", link_addr(l), "key", fp, "pinned",
                 p->conf->fingerprint, NULL);
        return OER_ECRYPTO;
    }
    p = peer_by_key(t, fp);
    if (p == NULL) {
        snprintf(reason, LINK_WHY, "unknown key %s", fp);
        log_warn(MOD, "connection refused: unknown key", "addr", link_addr(l),
                 "key", fp, NULL);
        return OER_ECRYPTO;
    }
    link_set_peer(l, p->conf->name, p);
    return 0;
}

static const char *on_hello(struct link *l, const struct message_hello *h,
                            char *reason)
{
    struct peer *p = link_peer(l);

    if (strcmp(h->node, p->conf->name) == 0)
        return NULL;
    snprintf(reason, LIMIT_REASON,
             "HELLO names node '%.40s'; this key is peer '%.40s'", h->node,
             p->conf->name);
    return "identity";
}

/* Of two connections to one peer, keep the newer one when the old one
 * is closing or both go the same way (the peer gave up on the old one),
 * else the one dialled by
 * the node whose id sorts lower: both ends decide alike. */
static int keep_new(const struct peer *p, const struct link *old,
                    const struct link *l)
{
    int we_lower = strcmp(p->t->opt.config->node_id, p->conf->name) < 0;

    if (!link_is_open(old) || link_outgoing(old) == link_outgoing(l))
        return 1;
    return link_outgoing(l) == we_lower;
}

static void on_open(struct link *l)
{
    struct peer *p = link_peer(l);
    struct link *old = p->up;

    if (p->dialling == l)
        p->dialling = NULL;
    if (old != NULL && !keep_new(p, old, l)) {
        log_info(MOD, "second connection closed", "peer", p->conf->name, "addr",
                 link_addr(l), NULL);
        link_close(l, "duplicate");
        return;
    }
    p->up = l;
    p->up_at = uv_now(p->t->loop);
    if (p->t->opt.on_up != NULL && !p->t->stopping)
        p->t->opt.on_up(p->conf->name, p->t->opt.arg);
    p->retry_at = 0;
    uv_timer_stop(&p->retry);
    if (old != NULL) {
        log_info(MOD, "second connection closed", "peer", p->conf->name, "addr",
                 link_addr(old), NULL);
        link_close(old, "duplicate");
    }
}

static void on_close(struct link *l, const char *why, int orderly)
{
    struct peer_table *t = link_arg(l);
    struct peer *p = link_peer(l);
    int was_up;

    untrack(t, l);
    if (p == NULL) {
        maybe_free(t);
        return;
    }
    was_up = p->up == l;
    if (was_up)
        p->up = NULL;
    if (was_up && t->opt.on_down != NULL && !t->stopping)
        t->opt.on_down(p->conf->name, t->opt.arg);
    if (p->dialling == l)
        p->dialling = NULL;
    if (was_up && uv_now(t->loop) - p->up_at >= t->opt.retry_max_ms)
        p->failures = 0;
    if (!orderly) {
        note_error(p, why);
        log_warn(
            MOD, was_up ? "peer connection lost" : "peer connection failed",
            "peer", p->conf->name, "addr", link_addr(l), "reason", why, NULL);
    }
    if (!t->stopping && p->up == NULL && p->dialling == NULL && !p->resolving &&
        p->retry_at == 0)
        schedule_retry(p);
    maybe_free(t);
}

/* Only the connection in use speaks for the peer. */
static void on_message(struct link *l, const struct message *msg)
{
    struct peer_table *t = link_arg(l);
    struct peer *p = link_peer(l);

    if (p == NULL || p->up != l || t->stopping || t->opt.on_message == NULL)
        return;
    t->opt.on_message(p->conf->name, msg, t->opt.arg);
}

/* ---- dialling ---- */

static void connect_resolved(struct peer *p, const struct sockaddr *addr)
{
    struct peer_table *t = p->t;
    struct link *l = NULL;
    int err;

    err = link_connect(&l, t->tls, t->loop, addr, &t->lopts);
    if (err == 0)
        err = track(t, l);
    if (err < 0) {
        if (l != NULL)
            link_close(l, "out of memory");
        note_error(p, "cannot open a connection");
        schedule_retry(p);
        return;
    }
    link_set_peer(l, p->conf->name, p);
    p->dialling = l;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct peer *p = req->data;
    struct peer_table *t = p->t;

    p->resolving = 0;
    t->resolving--;
    if (t->stopping || p->up != NULL) {
        uv_freeaddrinfo(res);
        maybe_free(t);
        return;
    }
    if (status < 0 || res == NULL) {
        log_warn(MOD, "cannot resolve peer address", "peer", p->conf->name,
                 "address", p->conf->address, "uv", uv_strerror(status), NULL);
        note_error(p, "cannot resolve the address");
        schedule_retry(p);
    } else {
        connect_resolved(p, res->ai_addr);
    }
    uv_freeaddrinfo(res);
}

static void dial(struct peer *p)
{
    struct peer_table *t = p->t;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    char host[256], port[12];
    unsigned portnum;
    int r;

    if (t->stopping || p->up || p->dialling || p->resolving)
        return;
    if (config_address_parse(host, sizeof(host), &portnum, p->conf->address) <
            0 ||
        portnum == 0) {
        log_warn(MOD, "peer address unusable, giving up on it", "peer",
                 p->conf->name, "address", p->conf->address, NULL);
        note_error(p, "address unusable");
        return;
    }
    snprintf(port, sizeof(port), "%u", portnum);
    log_debug(MOD, "dialling", "peer", p->conf->name, "address",
              p->conf->address, NULL);
    p->resolve.data = p;
    r = uv_getaddrinfo(t->loop, &p->resolve, on_resolved, host, port, &hints);
    if (r < 0) {
        log_warn(MOD, "cannot resolve peer address", "peer", p->conf->name,
                 "address", p->conf->address, "uv", uv_strerror(r), NULL);
        note_error(p, "cannot resolve the address");
        schedule_retry(p);
        return;
    }
    p->resolving = 1;
    t->resolving++;
}

/* ---- listening ---- */

static void on_connection(uv_stream_t *server, int status)
{
    struct peer_table *t = server->data;
    struct link *l = NULL;

    if (status < 0) {
        log_warn(MOD, "accept failed", "uv", uv_strerror(status), NULL);
        return;
    }
    if (link_accept(&l, t->tls, server, &t->lopts) < 0)
        return;
    if (track(t, l) < 0) {
        link_close(l, "out of memory");
        return;
    }
    if (pending_links(t) > PENDING_MAX) {
        log_warn(MOD, "too many connections in their handshake", "addr",
                 link_addr(l), NULL);
        link_close(l, "busy");
    }
}

static int sockaddr_of(struct sockaddr_storage *out, const char *address)
{
    char host[256];
    unsigned port;

    memset(out, 0, sizeof(*out));
    if (config_address_parse(host, sizeof(host), &port, address) < 0)
        return OER_EINVAL;
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0 ||
        uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) == 0)
        return 0;
    return OER_EINVAL;
}

static int start_listening(struct peer_table *t, const char *address)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int r;

    if (sockaddr_of(&ss, address) < 0) {
        log_error(MOD, "peer listen address is not an IP address and port",
                  "listen", address, NULL);
        return OER_EINVAL;
    }
    INVARIANT(uv_tcp_init(t->loop, &t->listener) == 0);
    t->listener.data = t;
    t->handles++;
    t->listening = 1;
    r = uv_tcp_bind(&t->listener, (struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&t->listener, BACKLOG, on_connection);
    if (r == 0)
        r = uv_tcp_getsockname(&t->listener, (struct sockaddr *)&ss, &len);
    if (r < 0) {
        log_error(MOD, "cannot listen for peers", "listen", address, "uv",
                  uv_strerror(r), NULL);
        return OER_EIO;
    }
    t->port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    snprintf(t->listen_addr, sizeof(t->listen_addr), "%s", address);
    return 0;
}

/* ---- the table ---- */

static void set_defaults(struct peer_options *o)
{
    if (o->ping_ms == 0)
        o->ping_ms = PEER_PING_MS;
    if (o->silence_ms == 0)
        o->silence_ms = PEER_SILENCE_MS;
    if (o->handshake_ms == 0)
        o->handshake_ms = PEER_HANDSHAKE_MS;
    if (o->retry_min_ms == 0)
        o->retry_min_ms = PEER_RETRY_MIN_MS;
    if (o->retry_max_ms == 0)
        o->retry_max_ms = PEER_RETRY_MAX_MS;
    if (o->retry_max_ms < o->retry_min_ms)
        o->retry_max_ms = o->retry_min_ms;
    if (o->listen == NULL)
        o->listen = o->config->listen_peer;
}

static void set_link_opts(struct peer_table *t)
{
    struct link_opts *lo = &t->lopts;
    const struct config *c = t->opt.config;

    lo->node_id = c->node_id;
    lo->commercial = c->policy.commercial;
    lo->adapts = c->policy.adapts;
    lo->ping_ms = t->opt.ping_ms;
    lo->silence_ms = t->opt.silence_ms;
    lo->handshake_ms = t->opt.handshake_ms;
    lo->write_limit = t->opt.write_limit;
    lo->on_verify = on_verify;
    lo->on_hello = on_hello;
    lo->on_open = on_open;
    lo->on_message = on_message;
    lo->on_close = on_close;
    lo->arg = t;
}

static int init_peers(struct peer_table *t)
{
    const struct config *c = t->opt.config;

    t->peers = calloc(c->peer_count ? c->peer_count : 1, sizeof(*t->peers));
    if (t->peers == NULL)
        return OER_ENOMEM;
    for (size_t i = 0; i < c->peer_count; i++) {
        struct peer *p = &t->peers[i];

        p->t = t;
        p->conf = &c->peers[i];
        INVARIANT(uv_timer_init(t->loop, &p->retry) == 0);
        p->retry.data = p;
        t->npeers++;
        t->handles++;
    }
    return 0;
}

int peer_table_start(struct peer_table **out, uv_loop_t *loop,
                     const struct peer_options *opt)
{
    struct peer_table *t = calloc(1, sizeof(*t));
    char n[24], count[24];
    int err;

    *out = NULL;
    if (t == NULL)
        return OER_ENOMEM;
    t->loop = loop;
    t->opt = *opt;
    set_defaults(&t->opt);
    set_link_opts(t);
    t->rand = uv_hrtime() | 1;
    err = tls_context_new(&t->tls, opt->key);
    if (err == 0)
        err = init_peers(t);
    if (err == 0)
        err = start_listening(t, t->opt.listen);
    if (err < 0) {
        peer_table_stop(t);
        return err;
    }
    log_info(MOD, "listening for peers", "listen", t->opt.listen, "port",
             log_num(n, t->port), "peers", log_num(count, (long long)t->npeers),
             NULL);
    for (size_t i = 0; i < t->npeers; i++)
        dial(&t->peers[i]);
    *out = t;
    return 0;
}

unsigned peer_table_port(const struct peer_table *t)
{
    return t->port;
}

int peer_table_use(int *commercial, int *adapts, const struct peer_table *t,
                   const char *id)
{
    const struct peer *p = peer_by_id(t, id);
    const struct message_hello *h;

    if (p == NULL || p->up == NULL || !link_is_open(p->up))
        return OER_ENOTFOUND;
    h = link_hello(p->up);
    *commercial = h->commercial;
    *adapts = h->adapts;
    return 0;
}

static struct link *link_of(const struct peer_table *t, const char *id)
{
    const struct peer *p = peer_by_id(t, id);

    if (p == NULL || p->up == NULL || !link_is_open(p->up))
        return NULL;
    return p->up;
}

int peer_table_send(struct peer_table *t, const char *id,
                    const struct message *msg)
{
    struct link *l = link_of(t, id);

    return l == NULL ? OER_ENOTFOUND : link_send(l, msg);
}

int peer_table_stalled(const struct peer_table *t, const char *id)
{
    struct link *l = link_of(t, id);
    struct link_stats st;

    if (l == NULL)
        return 0;
    link_stats(&st, l);
    return st.stalled;
}

void peer_table_fail(struct peer_table *t, const char *id, const char *code,
                     const char *reason)
{
    struct link *l = link_of(t, id);

    if (l != NULL)
        link_fail(l, code, reason);
}

int peer_table_key(struct identity_pub *out, const struct peer_table *t,
                   const char *id)
{
    struct link *l = link_of(t, id);

    return l == NULL ? OER_ENOTFOUND : link_peer_key(out, l);
}

void peer_table_stop(struct peer_table *t)
{
    if (t == NULL)
        return;
    t->stopping = 1;
    if (t->listening) {
        t->listening = 0;
        uv_close((uv_handle_t *)&t->listener, on_handle_closed);
    }
    for (size_t i = 0; i < t->npeers; i++) {
        struct peer *p = &t->peers[i];

        /* on_handle_closed counts the table's handles */
        p->retry.data = t;
        uv_close((uv_handle_t *)&p->retry, on_handle_closed);
        if (p->resolving)
            uv_cancel((uv_req_t *)&p->resolve);
    }
    t->npeers = 0;
    for (size_t i = 0; i < t->nlinks; i++)
        link_close(t->links[i], "shutdown");
    maybe_free(t);
}

/* ---- status ---- */

static const char *state_of(const struct peer *p)
{
    if (p->up != NULL)
        return "connected";
    if (p->dialling != NULL || p->resolving)
        return "connecting";
    return "waiting";
}

static json_t *features_json(const struct message_hello *h)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && h != NULL && i < h->nfeatures; i++)
        json_array_append_new(a, json_string(h->features[i]));
    return a;
}

/* What the connection in use says: since, remote, use, liveness. */
static void link_json(json_t *o, const struct link *l)
{
    const struct message_hello *h = link_hello(l);
    struct link_stats st;
    char since[32];

    link_stats(&st, l);
    format_time(since, sizeof(since), link_since(l));
    json_object_set_new(o, "since", json_string(since));
    json_object_set_new(o, "remote", json_string(link_addr(l)));
    json_object_set_new(
        o, "direction",
        json_string(link_outgoing(l) ? "outgoing" : "incoming"));
    json_object_set_new(o, "use",
                        json_pack("{s:b,s:b}", "commercial", h->commercial,
                                  "adapts", h->adapts));
    json_object_set_new(o, "software", json_string(h->software));
    json_object_set_new(o, "version", json_integer((json_int_t)h->version));
    json_object_set_new(o, "features", features_json(h));
    json_object_set_new(o, "pings", json_integer((json_int_t)st.pings));
    json_object_set_new(o, "pongs", json_integer((json_int_t)st.pongs));
    json_object_set_new(o, "rtt_ms", json_integer(st.rtt_ms));
    json_object_set_new(o, "stalled", json_boolean(st.stalled));
}

static json_int_t open_links(const struct peer_table *t, const struct peer *p)
{
    json_int_t n = 0;

    for (size_t i = 0; i < t->nlinks; i++)
        n += link_peer(t->links[i]) == p && link_is_open(t->links[i]);
    return n;
}

static json_t *peer_json(const struct peer_table *t, const struct peer *p)
{
    uint64_t now = uv_now(t->loop);
    char when[32];
    json_t *o;

    format_time(when, sizeof(when), p->last_error_at);
    o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:I,s:I}", "id", p->conf->name,
                  "address", p->conf->address, "fingerprint",
                  p->conf->fingerprint, "state", state_of(p), "connections",
                  open_links(t, p), "last_error", p->last_error,
                  "last_error_at", when, "failures", (json_int_t)p->failures,
                  "retry_in_ms",
                  (json_int_t)(p->retry_at > now ? p->retry_at - now : 0));
    if (o != NULL && p->up != NULL)
        link_json(o, p->up);
    return o;
}

json_t *peer_table_json(const struct peer_table *t)
{
    json_t *peers = json_array();
    char listen[96];

    snprintf(listen, sizeof(listen), "%s", t->listen_addr);
    for (size_t i = 0; peers != NULL && i < t->npeers; i++)
        json_array_append_new(peers, peer_json(t, &t->peers[i]));
    return json_pack("{s:s,s:s,s:i,s:o}", "node", t->opt.config->node_id,
                     "listen", listen, "port", (int)t->port, "peers", peers);
}
