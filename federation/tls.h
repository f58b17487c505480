/*
 * tls: the TLS 1.3 layer of peer connections, over libuv TCP streams.
 * Both sides present a self-signed certificate for their Ed25519 node
 * key and accept the other by its key fingerprint alone (validity dates
 * and chains do not matter); ALPN "oernode/1" is required.  OpenSSL
 * runs on memory BIOs, so all I/O stays on the loop.
 */
#ifndef OERNODE_TLS_H
#define OERNODE_TLS_H

#include <stddef.h>

#include <uv.h>

#include "federation/identity.h"

#define TLS_ALPN "oernode/1"

/* How a connection ended, reported once by on_close. */
enum tls_end {
    TLS_END_CLEAN = 0, /* the peer sent close_notify */
    TLS_END_LOCAL,     /* tls_conn_close: we sent close_notify */
    TLS_END_TRUNCATED, /* TCP ended without close_notify */
    TLS_END_TIMEOUT,   /* the handshake (or a close) took too long */
    TLS_END_REFUSED,   /* on_verify refused the peer's key */
    TLS_END_PROTOCOL,  /* TLS failed: version, certificate, ALPN, alert */
    TLS_END_IO         /* connect, reset or another socket error */
};

/* tls_conn_write accepted the data, but the queue is over its bound:
 * stop producing until on_drain. */
#define TLS_CONN_FULL 1

struct tls_context;
struct tls_conn;

/* The peer's key, fingerprint as identity_fingerprint writes it: return
 * 0 to accept it, a negative code to refuse the connection.  Called
 * inside the handshake: it must not close the connection. */
typedef int (*tls_verify_cb)(struct tls_conn *conn, const char *fingerprint);
/* The handshake ended: 0, or OER_ETIMEOUT, OER_ECRYPTO (key refused),
 * OER_EPROTO or OER_EIO; on failure on_close follows.  A TLS 1.3 client
 * is done before the server has checked its key: a server that refuses
 * it shows as an alert, on_close with TLS_END_PROTOCOL. */
typedef void (*tls_handshake_cb)(struct tls_conn *conn, int status);
/* Plaintext from the peer; data is valid during the call only. */
typedef void (*tls_read_cb)(struct tls_conn *conn, const void *data,
                            size_t len);
/* The queue fell to half its bound after TLS_CONN_FULL: produce again. */
typedef void (*tls_drain_cb)(struct tls_conn *conn);
/* The last callback of a connection; its memory is freed on return. */
typedef void (*tls_close_cb)(struct tls_conn *conn, enum tls_end end);

/* What a connection calls back, and its limits.  on_verify, on_read and
 * on_close are required; the others may be NULL. */
struct tls_conn_opts {
    tls_verify_cb on_verify;
    tls_handshake_cb on_handshake;
    tls_read_cb on_read;
    tls_drain_cb on_drain;
    tls_close_cb on_close;
    void *arg;           /* for the caller: tls_conn_arg */
    unsigned timeout_ms; /* handshake, and close; 0: 10 s */
    size_t write_limit;  /* queue bound; 0: 1 MiB */
};

/*
 * A TLS context for one identity: a self-signed X.509 certificate made
 * in memory for its key (valid from yesterday to 9999, so it never needs
 * renewal; peers look only at the key).  id must outlive the context.
 * Returns 0, OER_ENOMEM or OER_ECRYPTO; *out is the caller's.
 */
int tls_context_new(struct tls_context **out, const struct identity *id);

/* Free; accepts NULL.  Open connections keep what they need. */
void tls_context_free(struct tls_context *ctx);

/*
 * Accept a connection pending on server (a listening uv_tcp_t, from its
 * connection callback) and start the handshake as the TLS server.  The
 * connection owns its own handle.  Returns 0 (then on_close will be
 * called exactly once), or OER_EIO / OER_ENOMEM with no callback.
 * *out is valid until on_close returns.
 */
int tls_conn_accept(struct tls_conn **out, struct tls_context *ctx,
                    uv_stream_t *server, const struct tls_conn_opts *opts);

/* Connect to addr on loop and start the handshake as the TLS client;
 * like tls_conn_accept otherwise. */
int tls_conn_connect(struct tls_conn **out, struct tls_context *ctx,
                     uv_loop_t *loop, const struct sockaddr *addr,
                     const struct tls_conn_opts *opts);

/*
 * Queue len bytes (copied) for the peer.  Writes made in one loop
 * iteration go out together after it, once the handshake is done.
 * Returns 0; TLS_CONN_FULL when the queued bytes now exceed the bound
 * (the data is taken: stop producing until on_drain); OER_ENOMEM, with
 * the data refused, when the caller kept writing far past the bound
 * (16 times it); OER_EIO when the connection is closing.
 */
int tls_conn_write(struct tls_conn *conn, const void *data, size_t len);

/* Bytes queued and not yet written to the socket. */
size_t tls_conn_queued(const struct tls_conn *conn);

/* Stop delivering on_read, and stop reading the socket, until
 * tls_conn_read_start: the peer's sending then stalls in its own queue. */
void tls_conn_read_stop(struct tls_conn *conn);
void tls_conn_read_start(struct tls_conn *conn);

/* Send what is queued, then close_notify, and close; on_close follows
 * with TLS_END_LOCAL.  During the handshake it gives up at once.  Safe
 * to call from any callback and more than once. */
void tls_conn_close(struct tls_conn *conn);

/* The peer's key fingerprint once on_verify has accepted it, else "". */
const char *tls_conn_peer_fingerprint(const struct tls_conn *conn);

/* The peer's key once on_verify has accepted it: 0, else OER_ENOTFOUND.
 * A peer's key is also the key of its own origin's catalogue. */
int tls_conn_peer_key(struct identity_pub *out, const struct tls_conn *conn);

/* "ip:port" of the peer, for logs. */
const char *tls_conn_peer_addr(const struct tls_conn *conn);

/* opts->arg of the connection. */
void *tls_conn_arg(const struct tls_conn *conn);

/* "clean", "local", "truncated", ...: a static string. */
const char *tls_end_name(enum tls_end end);

#endif
