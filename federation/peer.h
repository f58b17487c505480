/*
 * peer: the node's peer table.  Every [peer "ID"] of the configuration
 * is dialled and redialled with capped exponential backoff and jitter;
 * incoming connections are accepted from configured keys only; one
 * connection per pair of nodes survives (when both dialled, the one
 * dialled by the node whose id sorts lower); each peer's declared use,
 * liveness and last error are kept for the licence gate and for status.
 * Everything runs on one libuv loop.
 */
#ifndef OERNODE_PEER_H
#define OERNODE_PEER_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "config/config.h"
#include "federation/identity.h"
#include "protocol/message.h"

#define PEER_PING_MS 30000
#define PEER_SILENCE_MS 90000
#define PEER_HANDSHAKE_MS 10000
#define PEER_RETRY_MIN_MS 1000
#define PEER_RETRY_MAX_MS 300000

/* The sync layer's hooks, each with the peer's id and peer_options.arg.
 * on_up: a connection to the peer is open and in use (again after a
 * second connection replaced the first: start over with the peer).
 * on_message: a message other than HELLO, PING, PONG, ERROR or BYE came
 * on the connection in use; valid during the call only.  on_down: the
 * peer has no connection in use any more.  None is called once the
 * table is stopping. */
typedef void (*peer_up_cb)(const char *id, void *arg);
typedef void (*peer_message_cb)(const char *id, const struct message *msg,
                                void *arg);
typedef void (*peer_down_cb)(const char *id, void *arg);

/* What the table needs.  config and key are borrowed and must outlive
 * the table; a time of 0 takes the default above. */
struct peer_options {
    const struct config *config; /* node id, listen.peer, peers, policy */
    const struct identity *key;  /* the node key, for TLS */
    const char *listen;          /* NULL: config->listen_peer */
    unsigned ping_ms;            /* PING after this long without a frame */
    unsigned silence_ms;         /* close after this long without a frame */
    unsigned handshake_ms;       /* TLS handshake, then HELLO */
    unsigned retry_min_ms;       /* first redial delay, doubled each time */
    unsigned retry_max_ms;       /* the cap of that delay */
    size_t write_limit;          /* queue bound a connection; 0: 1 MiB */
    peer_up_cb on_up;            /* each hook may be NULL */
    peer_message_cb on_message;
    peer_down_cb on_down;
    void *arg;
};

struct peer_table;

/*
 * Listen for peers on opt->listen (or listen.peer) and dial every
 * configured peer, on loop.  Returns 0 with *out the caller's (stop it
 * with peer_table_stop), or OER_EINVAL (an address that is not an IP
 * address and port), OER_EIO (cannot listen there) or OER_ECRYPTO /
 * OER_ENOMEM; each is logged.
 */
int peer_table_start(struct peer_table **out, uv_loop_t *loop,
                     const struct peer_options *opt);

/* The port the peer listener is bound to (useful with port 0). */
unsigned peer_table_port(const struct peer_table *t);

/*
 * The table as JSON, for GET /api/peers: {"node", "listen", "peers": [
 * one object a configured peer: id, address, fingerprint, state
 * ("connected", "connecting", "waiting"), connections, remote, direction,
 * since, use {commercial, adapts}, software, version, features, pings,
 * pongs, rtt_ms, stalled, last_error, last_error_at, failures,
 * retry_in_ms]}.  A new reference, or NULL when out of memory.  Call it
 * on the loop thread.
 */
json_t *peer_table_json(const struct peer_table *t);

/*
 * The use peer id declared in its HELLO, for the licence gate: 0 and the
 * flags while it is connected, OER_ENOTFOUND otherwise.
 */
int peer_table_use(int *commercial, int *adapts, const struct peer_table *t,
                   const char *id);

/* peer_table_send took the message but the peer's queue is over its
 * bound: stop producing until peer_table_stalled says 0. */
#define PEER_FULL 1

/*
 * Send msg to peer id on its connection in use.  Returns 0, PEER_FULL,
 * OER_ENOTFOUND (not connected), OER_EINVAL (the message breaks a limit;
 * logged), OER_EIO or OER_ENOMEM.  On the loop thread.
 */
int peer_table_send(struct peer_table *t, const char *id,
                    const struct message *msg);

/* 1 while the queue to peer id is over its bound, else 0. */
int peer_table_stalled(const struct peer_table *t, const char *id);

/* Close the connection to peer id for a violation: ERROR code reason. */
void peer_table_fail(struct peer_table *t, const char *id, const char *code,
                     const char *reason);

/* The key peer id presented on its connection in use (pinned by its
 * fingerprint): 0, or OER_ENOTFOUND when it is not connected. */
int peer_table_key(struct identity_pub *out, const struct peer_table *t,
                   const char *id);

/*
 * Stop: no more listening or dialling, BYE "shutdown" on every open
 * connection, then TLS closes.  The table frees itself once the loop has
 * closed everything; run the loop until it returns.  Accepts NULL.
 */
void peer_table_stop(struct peer_table *t);

#endif
