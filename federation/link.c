/*
 * link: the peer protocol on one TLS connection.  Bytes go through the
 * frame reader and the decoder; each message type has its handler; one
 * timer watches the HELLO deadline, then PING and silence.
 */
#include "federation/link.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/error.h"
#include "node/invariant.h"
#include "node/log.h"
#include "protocol/frame.h"

#define MOD "peer"
#define SOFTWARE "oernode/" OERNODE_VERSION

enum link_state {
    LS_TLS,     /* the TLS handshake */
    LS_HELLO,   /* waiting for the peer's HELLO */
    LS_OPEN,    /* HELLO went both ways */
    LS_CLOSING, /* closing: nothing more is read or sent */
};

struct link {
    struct tls_conn *conn; /* NULL once it has closed */
    uv_timer_t timer;
    struct link_opts opts;
    enum link_state state;
    int outgoing;
    int silent; /* setup failed: free without callbacks */
    int full;   /* LINK_FULL returned, reading paused until the drain */
    struct frame_reader reader;
    struct message *hello; /* the peer's */
    char name[LIMIT_NAME + 1];
    void *peer;
    char addr[64];
    int64_t since;
    uint64_t last_rx; /* uv_now of the last whole frame */
    uint64_t last_ping;
    uint64_t ping_sent; /* uv_now of the last PING sent */
    uint64_t nonce;     /* of the last PING sent */
    struct link_stats stats;
    char why[LINK_WHY];
    int orderly;
};

/* ---- sending ---- */

static int send_msg(struct link *l, const struct message *msg)
{
    const struct message_hello *peer = l->hello ? &l->hello->u.hello : NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    int r;

    if (l->conn == NULL || l->state == LS_CLOSING)
        return OER_EIO;
    r = message_encode(&buf, &len, msg, peer);
    if (r < 0)
        return r;
    r = tls_conn_write(l->conn, buf, len);
    free(buf);
    if (r != TLS_CONN_FULL)
        return r;

    /* Take no more requests from a peer that does not take our answers. */
    if (!l->full) {
        l->full = 1;
        tls_conn_read_stop(l->conn);
        log_debug(MOD, "queue full, reading paused", "peer", l->name, "addr",
                  l->addr, NULL);
    }
    return LINK_FULL;
}

static void send_hello(struct link *l)
{
    struct message m = {.type = MESSAGE_HELLO};

    m.u.hello.version = LIMIT_VERSION;
    m.u.hello.node = l->opts.node_id;
    m.u.hello.software = SOFTWARE;
    m.u.hello.commercial = l->opts.commercial != 0;
    m.u.hello.adapts = l->opts.adapts != 0;
    m.u.hello.max_frame = LIMIT_FRAME;
    m.u.hello.max_data_frame = LIMIT_DATA_FRAME;
    send_msg(l, &m);
}

static void send_ping(struct link *l, uint64_t now)
{
    struct message m = {.type = MESSAGE_PING};
    char n[24];

    l->last_ping = now;
    if (l->full)
        return;
    m.u.ping.nonce = ++l->nonce;
    if (send_msg(l, &m) < 0)
        return;
    l->ping_sent = now;
    l->stats.pings++;
    log_debug(MOD, "ping sent", "peer", l->name, "nonce",
              log_num(n, (long long)l->nonce), NULL);
}

int link_send(struct link *l, const struct message *msg)
{
    if (l->state != LS_OPEN)
        return OER_EIO;
    return send_msg(l, msg);
}

/* ---- closing ---- */

static void begin_close(struct link *l, int orderly)
{
    l->state = LS_CLOSING;
    l->orderly = orderly;
    uv_timer_stop(&l->timer);
    if (l->conn != NULL)
        tls_conn_close(l->conn);
}

void link_close(struct link *l, const char *reason)
{
    struct message m = {.type = MESSAGE_BYE};

    if (l->state == LS_CLOSING)
        return;
    if (l->state == LS_OPEN) {
        m.u.bye.reason = reason;
        send_msg(l, &m);
    }
    snprintf(l->why, sizeof(l->why), "closed here: %s", reason);
    log_debug(MOD, "closing", "peer", l->name, "addr", l->addr, "reason",
              reason, NULL);
    begin_close(l, 1);
}

void link_fail(struct link *l, const char *code, const char *reason)
{
    struct message m = {.type = MESSAGE_ERROR};

    if (l->state == LS_CLOSING)
        return;
    log_warn(MOD, "closing on a violation", "peer", l->name, "addr", l->addr,
             "code", code, "reason", reason, NULL);
    m.u.error.code = code;
    m.u.error.message = reason;
    send_msg(l, &m);
    snprintf(l->why, sizeof(l->why), "%s: %s", code, reason);
    begin_close(l, 0);
}

/* link_fail with a formatted reason. */
static void failf(struct link *l, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void failf(struct link *l, const char *code, const char *fmt, ...)
{
    char reason[LIMIT_REASON];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    link_fail(l, code, reason);
}

/* ---- the timer: HELLO deadline, PING and silence ---- */

static void on_tick(uv_timer_t *t);

static void schedule(struct link *l, uint64_t now)
{
    uint64_t ping_at, quiet_at, due;

    ping_at = (l->last_rx > l->last_ping ? l->last_rx : l->last_ping) +
              l->opts.ping_ms;
    quiet_at = l->last_rx + l->opts.silence_ms;
    due = ping_at < quiet_at ? ping_at : quiet_at;
    uv_timer_start(&l->timer, on_tick, due > now ? due - now : 1, 0);
}

static void on_tick(uv_timer_t *t)
{
    struct link *l = t->data;
    uint64_t now = uv_now(t->loop);
    uint64_t quiet = now - l->last_rx;

    if (l->state == LS_HELLO) {
        failf(l, "timeout", "no HELLO within %u ms", l->opts.handshake_ms);
        return;
    }
    if (l->state != LS_OPEN)
        return;
    if (quiet >= l->opts.silence_ms) {
        if (l->full)
            failf(l, "timeout",
                  "peer took none of our data and sent nothing for %" PRIu64
                  " ms",
                  quiet);
        else
            failf(l, "timeout", "nothing received for %" PRIu64 " ms", quiet);
        return;
    }
    if (quiet >= l->opts.ping_ms && now - l->last_ping >= l->opts.ping_ms)
        send_ping(l, now);
    schedule(l, now);
}

/* ---- handlers, one per message type ---- */

/* A handler returns 1 when it kept the message, 0 when it is freed. */
typedef int (*handler_fn)(struct link *l, struct message *m);

static int open_link(struct link *l)
{
    const struct message_hello *h = &l->hello->u.hello;
    uint64_t now = uv_now(l->timer.loop);

    if (l->outgoing)
        send_hello(l);
    if (l->state == LS_CLOSING)
        return 0;
    l->state = LS_OPEN;
    l->since = (int64_t)time(NULL);
    l->last_rx = now;
    l->last_ping = now;
    schedule(l, now);
    log_info(MOD, "peer connected", "peer", l->name, "addr", l->addr,
             "direction", l->outgoing ? "outgoing" : "incoming", "software",
             h->software, "commercial", h->commercial ? "yes" : "no", "adapts",
             h->adapts ? "yes" : "no", NULL);
    l->opts.on_open(l);
    return 0;
}

static int on_hello_msg(struct link *l, struct message *m)
{
    char reason[LIMIT_REASON] = "";
    const char *code;

    if (l->state != LS_HELLO) {
        link_fail(l, "proto", "a second HELLO");
        return 0;
    }

    /* Each side sends the highest version it speaks; the connection
     * speaks the lower one, which must be one this node still speaks. */
    if (m->u.hello.version < LIMIT_VERSION) {
        failf(l, "version",
              "protocol version %" PRIu64 " is not spoken here (%d is)",
              m->u.hello.version, LIMIT_VERSION);
        return 0;
    }
    code = l->opts.on_hello(l, &m->u.hello, reason);
    if (code != NULL) {
        link_fail(l, code, reason);
        return 0;
    }
    l->hello = m;
    open_link(l);
    return 1;
}

static int on_ping(struct link *l, struct message *m)
{
    struct message pong = {.type = MESSAGE_PONG};

    pong.u.ping.nonce = m->u.ping.nonce;
    send_msg(l, &pong);
    return 0;
}

static int on_pong(struct link *l, struct message *m)
{
    uint64_t nonce = m->u.ping.nonce;
    char rtt[24];

    if (nonce == 0 || nonce > l->nonce) {
        link_fail(l, "proto", "a PONG without its PING");
        return 0;
    }
    l->stats.pongs++;
    if (nonce == l->nonce)
        l->stats.rtt_ms = (int64_t)(uv_now(l->timer.loop) - l->ping_sent);
    log_debug(MOD, "pong received", "peer", l->name, "rtt_ms",
              log_num(rtt, l->stats.rtt_ms), NULL);
    return 0;
}

static int on_error_msg(struct link *l, struct message *m)
{
    log_warn(MOD, "peer sent an error", "peer", l->name, "addr", l->addr,
             "code", m->u.error.code, "reason", m->u.error.message, NULL);
    snprintf(l->why, sizeof(l->why), "error from peer: %s: %s", m->u.error.code,
             m->u.error.message);
    begin_close(l, 0);
    return 0;
}

static int on_bye(struct link *l, struct message *m)
{
    log_info(MOD, "peer said bye", "peer", l->name, "addr", l->addr, "reason",
             m->u.bye.reason, NULL);
    snprintf(l->why, sizeof(l->why), "bye from peer: %s", m->u.bye.reason);
    begin_close(l, 1);
    return 0;
}

static int on_unknown(struct link *l, struct message *m)
{
    log_debug(MOD, "message of an unknown type ignored", "peer", l->name, NULL);
    return 0;
}

/* HEADS, FETCH and the others: the owner's, once open. */
static int on_other(struct link *l, struct message *m)
{
    if (l->opts.on_message != NULL)
        l->opts.on_message(l, m);
    else
        log_debug(MOD, "message not handled here", "peer", l->name, "type",
                  message_type_name(m->type), NULL);
    return 0;
}

static const handler_fn handlers[] = {
    [MESSAGE_UNKNOWN] = on_unknown, [MESSAGE_HELLO] = on_hello_msg,
    [MESSAGE_PING] = on_ping,       [MESSAGE_PONG] = on_pong,
    [MESSAGE_ERROR] = on_error_msg, [MESSAGE_BYE] = on_bye,
};

static handler_fn handler_of(enum message_type type)
{
    if ((size_t)type < sizeof(handlers) / sizeof(handlers[0]) &&
        handlers[type] != NULL)
        return handlers[type];
    return on_other;
}

/* Before HELLO only HELLO, ERROR and BYE make sense. */
static int allowed_before_hello(enum message_type type)
{
    return type == MESSAGE_HELLO || type == MESSAGE_ERROR ||
           type == MESSAGE_BYE;
}

static void on_frame(struct link *l, const struct frame *f)
{
    char reason[LIMIT_REASON] = "";
    struct message *m = NULL;
    int err;

    l->last_rx = uv_now(l->timer.loop);
    err = message_decode(&m, reason, f->body, f->len);
    if (err == OER_ENOMEM) {
        link_fail(l, "internal", "out of memory");
        return;
    }
    if (err < 0) {
        link_fail(l, "proto", reason);
        return;
    }
    if (l->state == LS_HELLO && !allowed_before_hello(m->type))
        failf(l, "proto", "%s before HELLO", message_type_name(m->type));
    else if (handler_of(m->type)(l, m))
        return;
    message_free(m);
}

/* ---- TLS callbacks ---- */

static int on_tls_verify(struct tls_conn *conn, const char *fingerprint)
{
    struct link *l = tls_conn_arg(conn);

    return l->opts.on_verify(l, fingerprint, l->why);
}

static void on_tls_handshake(struct tls_conn *conn, int status)
{
    struct link *l = tls_conn_arg(conn);

    if (status != 0 || l->state != LS_TLS)
        return;
    l->state = LS_HELLO;
    uv_timer_start(&l->timer, on_tick, l->opts.handshake_ms, 0);
    if (!l->outgoing)
        send_hello(l);
}

static void on_tls_read(struct tls_conn *conn, const void *data, size_t len)
{
    struct link *l = tls_conn_arg(conn);
    const unsigned char *p = data;

    while (len > 0 && l->state != LS_CLOSING) {
        struct frame f = {NULL, 0};
        size_t used = 0;
        int r = frame_reader_feed(&f, &used, &l->reader, p, len);

        if (r < 0) {
            link_fail(l, "proto",
                      r == OER_EPROTO ? l->reader.reason : "out of memory");
            return;
        }
        p += used;
        len -= used;
        if (r == 1) {
            on_frame(l, &f);
            free(f.body);
        }
    }
}

static void on_tls_drain(struct tls_conn *conn)
{
    struct link *l = tls_conn_arg(conn);

    if (!l->full || l->state == LS_CLOSING)
        return;
    l->full = 0;
    tls_conn_read_start(conn);
    log_debug(MOD, "queue drained, reading again", "peer", l->name, NULL);
}

/* Why a connection ended that this layer did not end itself. */
static const char *end_why(const struct link *l, enum tls_end end)
{
    switch (end) {
    case TLS_END_CLEAN:
        return "the peer closed the connection without BYE";
    case TLS_END_TRUNCATED:
        return "the connection was cut (no close_notify)";
    case TLS_END_TIMEOUT:
        return "the TLS handshake timed out";
    case TLS_END_REFUSED:
        return "the peer's key was refused";
    case TLS_END_PROTOCOL:
        if (l->outgoing && l->state == LS_HELLO)
            return "TLS failed after the handshake: does the peer know "
                   "our key?";
        return "TLS failed (version, certificate or ALPN)";
    case TLS_END_LOCAL:
        return "closed here";
    default:
        return "could not connect, or the connection broke";
    }
}

static void on_timer_closed(uv_handle_t *h)
{
    struct link *l = h->data;

    if (!l->silent)
        l->opts.on_close(l, l->why, l->orderly);
    message_free(l->hello);
    frame_reader_release(&l->reader);
    free(l);
}

static void on_tls_close(struct tls_conn *conn, enum tls_end end)
{
    struct link *l = tls_conn_arg(conn);
    char n[24];

    if (l->why[0] == '\0')
        snprintf(l->why, sizeof(l->why), "%s", end_why(l, end));
    if (end == TLS_END_TRUNCATED &&
        (l->reader.prefix_len > 0 || l->reader.have > 0))
        log_info(MOD, "partial frame discarded", "peer", l->name, "bytes",
                 log_num(n, (long long)(l->reader.prefix_len + l->reader.have)),
                 NULL);
    if (l->state >= LS_HELLO || l->peer != NULL)
        log_info(MOD, "connection closed", "peer", l->name, "addr", l->addr,
                 "reason", l->why, NULL);
    l->conn = NULL;
    l->state = LS_CLOSING;
    uv_close((uv_handle_t *)&l->timer, on_timer_closed);
}

/* ---- making links ---- */

static struct link *link_new(uv_loop_t *loop, const struct link_opts *opts,
                             int outgoing, struct tls_conn_opts *topts)
{
    struct link *l = calloc(1, sizeof(*l));

    INVARIANT(opts->on_verify && opts->on_hello && opts->on_open &&
              opts->on_close);
    if (l == NULL)
        return NULL;
    l->opts = *opts;
    l->outgoing = outgoing;
    l->stats.rtt_ms = -1;
    snprintf(l->name, sizeof(l->name), "?");
    snprintf(l->addr, sizeof(l->addr), "?");
    frame_reader_init(&l->reader);
    INVARIANT(uv_timer_init(loop, &l->timer) == 0);
    l->timer.data = l;

    memset(topts, 0, sizeof(*topts));
    topts->on_verify = on_tls_verify;
    topts->on_handshake = on_tls_handshake;
    topts->on_read = on_tls_read;
    topts->on_drain = on_tls_drain;
    topts->on_close = on_tls_close;
    topts->arg = l;
    topts->timeout_ms = opts->handshake_ms;
    topts->write_limit = opts->write_limit;
    return l;
}

/* The TLS connection could not be made: free without callbacks. */
static int abandon(struct link *l, int err)
{
    l->silent = 1;
    uv_close((uv_handle_t *)&l->timer, on_timer_closed);
    return err;
}

int link_accept(struct link **out, struct tls_context *ctx, uv_stream_t *server,
                const struct link_opts *opts)
{
    struct tls_conn_opts topts;
    struct link *l = link_new(server->loop, opts, 0, &topts);
    int r;

    *out = NULL;
    if (l == NULL)
        return OER_ENOMEM;
    r = tls_conn_accept(&l->conn, ctx, server, &topts);
    if (r < 0)
        return abandon(l, r);
    snprintf(l->addr, sizeof(l->addr), "%s", tls_conn_peer_addr(l->conn));
    *out = l;
    return 0;
}

int link_connect(struct link **out, struct tls_context *ctx, uv_loop_t *loop,
                 const struct sockaddr *addr, const struct link_opts *opts)
{
    struct tls_conn_opts topts;
    struct link *l = link_new(loop, opts, 1, &topts);
    int r;

    *out = NULL;
    if (l == NULL)
        return OER_ENOMEM;
    r = tls_conn_connect(&l->conn, ctx, loop, addr, &topts);
    if (r < 0)
        return abandon(l, r);
    snprintf(l->addr, sizeof(l->addr), "%s", tls_conn_peer_addr(l->conn));
    *out = l;
    return 0;
}

/* ---- what the owner reads ---- */

void link_set_peer(struct link *l, const char *name, void *peer)
{
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->peer = peer;
}

void *link_peer(const struct link *l)
{
    return l->peer;
}

const struct message_hello *link_hello(const struct link *l)
{
    return l->hello != NULL ? &l->hello->u.hello : NULL;
}

int link_is_open(const struct link *l)
{
    return l->state == LS_OPEN;
}

int link_outgoing(const struct link *l)
{
    return l->outgoing;
}

int link_peer_key(struct identity_pub *out, const struct link *l)
{
    if (l->conn == NULL)
        return OER_ENOTFOUND;
    return tls_conn_peer_key(out, l->conn);
}

const char *link_addr(const struct link *l)
{
    return l->addr;
}

int64_t link_since(const struct link *l)
{
    return l->since;
}

void link_stats(struct link_stats *out, const struct link *l)
{
    *out = l->stats;
    out->stalled = l->full;
}

void *link_arg(const struct link *l)
{
    return l->opts.arg;
}
