/*
 * Tests of federation/tls: real TLS 1.3 on loopback between two
 * connections on one loop, and against `openssl s_client` and raw TCP
 * clients: pinned keys, refusals and their log lines, large transfers
 * through partial writes, timeouts, truncation and backpressure.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <uv.h>

#include "federation/identity.h"
#include "federation/tls.h"
#include "node/error.h"
#include "node/log.h"
#include "testutil.h"

#define MIB (1024 * 1024)
#define DEADLINE_MS 15000

/* ---- what every test shares: keys, contexts, a loop, the log ---- */

struct fixture {
    char *dir;
    struct identity *a, *b, *c; /* server, client, stranger */
    struct tls_context *ctx_a, *ctx_b, *ctx_c;
    char fp_a[64], fp_b[64], fp_c[64];
    char key_b[512], cert_b[512], expired_b[512];
    uv_loop_t loop;
    uv_tcp_t listener;
    int port;
    FILE *log;
    char *log_text;
    size_t log_len;
};

static struct fixture fx;

/* One side of a connection, as the test sees it. */
struct end {
    struct tls_conn *conn;
    const char *pin; /* the one key this side accepts */
    struct tls_context *ctx;
    unsigned timeout_ms;
    size_t write_limit;
    int handshake;    /* status; 1 until on_handshake */
    char peer_fp[64]; /* tls_conn_peer_fingerprint at the handshake */
    int closed;
    enum tls_end why;
    unsigned char *got; /* what was read */
    size_t got_len, got_cap;
    size_t send_len, sent; /* pattern bytes to send, and sent */
    int small_writes;      /* send them 10 bytes a write */
    int reads;             /* on_read calls */
    int close_when_done;   /* close once all is sent and expect read */
    size_t expect;
    int fulls, drains;
    size_t max_queued;
    uint64_t last_drain;
    int pause_at_open;
    const char *trigger; /* once this was read, call on_trigger */
    void (*on_trigger)(void);
};

static struct end *next_server;

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 131 + (i >> 11) * 7 + 3);
}

static void fingerprint(char *buf, const struct identity *id)
{
    struct identity_pub pub;

    identity_public(&pub, id);
    identity_fingerprint(buf, 64, &pub);
}

/* Write a self-signed PEM certificate for id, valid between the offsets
 * (in days from now). */
static void write_cert(const char *path, const struct identity *id,
                       long from_days, long to_days)
{
    EVP_PKEY *key = identity_pkey(id);
    X509 *x = X509_new();
    FILE *f;

    assert_non_null(x);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"test peer", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, NULL) > 0);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    X509_free(x);
}

static struct identity *new_identity(const char *name, char *path_out)
{
    struct identity *id = NULL;
    char path[512];

    snprintf(path, sizeof(path), "%s/%s.pem", fx.dir, name);
    assert_int_equal(identity_generate(&id, path), 0);
    if (path_out != NULL)
        strcpy(path_out, path);
    return id;
}

static int group_setup(void **state)
{
    fx.dir = testutil_tmpdir("tls");
    fx.a = new_identity("a", NULL);
    fx.b = new_identity("b", fx.key_b);
    fx.c = new_identity("c", NULL);
    fingerprint(fx.fp_a, fx.a);
    fingerprint(fx.fp_b, fx.b);
    fingerprint(fx.fp_c, fx.c);
    assert_int_equal(tls_context_new(&fx.ctx_a, fx.a), 0);
    assert_int_equal(tls_context_new(&fx.ctx_b, fx.b), 0);
    assert_int_equal(tls_context_new(&fx.ctx_c, fx.c), 0);
    snprintf(fx.cert_b, sizeof(fx.cert_b), "%s/b.crt", fx.dir);
    snprintf(fx.expired_b, sizeof(fx.expired_b), "%s/b-expired.crt", fx.dir);
    write_cert(fx.cert_b, fx.b, -1, 30);
    write_cert(fx.expired_b, fx.b, -400, -35);
    return 0;
}

static int group_teardown(void **state)
{
    tls_context_free(fx.ctx_a);
    tls_context_free(fx.ctx_b);
    tls_context_free(fx.ctx_c);
    identity_free(fx.a);
    identity_free(fx.b);
    identity_free(fx.c);
    testutil_run(NULL, 0, "rm -rf '%s'", fx.dir);
    free(fx.dir);
    return 0;
}

static int log_has(const char *needle)
{
    fflush(fx.log);
    return fx.log_text != NULL && strstr(fx.log_text, needle) != NULL;
}

static int log_has2(const char *a, const char *b)
{
    const char *line;

    fflush(fx.log);
    for (line = fx.log_text; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char *copy = strndup(line, n);
        int hit = strstr(copy, a) != NULL && strstr(copy, b) != NULL;

        free(copy);
        if (hit)
            return 1;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* ---- connection callbacks ---- */

static int on_verify(struct tls_conn *conn, const char *fp)
{
    struct end *e = tls_conn_arg(conn);

    return e->pin != NULL && strcmp(fp, e->pin) == 0 ? 0 : OER_ECRYPTO;
}

static void maybe_close(struct end *e)
{
    if (e->close_when_done && e->conn != NULL && e->sent == e->send_len &&
        e->got_len >= e->expect)
        tls_conn_close(e->conn);
}

/* Send the pattern in chunk sizes that never line up with records. */
static void pump(struct end *e)
{
    static const size_t sizes[] = {1,     3,      100,   4096,   16383,
                                   16385, 65536,  70001, 1000,   300000,
                                   17,    131072, 9999,  1048576};
    unsigned char *chunk = malloc(1048576);
    size_t k = e->sent;

    assert_non_null(chunk);
    while (e->sent < e->send_len) {
        size_t n = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
        size_t i;
        int r;

        if (n > e->send_len - e->sent)
            n = e->send_len - e->sent;
        for (i = 0; i < n; i++)
            chunk[i] = pattern(e->sent + i);
        r = tls_conn_write(e->conn, chunk, n);
        assert_true(r == 0 || r == TLS_CONN_FULL);
        e->sent += n;
        if (tls_conn_queued(e->conn) > e->max_queued)
            e->max_queued = tls_conn_queued(e->conn);
        if (r == TLS_CONN_FULL) {
            e->fulls++;
            break;
        }
    }
    free(chunk);
    maybe_close(e);
}

static void on_handshake(struct tls_conn *conn, int status)
{
    struct end *e = tls_conn_arg(conn);

    e->handshake = status;
    if (status != 0)
        return;
    snprintf(e->peer_fp, sizeof(e->peer_fp), "%s",
             tls_conn_peer_fingerprint(conn));
    if (e->pause_at_open)
        tls_conn_read_stop(conn);
    for (; e->small_writes && e->sent < e->send_len; e->sent += 10) {
        unsigned char bytes[10];
        size_t i;

        for (i = 0; i < sizeof(bytes); i++)
            bytes[i] = pattern(e->sent + i);
        assert_int_equal(tls_conn_write(conn, bytes, sizeof(bytes)), 0);
    }
    if (e->send_len > 0)
        pump(e);
}

static void on_drain(struct tls_conn *conn)
{
    struct end *e = tls_conn_arg(conn);

    e->drains++;
    e->last_drain = uv_now(&fx.loop);
    pump(e);
}

static void kill_client(void);
static void end_client_input(void);

static void on_read(struct tls_conn *conn, const void *data, size_t len)
{
    struct end *e = tls_conn_arg(conn);

    if (e->got_len + len > e->got_cap) {
        e->got_cap = (e->got_len + len) * 2;
        e->got = realloc(e->got, e->got_cap + 1);
        assert_non_null(e->got);
    }
    e->reads++;
    memcpy(e->got + e->got_len, data, len);
    e->got_len += len;
    e->got[e->got_len] = '\0';
    if (e->trigger != NULL && strstr((char *)e->got, e->trigger) != NULL) {
        e->trigger = NULL;
        e->on_trigger();
    }
    maybe_close(e);
}

static void on_close(struct tls_conn *conn, enum tls_end why)
{
    struct end *e = tls_conn_arg(conn);

    assert_false(e->closed);
    e->closed = 1;
    e->why = why;
    e->conn = NULL;
}

static struct tls_conn_opts opts_for(struct end *e)
{
    struct tls_conn_opts o = {
        .on_verify = on_verify,
        .on_handshake = on_handshake,
        .on_read = on_read,
        .on_drain = on_drain,
        .on_close = on_close,
        .arg = e,
        .timeout_ms = e->timeout_ms ? e->timeout_ms : 3000,
        .write_limit = e->write_limit,
    };

    return o;
}

static void end_init(struct end *e, struct tls_context *ctx, const char *pin)
{
    memset(e, 0, sizeof(*e));
    e->ctx = ctx;
    e->pin = pin;
    e->handshake = 1;
}

static void end_release(struct end *e)
{
    free(e->got);
    e->got = NULL;
}

/* ---- loop, listener ---- */

static void on_connection(uv_stream_t *server, int status)
{
    struct end *e = next_server;
    struct tls_conn_opts o;

    assert_int_equal(status, 0);
    assert_non_null(e);
    o = opts_for(e);
    assert_int_equal(tls_conn_accept(&e->conn, e->ctx, server, &o), 0);
    next_server = NULL;
}

static int setup(void **state)
{
    struct sockaddr_in addr;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    fx.log = open_memstream(&fx.log_text, &fx.log_len);
    assert_non_null(fx.log);
    log_set_stream(fx.log);
    assert_int_equal(uv_loop_init(&fx.loop), 0);
    assert_int_equal(uv_tcp_init(&fx.loop, &fx.listener), 0);
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
    assert_int_equal(
        uv_tcp_bind(&fx.listener, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&fx.listener, 16, on_connection),
                     0);
    assert_int_equal(
        uv_tcp_getsockname(&fx.listener, (struct sockaddr *)&ss, &len), 0);
    fx.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

static int teardown(void **state)
{
    uv_close((uv_handle_t *)&fx.listener, NULL);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx.loop), 0);
    log_set_stream(NULL);
    if (getenv("TLS_TEST_LOG") != NULL)
        fputs(fx.log_text, stderr);
    fclose(fx.log);
    free(fx.log_text);
    fx.log_text = NULL;
    next_server = NULL;
    return 0;
}

static void on_deadline(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

static void on_tick(uv_timer_t *t)
{
}

/* Run the loop until done(arg) holds; fail after DEADLINE_MS. */
static void run_until(int (*done)(void *), void *arg)
{
    uv_timer_t timer, tick;
    int expired = 0;

    /* The tick wakes the loop so that conditions on time are seen. */
    uv_timer_init(&fx.loop, &timer);
    uv_timer_init(&fx.loop, &tick);
    timer.data = &expired;
    uv_timer_start(&timer, on_deadline, DEADLINE_MS, 0);
    uv_timer_start(&tick, on_tick, 50, 50);
    while (!done(arg) && !expired)
        uv_run(&fx.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&fx.loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

static int both_closed(void *arg)
{
    struct end *e = arg;

    return e[0].closed && e[1].closed;
}

static int one_closed(void *arg)
{
    return ((struct end *)arg)->closed;
}

static void connect_client(struct end *e)
{
    struct sockaddr_in addr;
    struct tls_conn_opts o = opts_for(e);

    uv_ip4_addr("127.0.0.1", fx.port, &addr);
    assert_int_equal(tls_conn_connect(&e->conn, e->ctx, &fx.loop,
                                      (const struct sockaddr *)&addr, &o),
                     0);
}

static void check_pattern(const struct end *e, size_t len)
{
    size_t i;

    assert_int_equal(e->got_len, len);
    for (i = 0; i < len; i++) {
        if (e->got[i] != pattern(i))
            fail_msg("byte %zu differs", i);
    }
}

/* ---- two of our own connections ---- */

/* Both ways at once, 5 MiB each, in chunks that force partial writes;
 * the server speaks first; the client closes, the server sees it clean. */
static void test_exchange_both_ways(void **state)
{
    struct end e[2];

    end_init(&e[0], fx.ctx_a, fx.fp_b);
    end_init(&e[1], fx.ctx_b, fx.fp_a);
    e[0].send_len = 5 * MIB;
    e[1].send_len = 5 * MIB;
    e[1].close_when_done = 1;
    e[1].expect = 5 * MIB;
    next_server = &e[0];
    connect_client(&e[1]);
    run_until(both_closed, e);
    assert_int_equal(e[0].handshake, 0);
    assert_int_equal(e[1].handshake, 0);
    assert_int_equal(e[0].why, TLS_END_CLEAN);
    assert_int_equal(e[1].why, TLS_END_LOCAL);
    assert_string_equal(e[0].peer_fp, fx.fp_b);
    assert_string_equal(e[1].peer_fp, fx.fp_a);
    assert_true(log_has2("connection open", fx.fp_b));
    assert_true(log_has2("reason=clean", "role=server"));
    check_pattern(&e[0], 5 * MIB);
    check_pattern(&e[1], 5 * MIB);
    end_release(&e[0]);
    end_release(&e[1]);
}

/* Small writes of one loop iteration leave together: the reader gets
 * them in one record, not a thousand. */
static void test_small_writes_coalesced(void **state)
{
    struct end e[2];

    end_init(&e[0], fx.ctx_a, fx.fp_b);
    end_init(&e[1], fx.ctx_b, fx.fp_a);
    e[0].send_len = 10000;
    e[0].small_writes = 1;
    e[1].expect = 10000;
    e[1].close_when_done = 1;
    next_server = &e[0];
    connect_client(&e[1]);
    run_until(both_closed, e);
    check_pattern(&e[1], 10000);
    assert_true(e[1].reads <= 2);
    assert_int_equal(e[0].why, TLS_END_CLEAN);
    end_release(&e[0]);
    end_release(&e[1]);
}

/* B23 (d): a peer with another key is refused, and says so in the log. */
static void test_unknown_key_refused(void **state)
{
    struct end e[2];

    end_init(&e[0], fx.ctx_a, fx.fp_b);
    end_init(&e[1], fx.ctx_c, fx.fp_a);
    e[0].send_len = 1000;
    e[1].send_len = 1000;
    next_server = &e[0];
    connect_client(&e[1]);
    run_until(both_closed, e);
    assert_int_equal(e[0].handshake, OER_ECRYPTO);
    assert_int_equal(e[0].why, TLS_END_REFUSED);
    assert_int_equal(e[0].got_len, 0);
    /* TLS 1.3: the client learns it was refused when it reads. */
    assert_int_equal(e[1].why, TLS_END_PROTOCOL);
    assert_int_equal(e[1].got_len, 0);
    assert_true(log_has2("reason=\"peer key refused\"", fx.fp_c));
    assert_true(log_has2("peer sent an alert", "role=client") ||
                log_has("msg=\"peer sent an alert\""));
    end_release(&e[0]);
    end_release(&e[1]);
}

/* The client dials a peer pinned to one key and finds another. */
static void test_server_key_mismatch_refused(void **state)
{
    struct end e[2];

    end_init(&e[0], fx.ctx_a, fx.fp_b);
    end_init(&e[1], fx.ctx_b, fx.fp_c);
    e[0].send_len = 1000;
    next_server = &e[0];
    connect_client(&e[1]);
    run_until(both_closed, e);
    assert_int_equal(e[1].handshake, OER_ECRYPTO);
    assert_int_equal(e[1].why, TLS_END_REFUSED);
    assert_int_equal(e[1].got_len, 0);
    assert_int_not_equal(e[0].handshake, 0);
    assert_int_equal(e[0].why, TLS_END_PROTOCOL);
    assert_true(log_has2("role=client", "reason=\"peer key refused\""));
    assert_true(log_has2("reason=\"peer key refused\"", fx.fp_a));
    end_release(&e[0]);
    end_release(&e[1]);
}

/* B23 (c): a new certificate for the same key (another context, another
 * serial and dates) is the same peer. */
static void test_renewed_certificate_same_key(void **state)
{
    struct tls_context *renewed = NULL;
    int round;

    assert_int_equal(tls_context_new(&renewed, fx.b), 0);
    for (round = 0; round < 2; round++) {
        struct end e[2];

        end_init(&e[0], fx.ctx_a, fx.fp_b);
        end_init(&e[1], round == 0 ? fx.ctx_b : renewed, fx.fp_a);
        e[0].send_len = 10;
        e[1].expect = 10;
        e[1].close_when_done = 1;
        next_server = &e[0];
        connect_client(&e[1]);
        run_until(both_closed, e);
        assert_int_equal(e[0].handshake, 0);
        assert_string_equal(e[0].peer_fp, fx.fp_b);
        check_pattern(&e[1], 10);
        assert_int_equal(e[0].why, TLS_END_CLEAN);
        end_release(&e[0]);
        end_release(&e[1]);
    }
    tls_context_free(renewed);
}

/* Backpressure: a reader that stops makes the writer's queue report
 * full and stay bounded; once it reads again, everything arrives. */
static int writer_stalled(void *arg)
{
    struct end *e = arg;

    return e->fulls > 0 && e->conn != NULL && tls_conn_queued(e->conn) > 0 &&
           uv_now(&fx.loop) - e->last_drain > 500;
}

static void test_backpressure(void **state)
{
    const size_t limit = 256 * 1024;
    unsigned char chunk[65536];
    struct end e[2];
    int r;

    end_init(&e[0], fx.ctx_a, fx.fp_b);
    end_init(&e[1], fx.ctx_b, fx.fp_a);
    e[0].write_limit = limit;
    e[0].send_len = 256 * MIB;
    e[1].pause_at_open = 1;
    next_server = &e[0];
    connect_client(&e[1]);
    e[0].last_drain = uv_now(&fx.loop);
    run_until(writer_stalled, &e[0]);

    /* The producer stopped at the bound: one chunk over it at most. */
    assert_true(e[0].sent < e[0].send_len);
    assert_true(e[0].max_queued <= limit + MIB);
    assert_true(e[1].got_len == 0);

    /* A producer that ignores the signal is refused, not buffered. */
    do {
        memset(chunk, 0, sizeof(chunk));
        r = tls_conn_write(e[0].conn, chunk, sizeof(chunk));
    } while (r == TLS_CONN_FULL);
    assert_int_equal(r, OER_ENOMEM);
    assert_true(tls_conn_queued(e[0].conn) <= 16 * limit + sizeof(chunk));
    assert_true(log_has("write refused"));
    tls_conn_close(e[0].conn);

    tls_conn_read_start(e[1].conn);
    run_until(both_closed, e);
    assert_int_equal(e[0].why, TLS_END_LOCAL);
    assert_int_equal(e[1].why, TLS_END_CLEAN);
    assert_true(e[1].got_len > e[0].sent);
    e[1].got_len = e[0].sent;
    check_pattern(&e[1], e[0].sent);
    end_release(&e[0]);
    end_release(&e[1]);
}

/* Nobody listening: the dial fails as an I/O error, through callbacks. */
static void test_connect_refused(void **state)
{
    struct end client;
    struct sockaddr_in addr;
    struct tls_conn_opts o;

    end_init(&client, fx.ctx_b, fx.fp_a);
    o = opts_for(&client);
    uv_ip4_addr("127.0.0.1", 1, &addr);
    assert_int_equal(tls_conn_connect(&client.conn, fx.ctx_b, &fx.loop,
                                      (const struct sockaddr *)&addr, &o),
                     0);
    run_until(one_closed, &client);
    assert_int_equal(client.handshake, OER_EIO);
    assert_int_equal(client.why, TLS_END_IO);
    assert_true(log_has2("connect failed", "127.0.0.1:1 "));
    end_release(&client);
}

/* ---- raw TCP clients ---- */

struct raw {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    const char *send;
    int closed;
    char buf[4096];
};

static void on_raw_closed(uv_handle_t *h)
{
    ((struct raw *)h->data)->closed = 1;
}

static void on_raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct raw *r = h->data;

    *b = uv_buf_init(r->buf, sizeof(r->buf));
}

/* Read whatever comes until the server hangs up, then close. */
static void on_raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n < 0 && !uv_is_closing((uv_handle_t *)s))
        uv_close((uv_handle_t *)s, on_raw_closed);
}

static void on_raw_connected(uv_connect_t *req, int status)
{
    struct raw *r = req->data;
    uv_buf_t b;

    assert_int_equal(status, 0);
    uv_read_start((uv_stream_t *)&r->tcp, on_raw_alloc, on_raw_read);
    if (r->send == NULL)
        return;
    b = uv_buf_init((char *)r->send, (unsigned int)strlen(r->send));
    assert_int_equal(uv_write(&r->write, (uv_stream_t *)&r->tcp, &b, 1, NULL),
                     0);
}

static void raw_connect(struct raw *r, const char *send)
{
    struct sockaddr_in addr;

    memset(r, 0, sizeof(*r));
    r->send = send;
    uv_tcp_init(&fx.loop, &r->tcp);
    r->tcp.data = r;
    r->connect.data = r;
    uv_ip4_addr("127.0.0.1", fx.port, &addr);
    assert_int_equal(uv_tcp_connect(&r->connect, &r->tcp,
                                    (const struct sockaddr *)&addr,
                                    on_raw_connected),
                     0);
}

struct raw_case {
    struct end *server;
    struct raw *raw;
};

static int raw_done(void *arg)
{
    struct raw_case *rc = arg;

    return rc->server->closed && rc->raw->closed;
}

/* Plain TCP speaking HTTP is refused as a protocol error, with a log
 * line saying what came. */
static void test_plain_http_refused(void **state)
{
    struct end server;
    struct raw raw;
    struct raw_case rc = {&server, &raw};

    end_init(&server, fx.ctx_a, fx.fp_b);
    next_server = &server;
    raw_connect(&raw, "GET / HTTP/1.1\r\nHost: node.example\r\n\r\n");
    run_until(raw_done, &rc);
    assert_int_equal(server.handshake, OER_EPROTO);
    assert_int_equal(server.why, TLS_END_PROTOCOL);
    assert_true(log_has2("handshake failed", "http request"));
    end_release(&server);
}

/* Another protocol altogether. */
static void test_garbage_refused(void **state)
{
    struct end server;
    struct raw raw;
    struct raw_case rc = {&server, &raw};

    end_init(&server, fx.ctx_a, fx.fp_b);
    next_server = &server;
    raw_connect(&raw, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    run_until(raw_done, &rc);
    assert_int_equal(server.handshake, OER_EPROTO);
    assert_int_equal(server.why, TLS_END_PROTOCOL);
    assert_true(log_has2("handshake failed", "wrong version number"));
    end_release(&server);
}

/* A peer that connects and says nothing is cut at the timeout. */
static void test_silent_peer_times_out(void **state)
{
    struct end server;
    struct raw raw;
    struct raw_case rc = {&server, &raw};
    uint64_t start;

    end_init(&server, fx.ctx_a, fx.fp_b);
    server.timeout_ms = 200;
    next_server = &server;
    uv_update_time(&fx.loop);
    start = uv_now(&fx.loop);
    raw_connect(&raw, NULL);
    run_until(raw_done, &rc);
    assert_int_equal(server.handshake, OER_ETIMEOUT);
    assert_int_equal(server.why, TLS_END_TIMEOUT);
    assert_true(uv_now(&fx.loop) - start >= 200);
    assert_true(uv_now(&fx.loop) - start < 2000);
    assert_true(log_has("reason=\"handshake timed out\""));
    end_release(&server);
}

/* ---- openssl s_client as the peer ---- */

struct client {
    uv_process_t proc;
    uv_pipe_t in, out;
    uv_write_t write;
    int exited;
    int open_handles;
    size_t out_len;
    size_t kill_after; /* kill once this much came out, if set */
    char text[65536];  /* the start of its stdout */
    char rbuf[65536];
};

static struct client *current_client;

static void kill_client(void)
{
    if (current_client != NULL && !current_client->exited)
        uv_process_kill(&current_client->proc, SIGKILL);
}

static void client_close(uv_handle_t *h);

static void end_client_input(void)
{
    client_close((uv_handle_t *)&current_client->in);
}

static void on_client_handle_closed(uv_handle_t *h)
{
    ((struct client *)h->data)->open_handles--;
}

static void client_close(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, on_client_handle_closed);
}

static void on_client_exit(uv_process_t *p, int64_t status, int sig)
{
    struct client *cl = p->data;

    cl->exited = 1;
    client_close((uv_handle_t *)p);
}

static void on_client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct client *cl = h->data;

    *b = uv_buf_init(cl->rbuf, sizeof(cl->rbuf));
}

static void on_client_out(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct client *cl = s->data;
    size_t room = sizeof(cl->text) - 1 - strlen(cl->text);

    if (n < 0) {
        client_close((uv_handle_t *)s);
        return;
    }
    memcpy(cl->text + strlen(cl->text), b->base,
           (size_t)n < room ? (size_t)n : room);
    cl->out_len += (size_t)n;
    if (cl->kill_after > 0 && cl->out_len >= cl->kill_after)
        kill_client();
}

/* Start `openssl s_client -connect 127.0.0.1:port` with more arguments. */
static void client_start(struct client *cl, const char *const *more)
{
    char target[32];
    char *args[24] = {"openssl", "s_client", "-connect", target};
    uv_stdio_container_t stdio[3];
    uv_process_options_t o = {0};
    int n = 4;

    memset(cl, 0, sizeof(*cl));
    snprintf(target, sizeof(target), "127.0.0.1:%d", fx.port);
    while (*more != NULL)
        args[n++] = (char *)*more++;
    args[n] = NULL;
    uv_pipe_init(&fx.loop, &cl->in, 0);
    uv_pipe_init(&fx.loop, &cl->out, 0);
    cl->proc.data = cl->in.data = cl->out.data = cl;
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&cl->in;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&cl->out;
    stdio[2].flags = getenv("TLS_TEST_LOG") ? UV_INHERIT_FD : UV_IGNORE;
    stdio[2].data.fd = 2;
    o.file = "openssl";
    o.args = args;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = on_client_exit;
    assert_int_equal(uv_spawn(&fx.loop, &cl->proc, &o), 0);
    cl->open_handles = 3;
    uv_read_start((uv_stream_t *)&cl->out, on_client_alloc, on_client_out);
    current_client = cl;
}

static void client_send(struct client *cl, const char *line)
{
    uv_buf_t b = uv_buf_init((char *)line, (unsigned int)strlen(line));

    assert_int_equal(uv_write(&cl->write, (uv_stream_t *)&cl->in, &b, 1, NULL),
                     0);
}

static int client_gone(void *arg)
{
    return ((struct client *)arg)->open_handles == 0;
}

/* Kill it if it still runs, and wait until its handles are closed. */
static void client_finish(struct client *cl)
{
    kill_client();
    client_close((uv_handle_t *)&cl->in);
    client_close((uv_handle_t *)&cl->out);
    run_until(client_gone, cl);
    current_client = NULL;
}

/* An s_client that the server must refuse, with why in its log line. */
static void check_client_refused(const char *const *args, const char *why)
{
    struct end server;
    struct client cl;

    end_init(&server, fx.ctx_a, fx.fp_b);
    next_server = &server;
    client_start(&cl, args);
    run_until(one_closed, &server);
    client_finish(&cl);
    assert_int_not_equal(server.handshake, 0);
    assert_int_equal(server.why, TLS_END_PROTOCOL);
    assert_int_equal(server.got_len, 0);
    if (!log_has2("handshake failed", why))
        fail_msg("no log line with %s in:\n%s", why, fx.log_text);
    end_release(&server);
}

static void test_tls12_refused(void **state)
{
    const char *args[] = {"-tls1_2", "-alpn", TLS_ALPN, "-cert",
                          fx.cert_b, "-key",  fx.key_b, NULL};

    check_client_refused(args, "peer does not offer tls 1.3");
}

static void test_no_client_certificate_refused(void **state)
{
    const char *args[] = {"-tls1_3", "-alpn", TLS_ALPN, NULL};

    check_client_refused(args, "peer did not return a certificate");
}

static void test_wrong_alpn_refused(void **state)
{
    const char *args[] = {"-tls1_3", "-alpn", "other/1", "-cert",
                          fx.cert_b, "-key",  fx.key_b,  NULL};

    check_client_refused(args, "peer does not offer alpn oernode/1");
}

static void test_no_alpn_refused(void **state)
{
    const char *args[] = {"-tls1_3", "-cert",  fx.cert_b,
                          "-key",    fx.key_b, NULL};

    check_client_refused(args, "peer offers no alpn");
}

/* B23 (a): an expired self-signed certificate for a pinned key is the
 * peer (noted in the log); B26: its close_notify (s_client at the end of
 * its input) is a clean end.  Our own certificate runs to 9999 (b). */
static void test_expired_certificate_accepted(void **state)
{
    const char *args[] = {"-tls1_3",    "-alpn", TLS_ALPN, "-cert",
                          fx.expired_b, "-key",  fx.key_b, NULL};
    struct end server;
    struct client cl;

    end_init(&server, fx.ctx_a, fx.fp_b);
    next_server = &server;
    client_start(&cl, args);
    client_send(&cl, "hello from an old certificate\n");
    server.trigger = "\n";
    server.on_trigger = end_client_input;
    run_until(one_closed, &server);
    assert_int_equal(server.handshake, 0);
    assert_string_equal(server.peer_fp, fx.fp_b);
    assert_string_equal((char *)server.got, "hello from an old certificate\n");
    assert_true(log_has2("peer certificate expired", fx.fp_b));
    assert_int_equal(server.why, TLS_END_CLEAN);
    client_finish(&cl);
    assert_non_null(strstr(cl.text, "9999"));
    end_release(&server);
}

/* B26 (a): data sent before a TCP FIN without close_notify is delivered,
 * and the end is reported as truncated, never clean. */
static void test_fin_without_close_notify_truncated(void **state)
{
    const char *args[] = {"-tls1_3", "-alpn", TLS_ALPN, "-cert",
                          fx.cert_b, "-key",  fx.key_b, NULL};
    struct end server;
    struct client cl;

    end_init(&server, fx.ctx_a, fx.fp_b);
    next_server = &server;
    client_start(&cl, args);
    client_send(&cl, "one complete frame\n");
    server.trigger = "\n";
    server.on_trigger = kill_client;
    run_until(one_closed, &server);
    client_finish(&cl);
    assert_int_equal(server.handshake, 0);
    assert_string_equal((char *)server.got, "one complete frame\n");
    assert_int_equal(server.why, TLS_END_TRUNCATED);
    assert_true(log_has2("connection closed", "reason=truncated"));
    assert_true(log_has("peer ended without close_notify"));
    end_release(&server);
}

/* B25: a 5 MiB send to a reader that dies after 1 MiB ends as a
 * connection error, promptly, without SIGPIPE or a busy loop. */
static void test_reset_mid_transfer(void **state)
{
    const char *args[] = {"-quiet",  "-tls1_3", "-alpn",  TLS_ALPN, "-cert",
                          fx.cert_b, "-key",    fx.key_b, NULL};
    struct end server;
    struct client cl;

    end_init(&server, fx.ctx_a, fx.fp_b);
    server.send_len = 5 * MIB;
    next_server = &server;
    client_start(&cl, args);
    cl.kill_after = MIB;
    run_until(one_closed, &server);
    client_finish(&cl);
    assert_int_equal(server.handshake, 0);
    assert_true(cl.out_len >= MIB);
    assert_true(server.why == TLS_END_IO || server.why == TLS_END_TRUNCATED);
    end_release(&server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exchange_both_ways, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_small_writes_coalesced, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_server_key_mismatch_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_renewed_certificate_same_key,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_http_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_garbage_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_peer_times_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls12_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_client_certificate_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_alpn_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_alpn_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_certificate_accepted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fin_without_close_notify_truncated,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_mid_transfer, setup,
                                        teardown),
    };

    /* A daemon ignores SIGPIPE; a reset peer is an error code, not death. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
