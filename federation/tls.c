/*
 * tls: TLS 1.3 between peers, OpenSSL on a BIO pair driven from libuv.
 * Ciphertext read from the socket is fed into the pair, plaintext the
 * caller writes is queued and encrypted once per loop iteration (so small
 * writes leave in one uv_write), and at most one uv_write is in flight.
 * A peer is accepted by its Ed25519 key alone.
 */
#include "federation/tls.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "node/error.h"
#include "node/invariant.h"
#include "node/log.h"

#define MOD "tls"
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_WRITE_LIMIT (1024 * 1024)
/* A caller that ignores TLS_CONN_FULL is refused at this many bounds. */
#define HARD_FACTOR 16
/* Room in each half of the BIO pair: less than two records, so large
 * writes go through partial writes and WANT_WRITE every time. */
#define PAIR_SIZE 32768
#define READ_SIZE 65536
/* Ciphertext gathered for one uv_write. */
#define BATCH_MAX (256 * 1024)
#define ERR_TEXT_MAX 512
#define TLS13_WIRE 0x0304

static const unsigned char alpn_wire[] = "\x09" TLS_ALPN;

struct tls_context {
    SSL_CTX *ssl_ctx;
};

/* A byte queue: data from off to len. */
struct buf {
    unsigned char *p;
    size_t off;
    size_t len;
    size_t cap;
};

enum state {
    ST_CONNECT,   /* TCP connect in progress */
    ST_HANDSHAKE, /* TLS handshake */
    ST_OPEN,      /* data both ways */
    ST_CLOSING,   /* sending what is left, then waiting for the FIN */
    ST_DONE       /* handles closing; on_close comes next */
};

struct tls_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_idle_t idle;
    uv_connect_t connect_req;
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    struct tls_conn_opts opts;
    SSL *ssl;
    BIO *net; /* our end of the BIO pair */
    enum state state;
    enum tls_end end;
    const char *why;   /* what a callback of OpenSSL refused */
    struct buf out;    /* plaintext for SSL_write */
    struct buf wire;   /* ciphertext for the next uv_write */
    struct buf flight; /* ciphertext of the uv_write in flight */
    struct buf in;     /* ciphertext read, not yet in the BIO pair */
    int server;
    int writing; /* a uv_write is in flight */
    int reading; /* uv_read_start is on */
    int paused;  /* tls_conn_read_stop */
    int eof;     /* the peer's FIN came */
    int eof_fed; /* ... and OpenSSL has been told */
    int full;    /* TLS_CONN_FULL returned: on_drain owed */
    int refused; /* on_verify said no */
    int notify;  /* a close still owes queued data and close_notify */
    int shut;    /* uv_shutdown requested */
    int silent;  /* setup failed: no callback at all */
    int handles; /* libuv handles still open */
    char addr[64];
    char fp[64];
    struct identity_pub pub; /* the peer's key, once on_verify took it */
    unsigned char rbuf[READ_SIZE];
};

static void process(struct tls_conn *c);
static void close_step(struct tls_conn *c);

/* ---- small helpers ---- */

static size_t buf_size(const struct buf *b)
{
    return b->len - b->off;
}

static void buf_reset(struct buf *b)
{
    b->off = 0;
    b->len = 0;
}

/* Make room for n more bytes at the end. */
static int buf_reserve(struct buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 4096;
    unsigned char *p;

    if (b->off > 0 && b->off >= b->len / 2) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->cap - b->len >= n)
        return 0;
    while (cap - b->len < n)
        cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL)
        return OER_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_append(struct buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return OER_ENOMEM;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

/* The OpenSSL error queue as one line of reasons; the queue is emptied. */
static void ssl_errors(char *text, size_t cap)
{
    size_t len = 0;

    text[0] = '\0';
    for (;;) {
        unsigned long e = ERR_get_error();
        const char *reason = ERR_reason_error_string(e);
        char code[32];

        if (e == 0)
            break;
        if (reason == NULL) {
            snprintf(code, sizeof(code), "error %lx", e);
            reason = code;
        }
        snprintf(text + len, cap - len, "%s%s", len > 0 ? "; " : "", reason);
        len = strlen(text);
    }
}

static void log_ssl(const char *msg, const char *peer)
{
    char text[ERR_TEXT_MAX];

    ssl_errors(text, sizeof(text));
    log_warn(MOD, msg, "peer", peer, "openssl", text, NULL);
}

static void log_uv(struct tls_conn *c, const char *msg, int code)
{
    log_warn(MOD, msg, "peer", c->addr, "key", c->fp, "uv", uv_strerror(code),
             NULL);
}

static const char *role(const struct tls_conn *c)
{
    return c->server ? "server" : "client";
}

/* ---- the context: certificate and SSL_CTX ---- */

/* A self-signed certificate for pkey, valid from yesterday to 9999. */
static X509 *make_cert(EVP_PKEY *pkey, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *name;
    uint64_t serial;

    if (x == NULL || RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
        goto fail;
    name = X509_get_subject_name(x);
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
        ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "99991231235959Z") !=
            1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)cn, -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pkey) != 1 ||
        X509_sign(x, pkey, NULL) <= 0)
        goto fail;
    return x;

fail:
    X509_free(x);
    return NULL;
}

static int on_cert_verify(X509_STORE_CTX *store, void *arg);
static int on_client_hello(SSL *ssl, int *alert, void *arg);
static int on_alpn_select(SSL *ssl, const unsigned char **out,
                          unsigned char *outlen, const unsigned char *in,
                          unsigned int inlen, void *arg);

static int context_setup(SSL_CTX *ctx, X509 *cert, EVP_PKEY *pkey)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn_wire, sizeof(alpn_wire) - 1) != 0 ||
        SSL_CTX_set_num_tickets(ctx, 0) != 1)
        return OER_ECRYPTO;

    /* Both sides demand a certificate; only its key is looked at. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
    SSL_CTX_set_cert_verify_callback(ctx, on_cert_verify, NULL);
    SSL_CTX_set_client_hello_cb(ctx, on_client_hello, NULL);
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn_select, NULL);

    /* Resumption would skip the key check of the certificate. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return 0;
}

int tls_context_new(struct tls_context **out, const struct identity *id)
{
    struct tls_context *ctx = NULL;
    struct identity_pub pub;
    EVP_PKEY *pkey = identity_pkey(id);
    X509 *cert = NULL;
    char cn[64];
    int err = OER_ECRYPTO;

    *out = NULL;
    identity_public(&pub, id);
    identity_fingerprint(cn, sizeof(cn), &pub);
    ERR_clear_error();
    ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        err = OER_ENOMEM;
        goto out;
    }
    cert = make_cert(pkey, cn);
    if (cert == NULL) {
        log_ssl("cannot make certificate", "");
        goto out;
    }
    ctx->ssl_ctx = SSL_CTX_new(TLS_method());
    if (ctx->ssl_ctx == NULL || context_setup(ctx->ssl_ctx, cert, pkey) < 0) {
        log_ssl("cannot set up tls context", "");
        goto out;
    }
    *out = ctx;
    ctx = NULL;
    err = 0;

out:
    X509_free(cert);
    tls_context_free(ctx);
    return err;
}

void tls_context_free(struct tls_context *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ---- OpenSSL callbacks of the handshake ---- */

static void log_expired(struct tls_conn *c, const X509 *cert)
{
    const ASN1_TIME *until = X509_get0_notAfter(cert);
    struct tm tm;
    char when[32] = "";

    if (X509_cmp_current_time(until) >= 0)
        return;
    if (ASN1_TIME_to_tm(until, &tm) == 1)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    log_info(MOD, "peer certificate expired, accepted by its key", "peer",
             c->addr, "key", c->fp, "not_after", when, NULL);
}

/* Replaces chain verification: the leaf's key is the peer's identity. */
static int on_cert_verify(X509_STORE_CTX *store, void *arg)
{
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls_conn *c = SSL_get_app_data(ssl);
    X509 *cert = X509_STORE_CTX_get0_cert(store);
    EVP_PKEY *key = cert ? X509_get0_pubkey(cert) : NULL;
    struct identity_pub pub;
    size_t n = sizeof(pub.key);
    char fp[64];

    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(key, pub.key, &n) != 1 ||
        n != sizeof(pub.key)) {
        c->why = "peer key is not ed25519";
        c->refused = 1;
        return 0;
    }
    identity_fingerprint(fp, sizeof(fp), &pub);
    if (c->opts.on_verify(c, fp) < 0) {
        snprintf(c->fp, sizeof(c->fp), "%s", fp);
        c->why = "peer key refused";
        c->refused = 1;
        return 0;
    }
    snprintf(c->fp, sizeof(c->fp), "%s", fp);
    c->pub = pub;
    log_expired(c, cert);
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
}

static int offers_tls13(SSL *ssl)
{
    const unsigned char *p;
    size_t len, i;

    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p,
                                  &len) != 1 ||
        len < 1 || p[0] != len - 1)
        return 0;
    for (i = 1; i + 1 < len; i += 2) {
        if ((p[i] << 8 | p[i + 1]) == TLS13_WIRE)
            return 1;
    }
    return 0;
}

/* Refuse early, with a clear reason, what the handshake would refuse. */
static int on_client_hello(SSL *ssl, int *alert, void *arg)
{
    struct tls_conn *c = SSL_get_app_data(ssl);
    const unsigned char *p;
    size_t len;

    if (!offers_tls13(ssl)) {
        c->why = "peer does not offer tls 1.3";
        *alert = SSL_AD_PROTOCOL_VERSION;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (SSL_client_hello_get0_ext(
            ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
            &len) != 1) {
        c->why = "peer offers no alpn";
        *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

static int on_alpn_select(SSL *ssl, const unsigned char **out,
                          unsigned char *outlen, const unsigned char *in,
                          unsigned int inlen, void *arg)
{
    struct tls_conn *c = SSL_get_app_data(ssl);
    size_t want = sizeof(alpn_wire) - 2;
    unsigned int i;

    for (i = 0; i < inlen; i += 1u + in[i]) {
        if (in[i] == want && i + 1 + want <= inlen &&
            memcmp(in + i + 1, TLS_ALPN, want) == 0) {
            *out = in + i + 1;
            *outlen = in[i];
            return SSL_TLSEXT_ERR_OK;
        }
    }
    c->why = "peer does not offer alpn " TLS_ALPN;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* ---- ending a connection ---- */

static void conn_free(struct tls_conn *c)
{
    SSL_free(c->ssl);
    BIO_free(c->net);
    free(c->out.p);
    free(c->wire.p);
    free(c->flight.p);
    free(c->in.p);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct tls_conn *c = h->data;

    if (--c->handles > 0)
        return;
    if (!c->silent)
        c->opts.on_close(c, c->end);
    conn_free(c);
}

/* Close the handles now; on_close comes from their close callbacks. */
static void finish(struct tls_conn *c)
{
    if (c->state == ST_DONE)
        return;
    c->state = ST_DONE;
    if (!c->silent)
        log_info(MOD, "connection closed", "peer", c->addr, "key", c->fp,
                 "role", role(c), "reason", tls_end_name(c->end), NULL);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

static void on_close_timer(uv_timer_t *t)
{
    struct tls_conn *c = t->data;

    log_info(MOD, "peer did not close in time", "peer", c->addr, "key", c->fp,
             NULL);
    finish(c);
}

/*
 * Stop taking data; send what is owed (with notify: the queued plaintext
 * and close_notify; else an alert OpenSSL may have left), then a FIN,
 * then wait for the peer's FIN so that nothing is reset under it.
 */
static void begin_close(struct tls_conn *c, enum tls_end end, int notify)
{
    if (c->state >= ST_CLOSING)
        return;
    c->end = end;
    c->state = ST_CLOSING;
    c->notify = notify;
    uv_idle_stop(&c->idle);
    uv_timer_start(&c->timer, on_close_timer, c->opts.timeout_ms, 0);
    close_step(c);
}

static void fail_handshake(struct tls_conn *c, enum tls_end end, int status,
                           const char *why)
{
    char text[ERR_TEXT_MAX];

    ssl_errors(text, sizeof(text));
    log_warn(MOD, "handshake failed", "peer", c->addr, "role", role(c),
             "reason", c->why ? c->why : why, "key", c->fp, "openssl", text,
             NULL);
    if (c->opts.on_handshake != NULL)
        c->opts.on_handshake(c, status);
    c->end = end;
    if (end == TLS_END_TIMEOUT || end == TLS_END_IO)
        finish(c);
    else
        begin_close(c, end, 0);
}

/* ---- moving bytes: socket, BIO pair, OpenSSL ---- */

/* Move ciphertext OpenSSL wrote from the BIO pair to c->wire. */
static void drain(struct tls_conn *c)
{
    for (;;) {
        size_t pending = BIO_ctrl_pending(c->net);
        int n;

        if (pending == 0 || buf_reserve(&c->wire, pending) < 0)
            return;
        n = BIO_read(c->net, c->wire.p + c->wire.len, (int)pending);
        if (n <= 0)
            return;
        c->wire.len += (size_t)n;
    }
}

/* Move ciphertext read from the socket into the BIO pair, and the FIN
 * after it.  Returns whether anything moved. */
static int feed(struct tls_conn *c)
{
    int moved = 0;

    while (buf_size(&c->in) > 0) {
        size_t left = buf_size(&c->in);
        int n = BIO_write(c->net, c->in.p + c->in.off,
                          left > INT_MAX ? INT_MAX : (int)left);

        if (n <= 0)
            break;
        c->in.off += (size_t)n;
        moved = 1;
    }
    if (buf_size(&c->in) > 0)
        return moved;
    buf_reset(&c->in);
    if (c->eof && !c->eof_fed) {
        BIO_shutdown_wr(c->net);
        c->eof_fed = 1;
        moved = 1;
    }
    return moved;
}

static void on_written(uv_write_t *req, int status);

static void send_wire(struct tls_conn *c)
{
    struct buf swap;
    uv_buf_t b;
    int r;

    if (c->writing || buf_size(&c->wire) == 0 || c->state == ST_DONE)
        return;
    swap = c->flight;
    c->flight = c->wire;
    c->wire = swap;
    buf_reset(&c->wire);
    b = uv_buf_init((char *)c->flight.p + c->flight.off,
                    (unsigned int)buf_size(&c->flight));
    r = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (r < 0) {
        log_uv(c, "write failed", r);
        c->end = c->state == ST_CLOSING ? c->end : TLS_END_IO;
        finish(c);
        return;
    }
    c->writing = 1;
}

/*
 * Encrypt queued plaintext until the next uv_write holds a batch.  After
 * WANT_WRITE the same bytes are offered again (the queue only grows at
 * its end; OpenSSL accepts a moved buffer).  Returns 1 when it made
 * progress, 0 when it cannot, OER_EPROTO when OpenSSL failed.
 */
static int encrypt(struct tls_conn *c)
{
    int progress = 0;

    while (buf_size(&c->out) > 0 && buf_size(&c->wire) < BATCH_MAX) {
        size_t left = buf_size(&c->out);
        size_t before = buf_size(&c->wire);
        int n, err;

        ERR_clear_error();
        n = SSL_write(c->ssl, c->out.p + c->out.off,
                      left > INT_MAX ? INT_MAX : (int)left);
        drain(c);
        if (n > 0) {
            c->out.off += (size_t)n;
            progress = 1;
            continue;
        }
        err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_WRITE && buf_size(&c->wire) > before)
            continue;
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            break;
        log_ssl("encrypt failed", c->addr);
        return OER_EPROTO;
    }
    if (buf_size(&c->out) == 0)
        buf_reset(&c->out);
    return progress;
}

static void close_step(struct tls_conn *c)
{
    int r;

    if (c->notify && encrypt(c) < 0)
        c->notify = 0;
    if (c->notify && buf_size(&c->out) == 0) {
        ERR_clear_error();
        if (SSL_shutdown(c->ssl) < 0)
            log_ssl("close_notify failed", c->addr);
        c->notify = 0;
    }
    drain(c);
    send_wire(c);
    if (c->state != ST_CLOSING || c->writing || c->notify)
        return;
    if (!c->shut) {
        r = uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, NULL);
        c->shut = 1;
        if (r < 0) {
            finish(c);
            return;
        }
    }
    if (c->eof)
        finish(c);
}

/* The failure at the head of the error queue is an alert the peer sent. */
static int peer_alert(void)
{
    unsigned long e = ERR_peek_error();

    return ERR_GET_LIB(e) == ERR_LIB_SSL &&
           ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET;
}

/* How an SSL call failed, with the error queue still full. */
static enum tls_end classify(struct tls_conn *c, int err)
{
    unsigned long e = ERR_peek_error();

    if (err == SSL_ERROR_ZERO_RETURN)
        return TLS_END_CLEAN;
    if (c->refused)
        return TLS_END_REFUSED;
    /* OpenSSL 1.1.1 reports a bare EOF as SYSCALL, 3.x with a reason. */
    if (c->eof_fed &&
        ((err == SSL_ERROR_SYSCALL && e == 0) ||
         (err == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL &&
          ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)))
        return TLS_END_TRUNCATED;
    return TLS_END_PROTOCOL;
}

static void handshake_done(struct tls_conn *c)
{
    const unsigned char *proto = NULL;
    unsigned int len = 0;

    SSL_get0_alpn_selected(c->ssl, &proto, &len);
    if (len != sizeof(alpn_wire) - 2 || memcmp(proto, TLS_ALPN, len) != 0) {
        fail_handshake(c, TLS_END_PROTOCOL, OER_EPROTO,
                       "peer did not select alpn " TLS_ALPN);
        return;
    }
    c->state = ST_OPEN;
    uv_timer_stop(&c->timer);
    log_info(MOD, "connection open", "peer", c->addr, "key", c->fp, "role",
             role(c), NULL);
    if (c->opts.on_handshake != NULL)
        c->opts.on_handshake(c, 0);
}

/* One step of the handshake; returns whether it made progress. */
static int handshake(struct tls_conn *c)
{
    enum tls_end end;
    size_t before = buf_size(&c->wire);
    int r, err;

    ERR_clear_error();
    r = SSL_do_handshake(c->ssl);
    drain(c);
    /* on_verify may have closed the connection. */
    if (c->state != ST_HANDSHAKE)
        return 0;
    if (r == 1) {
        handshake_done(c);
        return 1;
    }
    err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ)
        return 0;
    if (err == SSL_ERROR_WANT_WRITE)
        return buf_size(&c->wire) > before;
    end = classify(c, err);
    if (end == TLS_END_REFUSED)
        fail_handshake(c, end, OER_ECRYPTO, "peer key refused");
    else if (peer_alert())
        fail_handshake(c, TLS_END_PROTOCOL, OER_EPROTO, "peer sent an alert");
    else if (c->eof_fed)
        fail_handshake(c, TLS_END_PROTOCOL, OER_EPROTO,
                       "peer closed during the handshake");
    else
        fail_handshake(c, TLS_END_PROTOCOL, OER_EPROTO, "tls error");
    return 0;
}

static void read_failed(struct tls_conn *c, int err)
{
    enum tls_end end = classify(c, err);

    if (end == TLS_END_CLEAN) {
        ERR_clear_error();
        begin_close(c, end, 1);
        return;
    }
    if (end == TLS_END_TRUNCATED) {
        ERR_clear_error();
        log_info(MOD, "peer ended without close_notify", "peer", c->addr, "key",
                 c->fp, NULL);
    } else {
        log_ssl(peer_alert() ? "peer sent an alert" : "tls error", c->addr);
    }
    begin_close(c, end, 0);
}

/* Decrypt and deliver what the BIO pair holds; returns progress. */
static int read_records(struct tls_conn *c)
{
    unsigned char plain[16384];
    int progress = 0;

    while (c->state == ST_OPEN && !c->paused) {
        int n, err;

        ERR_clear_error();
        n = SSL_read(c->ssl, plain, sizeof(plain));
        if (n > 0) {
            progress = 1;
            c->opts.on_read(c, plain, (size_t)n);
            continue;
        }
        err = SSL_get_error(c->ssl, n);
        drain(c);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            break;
        read_failed(c, err);
        return 1;
    }
    return progress;
}

static void update_reading(struct tls_conn *c);

/* Run OpenSSL until it waits for the network, then send its output. */
static void process(struct tls_conn *c)
{
    int progress = 1;

    while (progress && (c->state == ST_HANDSHAKE || c->state == ST_OPEN)) {
        progress = feed(c);
        if (c->state == ST_HANDSHAKE)
            progress |= handshake(c);
        if (c->state == ST_OPEN)
            progress |= read_records(c);
        if (c->state == ST_OPEN) {
            int r = encrypt(c);

            if (r < 0) {
                begin_close(c, TLS_END_PROTOCOL, 0);
                break;
            }
            progress |= r;
        }
    }
    if (c->state == ST_HANDSHAKE || c->state == ST_OPEN) {
        drain(c);
        send_wire(c);
    }
    update_reading(c);
}

/* Tell a producer stopped by TLS_CONN_FULL to go on. */
static void notify_drain(struct tls_conn *c)
{
    if (!c->full || c->state != ST_OPEN ||
        tls_conn_queued(c) > c->opts.write_limit / 2)
        return;
    c->full = 0;
    if (c->opts.on_drain != NULL)
        c->opts.on_drain(c);
}

/* ---- libuv callbacks ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct tls_conn *c = h->data;

    *b = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct tls_conn *c = s->data;

    if (n == 0 || c->state == ST_DONE)
        return;
    if (n == UV_EOF) {
        c->eof = 1;
        update_reading(c);
        if (c->state == ST_CLOSING)
            close_step(c);
        else
            process(c);
        return;
    }
    if (n < 0) {
        log_uv(c, "read failed", (int)n);
        if (c->state < ST_CLOSING)
            c->end = TLS_END_IO;
        finish(c);
        return;
    }
    /* Closing: whatever still comes is dropped. */
    if (c->state == ST_CLOSING)
        return;
    if (buf_append(&c->in, b->base, (size_t)n) < 0) {
        log_warn(MOD, "out of memory", "peer", c->addr, NULL);
        c->end = TLS_END_IO;
        finish(c);
        return;
    }
    process(c);
}

/* Read unless stopped by the caller, or holding a full read unfed. */
static void update_reading(struct tls_conn *c)
{
    int want = !c->eof && (c->state == ST_HANDSHAKE || c->state == ST_OPEN ||
                           c->state == ST_CLOSING);

    if (c->state != ST_CLOSING &&
        ((c->paused && c->state == ST_OPEN) || buf_size(&c->in) >= READ_SIZE))
        want = 0;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_tcp_read) < 0)
            return;
        c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct tls_conn *c = req->data;

    c->writing = 0;
    buf_reset(&c->flight);
    if (status == UV_ECANCELED || c->state == ST_DONE)
        return;
    if (status < 0) {
        log_uv(c, "write failed", status);
        if (c->state < ST_CLOSING)
            c->end = TLS_END_IO;
        finish(c);
        return;
    }
    if (c->state == ST_CLOSING) {
        close_step(c);
        return;
    }
    process(c);
    notify_drain(c);
}

/* Once per loop iteration after writes or a read_start. */
static void on_idle(uv_idle_t *idle)
{
    struct tls_conn *c = idle->data;

    uv_idle_stop(idle);
    process(c);
    notify_drain(c);
}

static void on_handshake_timer(uv_timer_t *t)
{
    struct tls_conn *c = t->data;

    fail_handshake(c, TLS_END_TIMEOUT, OER_ETIMEOUT, "handshake timed out");
}

static void format_addr(char *buf, size_t cap, const struct sockaddr *sa)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        uv_ip4_name(in, ip, sizeof(ip));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        uv_ip6_name(in6, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
    }
    snprintf(buf, cap, "%s:%d", ip, port);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct tls_conn *c = req->data;

    if (status == UV_ECANCELED || c->state != ST_CONNECT)
        return;
    if (status < 0) {
        log_uv(c, "connect failed", status);
        if (c->opts.on_handshake != NULL)
            c->opts.on_handshake(c, OER_EIO);
        c->end = TLS_END_IO;
        finish(c);
        return;
    }
    c->state = ST_HANDSHAKE;
    uv_tcp_nodelay(&c->tcp, 1);
    process(c);
}

/* ---- connections ---- */

static int conn_new(struct tls_conn **out, struct tls_context *ctx,
                    uv_loop_t *loop, const struct tls_conn_opts *opts,
                    int server)
{
    struct tls_conn *c = calloc(1, sizeof(*c));
    BIO *inner = NULL;

    *out = NULL;
    INVARIANT(opts->on_verify && opts->on_read && opts->on_close);
    if (c == NULL)
        return OER_ENOMEM;
    c->opts = *opts;
    if (c->opts.timeout_ms == 0)
        c->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (c->opts.write_limit == 0)
        c->opts.write_limit = DEFAULT_WRITE_LIMIT;
    c->server = server;
    c->end = TLS_END_IO;
    snprintf(c->addr, sizeof(c->addr), "?");

    ERR_clear_error();
    c->ssl = SSL_new(ctx->ssl_ctx);
    if (c->ssl == NULL ||
        BIO_new_bio_pair(&inner, PAIR_SIZE, &c->net, PAIR_SIZE) != 1) {
        log_ssl("cannot make tls connection", "");
        conn_free(c);
        return OER_ENOMEM;
    }
    SSL_set_bio(c->ssl, inner, inner);
    SSL_set_app_data(c->ssl, c);
    if (server)
        SSL_set_accept_state(c->ssl);
    else
        SSL_set_connect_state(c->ssl);

    /* These cannot fail on a live loop. */
    INVARIANT(uv_tcp_init(loop, &c->tcp) == 0);
    INVARIANT(uv_timer_init(loop, &c->timer) == 0);
    INVARIANT(uv_idle_init(loop, &c->idle) == 0);
    c->handles = 3;
    c->tcp.data = c;
    c->timer.data = c;
    c->idle.data = c;
    c->connect_req.data = c;
    c->write_req.data = c;
    uv_timer_start(&c->timer, on_handshake_timer, c->opts.timeout_ms, 0);
    *out = c;
    return 0;
}

/* Setup failed after the handles exist: free without callbacks. */
static int conn_abandon(struct tls_conn *c, int err)
{
    c->silent = 1;
    finish(c);
    return err;
}

int tls_conn_accept(struct tls_conn **out, struct tls_context *ctx,
                    uv_stream_t *server, const struct tls_conn_opts *opts)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    struct tls_conn *c;
    int r;

    *out = NULL;
    r = conn_new(&c, ctx, server->loop, opts, 1);
    if (r < 0)
        return r;
    r = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (r < 0) {
        log_warn(MOD, "accept failed", "uv", uv_strerror(r), NULL);
        return conn_abandon(c, OER_EIO);
    }
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        format_addr(c->addr, sizeof(c->addr), (struct sockaddr *)&ss);
    c->state = ST_HANDSHAKE;
    uv_tcp_nodelay(&c->tcp, 1);
    update_reading(c);
    *out = c;
    return 0;
}

int tls_conn_connect(struct tls_conn **out, struct tls_context *ctx,
                     uv_loop_t *loop, const struct sockaddr *addr,
                     const struct tls_conn_opts *opts)
{
    struct tls_conn *c;
    int r;

    *out = NULL;
    r = conn_new(&c, ctx, loop, opts, 0);
    if (r < 0)
        return r;
    format_addr(c->addr, sizeof(c->addr), addr);
    r = uv_tcp_connect(&c->connect_req, &c->tcp, addr, on_connected);
    if (r < 0) {
        log_uv(c, "connect failed", r);
        return conn_abandon(c, OER_EIO);
    }
    *out = c;
    return 0;
}

int tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
    size_t queued = tls_conn_queued(c);

    if (c->state >= ST_CLOSING)
        return OER_EIO;
    if (queued > c->opts.write_limit * HARD_FACTOR) {
        log_warn(MOD, "write refused: queue far over its bound", "peer",
                 c->addr, "key", c->fp, NULL);
        return OER_ENOMEM;
    }
    if (buf_append(&c->out, data, len) < 0) {
        log_warn(MOD, "out of memory", "peer", c->addr, NULL);
        return OER_ENOMEM;
    }
    if (c->state == ST_OPEN)
        uv_idle_start(&c->idle, on_idle);
    if (queued + len > c->opts.write_limit) {
        c->full = 1;
        return TLS_CONN_FULL;
    }
    return 0;
}

size_t tls_conn_queued(const struct tls_conn *c)
{
    return buf_size(&c->out) + buf_size(&c->wire) + buf_size(&c->flight);
}

void tls_conn_read_stop(struct tls_conn *c)
{
    c->paused = 1;
    update_reading(c);
}

void tls_conn_read_start(struct tls_conn *c)
{
    if (!c->paused)
        return;
    c->paused = 0;
    update_reading(c);
    /* Deliver what is already buffered, but not from inside this call. */
    if (c->state == ST_OPEN)
        uv_idle_start(&c->idle, on_idle);
}

void tls_conn_close(struct tls_conn *c)
{
    if (c->state >= ST_CLOSING)
        return;
    if (c->state != ST_OPEN) {
        c->end = TLS_END_LOCAL;
        finish(c);
        return;
    }
    begin_close(c, TLS_END_LOCAL, 1);
}

const char *tls_conn_peer_fingerprint(const struct tls_conn *c)
{
    return c->refused ? "" : c->fp;
}

int tls_conn_peer_key(struct identity_pub *out, const struct tls_conn *c)
{
    if (c->refused || c->fp[0] == '\0')
        return OER_ENOTFOUND;
    *out = c->pub;
    return 0;
}

const char *tls_conn_peer_addr(const struct tls_conn *c)
{
    return c->addr;
}

void *tls_conn_arg(const struct tls_conn *c)
{
    return c->opts.arg;
}

const char *tls_end_name(enum tls_end end)
{
    static const char *const names[] = {
        [TLS_END_CLEAN] = "clean",
        [TLS_END_LOCAL] = "local",
        [TLS_END_TRUNCATED] = "truncated",
        [TLS_END_TIMEOUT] = "timeout",
        [TLS_END_REFUSED] = "refused",
        [TLS_END_PROTOCOL] = "protocol",
        [TLS_END_IO] = "io",
    };

    if ((unsigned)end >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[end];
}
