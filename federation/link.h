/*
 * link: one peer protocol connection over federation/tls: frames in and
 * out, the HELLO exchange (the accepting side speaks first), liveness
 * (PING after a quiet spell, a close after a long silence), ERROR on any
 * violation and BYE on an orderly close.  Which peer a key belongs to,
 * and what to do with a second connection, is the owner's business
 * (federation/peer.h).
 */
#ifndef OERNODE_LINK_H
#define OERNODE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "federation/tls.h"
#include "protocol/message.h"

/* link_send took the frame, but the queue is over its bound: stop
 * producing; the link stops reading the peer until the queue drains. */
#define LINK_FULL 1

/* Bytes of a close reason, NUL included. */
#define LINK_WHY 192

struct link;

/* The peer's key: 0 accepts it (the link is then the owner's to name
 * with link_set_peer), a negative code refuses the connection, with why
 * in reason (LINK_WHY bytes; the close reason).  Called inside the TLS
 * handshake: it must not close the link. */
typedef int (*link_verify_cb)(struct link *l, const char *fingerprint,
                              char *reason);

/* The peer's HELLO, its version already checked: return NULL to go on,
 * or the code of an ERROR frame ("identity") with reason filled
 * (LIMIT_REASON bytes); the link then sends ERROR and closes. */
typedef const char *(*link_hello_cb)(struct link *l,
                                     const struct message_hello *hello,
                                     char *reason);

/* HELLO went both ways: the link carries messages now. */
typedef void (*link_open_cb)(struct link *l);

/* A message this layer does not handle itself (HEADS, FETCH, ...); the
 * message is valid during the call only. */
typedef void (*link_message_cb)(struct link *l, const struct message *msg);

/* The last callback: why the link ended (LINK_WHY bytes, for logs and
 * status) and whether it was an orderly end (a BYE either way, or a
 * close this node asked for).  The link is freed on return. */
typedef void (*link_close_cb)(struct link *l, const char *why, int orderly);

/* What a link needs: this node's HELLO, its limits and its callbacks.
 * Strings are borrowed for the link's life. */
struct link_opts {
    const char *node_id; /* ours, sent in HELLO */
    int commercial;      /* our declared use */
    int adapts;
    unsigned ping_ms;      /* PING after this long without a frame */
    unsigned silence_ms;   /* close after this long without a frame */
    unsigned handshake_ms; /* TLS handshake, then the peer's HELLO */
    size_t write_limit;    /* queue bound; 0: federation/tls's default */
    link_verify_cb on_verify;
    link_hello_cb on_hello;
    link_open_cb on_open;
    link_message_cb on_message; /* may be NULL: such messages are dropped */
    link_close_cb on_close;
    void *arg; /* for the owner: link_arg */
};

/*
 * Accept a connection pending on server (from its connection callback),
 * or dial addr on loop, and run the handshakes.  Returns 0, after which
 * on_close comes exactly once, or OER_EIO / OER_ENOMEM with no callback.
 * *out is valid until on_close returns; the options are copied.
 */
int link_accept(struct link **out, struct tls_context *ctx, uv_stream_t *server,
                const struct link_opts *opts);
int link_connect(struct link **out, struct tls_context *ctx, uv_loop_t *loop,
                 const struct sockaddr *addr, const struct link_opts *opts);

/*
 * Send msg to an open link, within the limits the peer advertised.
 * Returns 0; LINK_FULL (sent, but stop producing); OER_EINVAL when the
 * message breaks a limit (logged; that one message fails, the link goes
 * on); OER_EIO when the link is not open; OER_ENOMEM.
 */
int link_send(struct link *l, const struct message *msg);

/* Close in order: BYE with reason when HELLO went both ways, then a TLS
 * close.  Safe from any callback and more than once. */
void link_close(struct link *l, const char *reason);

/* Close for a violation: ERROR with code and reason, logged with the
 * peer, then a TLS close. */
void link_fail(struct link *l, const char *code, const char *reason);

/* The owner's name for the peer, for logs and status (copied). */
void link_set_peer(struct link *l, const char *name, void *peer);

/* What the owner gave link_set_peer, or NULL. */
void *link_peer(const struct link *l);

/* The peer's HELLO once received, else NULL; valid while the link is. */
const struct message_hello *link_hello(const struct link *l);

/* Whether HELLO went both ways and the link is not closing. */
int link_is_open(const struct link *l);

/* Whether this node dialled the connection. */
int link_outgoing(const struct link *l);

/* The peer's key, verified in the TLS handshake: 0, or OER_ENOTFOUND
 * before that or once the connection has closed. */
int link_peer_key(struct identity_pub *out, const struct link *l);

/* "ip:port" of the peer. */
const char *link_addr(const struct link *l);

/* When HELLO went both ways (seconds since the epoch), else 0. */
int64_t link_since(const struct link *l);

/* Liveness so far: PINGs sent, PONGs received, the last round trip in
 * milliseconds (-1 before the first PONG), and whether the queue to the
 * peer is over its bound. */
struct link_stats {
    uint64_t pings;
    uint64_t pongs;
    int64_t rtt_ms;
    int stalled;
};
void link_stats(struct link_stats *out, const struct link *l);

/* opts->arg of the link. */
void *link_arg(const struct link *l);

#endif
