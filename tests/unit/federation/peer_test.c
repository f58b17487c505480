/*
 * Tests of federation/peer and federation/link: real peer tables and a
 * small test client, all with real TLS 1.3 on loopback and one loop:
 * HELLO and PING/PONG, declared use, one connection after a simultaneous
 * dial, refused keys and identities, versions, violations, silence, a
 * peer that stops reading, BYE on shutdown and redialling with backoff.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include "config/config.h"
#include "federation/identity.h"
#include "federation/peer.h"
#include "federation/tls.h"
#include "node/error.h"
#include "node/log.h"
#include "protocol/frame.h"
#include "protocol/message.h"
#include "testutil.h"

#define DEADLINE_MS 10000

enum { AA, BB, CC, XX, NKEYS };

static const char *const names[NKEYS] = {"aa", "bb", "cc", "xx"};

struct fixture {
    char *dir;
    struct identity *key[NKEYS];
    struct tls_context *tls[NKEYS];
    char fp[NKEYS][64];
    uv_loop_t loop;
    FILE *log;
    char *log_text;
    size_t log_len;
};

static struct fixture fx;

/* log_has looks at the log from this offset on. */
static size_t log_from;

/* ---- the log, keys, configurations ---- */

static int log_has2(const char *a, const char *b)
{
    const char *line;

    fflush(fx.log);
    line = fx.log_text != NULL ? fx.log_text + log_from : NULL;
    while (line != NULL && *line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char *copy = strndup(line, n);
        int hit = strstr(copy, a) != NULL && (b == NULL || strstr(copy, b));

        free(copy);
        if (hit)
            return 1;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

static int log_has(const char *a)
{
    return log_has2(a, NULL);
}

/* n distinct ports that were free a moment ago. */
static void free_ports(int *out, int n)
{
    int fds[4];

    assert_true(n <= 4);
    for (int i = 0; i < n; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t len = sizeof(sa);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fds[i], (struct sockaddr *)&sa, &len), 0);
        out[i] = ntohs(sa.sin_port);
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static int free_port(void)
{
    int port;

    free_ports(&port, 1);
    return port;
}

/* Tables and clients still open, for a teardown after a failure. */
#define LIVE_MAX 8
static struct peer_table *live_tables[LIVE_MAX];
static struct tls_conn **live_conns[LIVE_MAX];

static void remember(void **slots, void *what)
{
    for (int i = 0; i < LIVE_MAX; i++) {
        if (slots[i] == NULL) {
            slots[i] = what;
            return;
        }
    }
    fail_msg("more than %d live objects", LIVE_MAX);
}

static void forget(void **slots, const void *what)
{
    for (int i = 0; i < LIVE_MAX; i++) {
        if (slots[i] == what)
            slots[i] = NULL;
    }
}

static void table_start(struct peer_table **t, const struct peer_options *o)
{
    assert_int_equal(peer_table_start(t, &fx.loop, o), 0);
    remember((void **)live_tables, *t);
}

static void table_stop(struct peer_table *t)
{
    if (t == NULL)
        return;
    forget((void **)live_tables, t);
    peer_table_stop(t);
}

/* One [peer] of a configuration: its id, port and which key is pinned. */
struct peer_spec {
    int who;
    int port;
    int pin;
};

/*
 * The configuration of node me listening on listen_port (0: any), with
 * the peers given; commercial is its declared use.
 */
static struct config *make_config(int me, int listen_port, int commercial,
                                  const struct peer_spec *peers, size_t n)
{
    static int serial;
    char path[600], *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct config *c = NULL;
    struct config_error err;

    fprintf(f, "[node]\n\tid = %s\n[listen]\n\tpeer = 127.0.0.1:%d\n",
            names[me], listen_port);
    fprintf(f, "[policy]\n\tcommercial = %s\n", commercial ? "yes" : "no");
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "[peer \"%s\"]\n\taddress = 127.0.0.1:%d\n"
                "\tfingerprint = %s\n",
                names[peers[i].who], peers[i].port, fx.fp[peers[i].pin]);
    fclose(f);
    snprintf(path, sizeof(path), "%s/config-%d", fx.dir, ++serial);
    testutil_write(path, text, len);
    free(text);
    assert_int_equal(config_load(&c, path, &err), 0);
    return c;
}

/* Short times, so that each test takes a second or two. */
static struct peer_options fast_options(const struct config *c, int me)
{
    struct peer_options o = {
        .config = c,
        .key = fx.key[me],
        .ping_ms = 100,
        .silence_ms = 1500,
        .handshake_ms = 1000,
        .retry_min_ms = 50,
        .retry_max_ms = 400,
    };

    return o;
}

/* ---- running the loop until something holds ---- */

typedef int (*pred_fn)(void *arg);

struct wait {
    uv_timer_t timer;
    pred_fn pred;
    void *arg;
    uint64_t until;
    int held;
};

static void on_poll(uv_timer_t *t)
{
    struct wait *w = t->data;

    w->held = w->pred(w->arg);
    if (w->held || uv_now(t->loop) >= w->until)
        uv_stop(t->loop);
}

/* Run the loop until pred(arg) holds or ms pass; returns whether it
 * held. */
static int run_until(pred_fn pred, void *arg, unsigned ms)
{
    struct wait w = {.pred = pred, .arg = arg};

    w.until = uv_now(&fx.loop) + ms;
    uv_timer_init(&fx.loop, &w.timer);
    w.timer.data = &w;
    uv_timer_start(&w.timer, on_poll, 5, 5);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&w.timer, NULL);
    uv_run(&fx.loop, UV_RUN_NOWAIT);
    return w.held;
}

static int never(void *arg)
{
    return 0;
}

static void run_for(unsigned ms)
{
    run_until(never, NULL, ms);
}

/* Stop a table and let the loop close everything it had. */
static void stop_all(struct peer_table *a, struct peer_table *b)
{
    table_stop(a);
    table_stop(b);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
}

/* ---- what a table says about one peer ---- */

/* The status object of peer id (a new reference), or NULL. */
static json_t *peer_doc(const struct peer_table *t, const char *id)
{
    json_t *doc = peer_table_json(t), *p, *found = NULL;
    size_t i;

    json_array_foreach(json_object_get(doc, "peers"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "id")), id) == 0)
            found = json_incref(p);
    }
    json_decref(doc);
    return found;
}

static char *peer_str(const struct peer_table *t, const char *id,
                      const char *key)
{
    json_t *p = peer_doc(t, id);
    const char *s = json_string_value(json_object_get(p, key));
    char *copy = strdup(s != NULL ? s : "");

    json_decref(p);
    return copy;
}

static long long peer_int(const struct peer_table *t, const char *id,
                          const char *key)
{
    json_t *p = peer_doc(t, id);
    long long v = json_integer_value(json_object_get(p, key));

    json_decref(p);
    return v;
}

static int peer_is(const struct peer_table *t, const char *id,
                   const char *state)
{
    char *s = peer_str(t, id, "state");
    int same = strcmp(s, state) == 0;

    free(s);
    return same;
}

struct probe {
    struct peer_table *t;
    const char *id;
    long long pongs;
};

static int connected_with_pongs(void *arg)
{
    struct probe *p = arg;

    return peer_is(p->t, p->id, "connected") &&
           peer_int(p->t, p->id, "pongs") >= p->pongs;
}

/* ---- a test client: TLS with a pinned key, frames by hand ---- */

struct client {
    struct tls_conn *conn;
    int who;           /* its key */
    int pin;           /* the key it expects of the table */
    const char *node;  /* the node id its HELLO names */
    int old_version;   /* its HELLO says version 0 */
    int answer_hello;  /* send HELLO after the table's */
    int answer_pings;  /* send PONG to PING */
    int stall;         /* after HELLO: stop reading, flood PINGs */
    const void *after; /* raw bytes to send after HELLO */
    size_t after_len;
    struct frame_reader reader;
    int hello;
    int closed;
    char error[256]; /* "code: message" of an ERROR */
    char bye[128];
    uint64_t nonce;   /* of our last PING */
    uint64_t ping_at; /* when it was sent */
    uint64_t max_rtt; /* the slowest PONG */
    int pongs;
    size_t pings_sent;
};

static void client_send(struct client *c, const struct message *m)
{
    unsigned char *buf;
    size_t len;

    assert_int_equal(message_encode(&buf, &len, m, NULL), 0);
    tls_conn_write(c->conn, buf, len);
    free(buf);
}

static void client_hello(struct client *c)
{
    struct message m = {.type = MESSAGE_HELLO};

    m.u.hello.version = c->old_version ? 0 : LIMIT_VERSION;
    m.u.hello.node = c->node;
    m.u.hello.software = "peer_test/1";
    m.u.hello.max_frame = LIMIT_FRAME;
    m.u.hello.max_data_frame = LIMIT_DATA_FRAME;
    client_send(c, &m);
}

/* Many PINGs at once, to a table that will not get its PONGs out. */
static void flood(struct client *c)
{
    struct message m = {.type = MESSAGE_PING};
    unsigned char *one, *all;
    size_t len, n = 20000;

    m.u.ping.nonce = 7;
    assert_int_equal(message_encode(&one, &len, &m, NULL), 0);
    all = malloc(len * n);
    assert_non_null(all);
    for (size_t i = 0; i < n; i++)
        memcpy(all + i * len, one, len);
    tls_conn_write(c->conn, all, len * n);
    c->pings_sent += n;
    free(all);
    free(one);
}

static void client_message(struct client *c, const struct message *m)
{
    struct message pong = {.type = MESSAGE_PONG};

    switch (m->type) {
    case MESSAGE_HELLO:
        c->hello = 1;
        if (c->answer_hello)
            client_hello(c);
        if (c->after != NULL)
            tls_conn_write(c->conn, c->after, c->after_len);
        if (c->stall) {
            tls_conn_read_stop(c->conn);
            flood(c);
        }
        break;
    case MESSAGE_PING:
        pong.u.ping.nonce = m->u.ping.nonce;
        if (c->answer_pings)
            client_send(c, &pong);
        break;
    case MESSAGE_PONG:
        if (m->u.ping.nonce == c->nonce) {
            uint64_t rtt = uv_now(&fx.loop) - c->ping_at;

            c->pongs++;
            if (rtt > c->max_rtt)
                c->max_rtt = rtt;
        }
        break;
    case MESSAGE_ERROR:
        snprintf(c->error, sizeof(c->error), "%s: %s", m->u.error.code,
                 m->u.error.message);
        break;
    case MESSAGE_BYE:
        snprintf(c->bye, sizeof(c->bye), "%s", m->u.bye.reason);
        break;
    default:
        break;
    }
}

static void on_client_read(struct tls_conn *conn, const void *data, size_t len)
{
    struct client *c = tls_conn_arg(conn);
    const unsigned char *p = data;

    while (len > 0) {
        struct frame f;
        struct message *m = NULL;
        size_t used = 0;
        int r = frame_reader_feed(&f, &used, &c->reader, p, len);

        assert_true(r >= 0);
        p += used;
        len -= used;
        if (r == 0)
            continue;
        assert_int_equal(message_decode(&m, NULL, f.body, f.len), 0);
        free(f.body);
        client_message(c, m);
        message_free(m);
    }
}

static int on_client_verify(struct tls_conn *conn, const char *fp)
{
    struct client *c = tls_conn_arg(conn);

    return strcmp(fp, fx.fp[c->pin]) == 0 ? 0 : OER_ECRYPTO;
}

static void on_client_close(struct tls_conn *conn, enum tls_end end)
{
    struct client *c = tls_conn_arg(conn);

    c->closed = 1;
    c->conn = NULL;
    forget((void **)live_conns, &c->conn);
    frame_reader_release(&c->reader);
}

static void client_start(struct client *c, int port)
{
    struct tls_conn_opts o = {
        .on_verify = on_client_verify,
        .on_read = on_client_read,
        .on_close = on_client_close,
        .arg = c,
        .timeout_ms = 2000,
        .write_limit = 16u << 20,
    };
    struct sockaddr_in sa;

    if (c->node == NULL)
        c->node = names[c->who];
    frame_reader_init(&c->reader);
    assert_int_equal(uv_ip4_addr("127.0.0.1", port, &sa), 0);
    assert_int_equal(tls_conn_connect(&c->conn, fx.tls[c->who], &fx.loop,
                                      (struct sockaddr *)&sa, &o),
                     0);
    remember((void **)live_conns, &c->conn);
}

static void client_ping(struct client *c)
{
    struct message m = {.type = MESSAGE_PING};

    m.u.ping.nonce = ++c->nonce;
    c->ping_at = uv_now(&fx.loop);
    client_send(c, &m);
}

static int client_closed(void *arg)
{
    return ((struct client *)arg)->closed;
}

static int client_greeted(void *arg)
{
    return ((struct client *)arg)->hello;
}

static void client_stop(struct client *c)
{
    if (c->conn != NULL)
        tls_conn_close(c->conn);
    run_until(client_closed, c, DEADLINE_MS);
    assert_true(c->closed);
}

/* ---- fixture ---- */

static int group_setup(void **state)
{
    fx.dir = testutil_tmpdir("peer");
    for (int i = 0; i < NKEYS; i++) {
        struct identity_pub pub;
        char path[600];

        snprintf(path, sizeof(path), "%s/%s.key", fx.dir, names[i]);
        assert_int_equal(identity_generate(&fx.key[i], path), 0);
        identity_public(&pub, fx.key[i]);
        identity_fingerprint(fx.fp[i], sizeof(fx.fp[i]), &pub);
        assert_int_equal(tls_context_new(&fx.tls[i], fx.key[i]), 0);
    }
    return 0;
}

static int group_teardown(void **state)
{
    for (int i = 0; i < NKEYS; i++) {
        tls_context_free(fx.tls[i]);
        identity_free(fx.key[i]);
    }
    testutil_run(NULL, 0, "rm -rf '%s'", fx.dir);
    free(fx.dir);
    return 0;
}

static int setup(void **state)
{
    /* What an earlier test left went with its stack frame. */
    memset(live_tables, 0, sizeof(live_tables));
    memset(live_conns, 0, sizeof(live_conns));
    assert_int_equal(uv_loop_init(&fx.loop), 0);
    fx.log = open_memstream(&fx.log_text, &fx.log_len);
    log_set_stream(fx.log);
    log_set_level(LOG_LEVEL_DEBUG);
    log_from = 0;
    return 0;
}

static void on_watchdog(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* After a failed test, close what it left open; give up after 5 s. */
static int teardown(void **state)
{
    uv_timer_t watchdog;

    for (int i = 0; i < LIVE_MAX; i++) {
        table_stop(live_tables[i]);
        if (live_conns[i] != NULL && *live_conns[i] != NULL)
            tls_conn_close(*live_conns[i]);
    }
    uv_timer_init(&fx.loop, &watchdog);
    uv_timer_start(&watchdog, on_watchdog, 5000, 0);
    uv_unref((uv_handle_t *)&watchdog);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&watchdog, NULL);
    uv_run(&fx.loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&fx.loop), 0);
    log_set_stream(NULL);
    fflush(fx.log);
    if (getenv("PEER_TEST_LOG") != NULL)
        fputs(fx.log_text, stderr);
    fclose(fx.log);
    free(fx.log_text);
    fx.log_text = NULL;
    return 0;
}

/* aa with peer bb (and more), bb with peer aa at a dead address:
 * connected once bb has answered a PING. */
struct pair {
    struct config *ca, *cb;
    struct peer_table *a, *b;
    char *since;
};

static void pair_start(struct pair *p, const struct peer_spec *more,
                       size_t nmore)
{
    struct peer_spec to_b[4] = {{BB, free_port(), BB}};
    struct peer_spec to_a[] = {{AA, 1, AA}};
    struct peer_options oa, ob;
    struct probe probe;

    assert_true(nmore < 4);
    if (nmore > 0)
        memcpy(to_b + 1, more, nmore * sizeof(*more));
    p->ca = make_config(AA, 0, 1, to_b, 1 + nmore);
    p->cb = make_config(BB, to_b[0].port, 0, to_a, 1);
    oa = fast_options(p->ca, AA);
    ob = fast_options(p->cb, BB);
    /* aa dials its other peers at a dead port once, then not for long,
     * so that their last error is what the test does. */
    oa.retry_min_ms = 30000;
    oa.retry_max_ms = 60000;
    table_start(&p->b, &ob);
    table_start(&p->a, &oa);
    probe = (struct probe){p->a, "bb", 1};
    assert_true(run_until(connected_with_pongs, &probe, DEADLINE_MS));
    p->since = peer_str(p->a, "bb", "since");
}

/* The pair is still connected as it was, and PONGs still come. */
static void pair_check(struct pair *p)
{
    struct probe probe = {p->a, "bb", peer_int(p->a, "bb", "pongs") + 2};
    char *since;

    assert_true(run_until(connected_with_pongs, &probe, DEADLINE_MS));
    since = peer_str(p->a, "bb", "since");
    assert_string_equal(since, p->since);
    assert_int_equal(peer_int(p->a, "bb", "connections"), 1);
    free(since);
}

static void pair_stop(struct pair *p)
{
    stop_all(p->a, p->b);
    config_free(p->ca);
    config_free(p->cb);
    free(p->since);
}

/* ---- tests ---- */

static int not_connected(void *arg)
{
    struct probe *p = arg;

    return !peer_is(p->t, p->id, "connected");
}

static void test_hello_ping_and_bye(void **state)
{
    struct pair p;
    struct probe gone;
    int commercial = -1, adapts = -1;
    char *dir;

    pair_start(&p, NULL, 0);
    assert_true(peer_is(p.b, "aa", "connected"));

    /* Each side recorded the use the other declared. */
    assert_int_equal(peer_table_use(&commercial, &adapts, p.b, "aa"), 0);
    assert_int_equal(commercial, 1);
    assert_int_equal(adapts, 0);
    assert_int_equal(peer_table_use(&commercial, &adapts, p.a, "bb"), 0);
    assert_int_equal(commercial, 0);
    assert_int_equal(peer_table_use(&commercial, &adapts, p.a, "zz"),
                     OER_ENOTFOUND);

    dir = peer_str(p.a, "bb", "direction");
    assert_string_equal(dir, "outgoing");
    free(dir);
    dir = peer_str(p.b, "aa", "direction");
    assert_string_equal(dir, "incoming");
    free(dir);
    assert_true(log_has2("peer connected", "peer=bb"));
    assert_true(log_has2("ping sent", "peer=bb"));
    assert_true(log_has2("pong received", "peer=bb"));

    /* aa stops: bb hears BYE and goes back to dialling. */
    table_stop(p.a);
    gone = (struct probe){p.b, "aa", 0};
    assert_true(run_until(not_connected, &gone, DEADLINE_MS));
    assert_true(log_has2("peer said bye", "reason=shutdown"));
    p.a = NULL;
    pair_stop(&p);
}

static int both_connected(void *arg)
{
    struct peer_table **t = arg;

    return peer_is(t[0], "bb", "connected") && peer_is(t[1], "aa", "connected");
}

/* Whether aa and bb both made and kept a connection to the other
 * (the table drops its own dial when the other's arrives first). */
static int dial_once(void)
{
    struct peer_spec to_b[] = {{BB, 0, BB}}, to_a[] = {{AA, 0, AA}};
    struct config *ca, *cb;
    struct peer_options oa, ob;
    struct peer_table *t[2];
    int port[2], twice;
    char *dir[2];

    free_ports(port, 2);
    to_b[0].port = port[1];
    to_a[0].port = port[0];
    ca = make_config(AA, port[0], 0, to_b, 1);
    cb = make_config(BB, port[1], 0, to_a, 1);
    oa = fast_options(ca, AA);
    ob = fast_options(cb, BB);
    fflush(fx.log);
    log_from = fx.log_len;

    /* Both dial in the same loop iteration. */
    table_start(&t[0], &oa);
    table_start(&t[1], &ob);
    assert_true(run_until(both_connected, t, DEADLINE_MS));
    run_for(600);

    /* One connection is left, and both ends agree which. */
    assert_true(both_connected(t));
    assert_int_equal(peer_int(t[0], "bb", "connections"), 1);
    assert_int_equal(peer_int(t[1], "aa", "connections"), 1);
    dir[0] = peer_str(t[0], "bb", "direction");
    dir[1] = peer_str(t[1], "aa", "direction");
    assert_string_not_equal(dir[0], dir[1]);
    twice = log_has("second connection closed");
    if (twice) {
        /* the one aa dialled, aa sorting first */
        assert_string_equal(dir[0], "outgoing");
        assert_true(log_has2("closing", "reason=duplicate"));
    }
    free(dir[0]);
    free(dir[1]);
    stop_all(t[0], t[1]);
    config_free(ca);
    config_free(cb);
    return twice;
}

static void test_simultaneous_dial(void **state)
{
    int twice = 0;

    for (int i = 0; i < 8 && !twice; i++)
        twice = dial_once();
    assert_true(twice);
}

static void test_refused_keys_and_names(void **state)
{
    struct peer_spec more[] = {{CC, 1, CC}};
    struct client stranger = {.who = XX, .pin = AA, .answer_hello = 1};
    struct client liar = {
        .who = CC, .pin = AA, .answer_hello = 1, .node = "zz"};
    struct client old = {
        .who = CC, .pin = AA, .answer_hello = 1, .old_version = 1};
    struct pair p;
    char *err;

    pair_start(&p, more, 1);

    /* An unknown key is refused in the TLS handshake. */
    client_start(&stranger, peer_table_port(p.a));
    assert_true(run_until(client_closed, &stranger, DEADLINE_MS));
    assert_false(stranger.hello);
    assert_true(log_has2("connection refused: unknown key", fx.fp[XX]));

    /* A known key whose HELLO names another node. */
    client_start(&liar, peer_table_port(p.a));
    assert_true(run_until(client_closed, &liar, DEADLINE_MS));
    assert_true(liar.hello);
    assert_non_null(strstr(liar.error, "identity: HELLO names node 'zz'"));
    assert_true(log_has2("closing on a violation", "code=identity"));

    /* A version this node does not speak. */
    client_start(&old, peer_table_port(p.a));
    assert_true(run_until(client_closed, &old, DEADLINE_MS));
    assert_non_null(strstr(old.error, "version: protocol version 0"));
    err = peer_str(p.a, "cc", "last_error");
    assert_non_null(strstr(err, "version"));
    free(err);

    /* Meanwhile aa and bb went on as they were. */
    pair_check(&p);
    pair_stop(&p);
}

/* aa dials "xx" at bb's port: bb's key is not the one pinned for xx. */
static void test_pinned_key_mismatch(void **state)
{
    int port = free_port();
    struct peer_spec to_x[] = {{XX, port, XX}}, to_a[] = {{AA, 1, AA}};
    struct config *cb = make_config(BB, port, 0, to_a, 1);
    struct config *ca = make_config(AA, 0, 0, to_x, 1);
    struct peer_options ob = fast_options(cb, BB), oa = fast_options(ca, AA);
    struct peer_table *a, *b;
    char *err;

    table_start(&b, &ob);
    table_start(&a, &oa);
    run_for(400);
    assert_false(peer_is(a, "xx", "connected"));
    assert_true(log_has2("does not match the pinned fingerprint", "peer=xx"));
    err = peer_str(a, "xx", "last_error");
    assert_non_null(strstr(err, "does not match the pinned"));
    free(err);
    /* and it backs off: more than one try, fewer than one a retry_min */
    assert_true(peer_int(a, "xx", "failures") >= 2);
    assert_true(peer_int(a, "xx", "failures") < 8);
    stop_all(a, b);
    config_free(ca);
    config_free(cb);
}

/* A client that completes HELLO as cc, then sends bytes. */
static void violation(const void *bytes, size_t len, int hello,
                      const char *want)
{
    struct peer_spec more[] = {{CC, 1, CC}};
    struct client c = {.who = CC,
                       .pin = AA,
                       .answer_hello = hello,
                       .after = bytes,
                       .after_len = len};
    struct pair p;
    char *err;

    pair_start(&p, more, 1);
    client_start(&c, peer_table_port(p.a));
    assert_true(run_until(client_closed, &c, DEADLINE_MS));
    if (strstr(c.error, want) == NULL)
        fail_msg("ERROR frame '%s' lacks '%s'", c.error, want);
    assert_true(log_has2("closing on a violation", "peer=cc"));
    err = peer_str(p.a, "cc", "last_error");
    assert_non_null(strstr(err, want));
    free(err);
    pair_check(&p);
    pair_stop(&p);
}

static void test_violation_scan(void **state)
{
    /* a body that is not a map */
    violation("\0\0\0\3abc", 7, 1, "proto: ");
}

static void test_violation_prefix(void **state)
{
    violation("\xff\xff\xff\xff", 4, 1, "proto: ");
}

static void test_violation_unsolicited_pong(void **state)
{
    struct message m = {.type = MESSAGE_PONG};
    unsigned char *buf;
    size_t len;

    m.u.ping.nonce = 99;
    assert_int_equal(message_encode(&buf, &len, &m, NULL), 0);
    violation(buf, len, 1, "proto: a PONG without its PING");
    free(buf);
}

static void test_violation_before_hello(void **state)
{
    struct message m = {.type = MESSAGE_PING};
    unsigned char *buf;
    size_t len;

    m.u.ping.nonce = 1;
    assert_int_equal(message_encode(&buf, &len, &m, NULL), 0);
    violation(buf, len, 0, "proto: PING before HELLO");
    free(buf);
}

/* A peer that says HELLO and then nothing, not even PONG. */
static void test_silence(void **state)
{
    struct peer_spec more[] = {{CC, 1, CC}};
    struct client c = {.who = CC, .pin = AA, .answer_hello = 1};
    uint64_t start;
    struct pair p;
    char *err;

    pair_start(&p, more, 1);
    client_start(&c, peer_table_port(p.a));
    assert_true(run_until(client_greeted, &c, DEADLINE_MS));
    start = uv_now(&fx.loop);
    assert_true(run_until(client_closed, &c, DEADLINE_MS));
    assert_true(uv_now(&fx.loop) - start >= 1400);
    assert_non_null(strstr(c.error, "timeout: nothing received for"));
    err = peer_str(p.a, "cc", "last_error");
    assert_non_null(strstr(err, "nothing received"));
    free(err);
    pair_check(&p);
    pair_stop(&p);
}

/* ---- a peer that stops reading ---- */

struct stall_run {
    struct peer_table *a;
    struct client *slow, *other;
};

/* Keep the slow client's PINGs coming and the other client pinging. */
static void keep_going(struct stall_run *s)
{
    /* Only after its HELLO: a PING before it is a violation. */
    if (s->slow->conn != NULL && s->slow->hello &&
        tls_conn_queued(s->slow->conn) < (1u << 20))
        flood(s->slow);
    if (s->other->conn != NULL && uv_now(&fx.loop) - s->other->ping_at >= 50)
        client_ping(s->other);
}

static int slow_stalled(void *arg)
{
    struct stall_run *s = arg;
    json_t *p = peer_doc(s->a, "cc");
    int stalled = json_is_true(json_object_get(p, "stalled"));

    json_decref(p);
    keep_going(s);
    return stalled;
}

static int slow_closed(void *arg)
{
    struct stall_run *s = arg;

    keep_going(s);
    return s->slow->closed;
}

static void test_peer_that_stops_reading(void **state)
{
    struct peer_spec peers[] = {{BB, 1, BB}, {CC, 1, CC}};
    struct client slow = {.who = CC, .pin = AA, .answer_hello = 1, .stall = 1};
    struct client other = {
        .who = BB, .pin = AA, .answer_hello = 1, .answer_pings = 1};
    struct config *ca = make_config(AA, 0, 0, peers, 2);
    struct peer_options oa = fast_options(ca, AA);
    struct stall_run s = {NULL, &slow, &other};
    struct peer_table *a;
    int pongs;
    char *err;

    oa.write_limit = 16384;
    oa.retry_min_ms = 30000;
    oa.retry_max_ms = 60000;
    table_start(&a, &oa);
    s.a = a;
    client_start(&other, peer_table_port(a));
    assert_true(run_until(client_greeted, &other, DEADLINE_MS));
    client_start(&slow, peer_table_port(a));

    /* aa's queue to cc fills up: it stops reading cc. */
    assert_true(run_until(slow_stalled, &s, DEADLINE_MS));
    assert_true(log_has2("queue full, reading paused", "peer=cc"));
    pongs = other.pongs;
    other.max_rtt = 0;

    /* bb still gets its PONGs in time; cc is dropped after the silence. */
    assert_true(run_until(slow_closed, &s, DEADLINE_MS));
    assert_true(other.pongs >= pongs + 10);
    if (other.max_rtt > 500)
        fail_msg("a PONG took %llu ms", (unsigned long long)other.max_rtt);
    assert_false(other.closed);
    err = peer_str(a, "cc", "last_error");
    assert_non_null(strstr(err, "took none of our data"));
    free(err);
    assert_true(peer_is(a, "bb", "connected"));

    client_stop(&other);
    stop_all(a, NULL);
    config_free(ca);
}

/* ---- redialling ---- */

static int dialled_often(void *arg)
{
    struct peer_table *t = arg;

    return peer_int(t, "bb", "failures") >= 5;
}

static void test_redial_backoff(void **state)
{
    int port = free_port();
    struct peer_spec to_b[] = {{BB, port, BB}}, to_a[] = {{AA, 1, AA}};
    struct config *ca = make_config(AA, 0, 0, to_b, 1);
    struct config *cb = make_config(BB, port, 0, to_a, 1);
    struct peer_options oa = fast_options(ca, AA), ob = fast_options(cb, BB);
    struct probe up;
    struct peer_table *a, *b;
    const char *line;
    int lines = 0;

    /* Nobody listens at bb's address: the delay grows to its cap. */
    oa.retry_min_ms = 20;
    oa.retry_max_ms = 160;
    table_start(&a, &oa);
    assert_true(run_until(dialled_often, a, DEADLINE_MS));
    assert_true(log_has2("peer connection failed", "peer=bb"));
    fflush(fx.log);
    for (line = strstr(fx.log_text, "redial scheduled"); line != NULL;
         line = strstr(line + 1, "redial scheduled")) {
        long delay = strtol(strstr(line, "delay_ms=") + 9, NULL, 10);

        assert_true(delay >= 1 && delay <= 160);
        lines++;
    }
    assert_true(lines >= 5);
    assert_true(peer_int(a, "bb", "retry_in_ms") <= 160);

    /* Once bb listens, aa gets through within the cap. */
    table_start(&b, &ob);
    up = (struct probe){a, "bb", 0};
    assert_true(run_until(connected_with_pongs, &up, 1000));
    stop_all(a, b);
    config_free(ca);
    config_free(cb);
}

static void test_bad_listen_address(void **state)
{
    struct config *c = make_config(AA, 0, 0, NULL, 0);
    struct peer_options o = fast_options(c, AA);
    struct peer_table *t = NULL;

    o.listen = "example.org:7440";
    assert_int_equal(peer_table_start(&t, &fx.loop, &o), OER_EINVAL);
    assert_null(t);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_ping_and_bye, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_simultaneous_dial, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_keys_and_names, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pinned_key_mismatch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_violation_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_violation_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_violation_unsolicited_pong, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_violation_before_hello, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_that_stops_reading, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redial_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_listen_address, setup,
                                        teardown),
    };

    /* as serve does: a peer that resets must not kill the process */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
