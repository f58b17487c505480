/*
 * session: catalogue sync over the peer table, on the daemon's loop.
 * With each connected peer it exchanges HEADS (on connect, then whenever
 * a catalogue here moves: refs are polled every poll_ms), FETCHes the
 * heads it lacks, streams PACKs for the peer's FETCHes, and verifies what
 * it receives with sync/replica on worker threads.  docs/SYNC.md ("The
 * session") describes it.
 */
#ifndef OERNODE_SESSION_H
#define OERNODE_SESSION_H

#include <uv.h>

#include "config/config.h"
#include "federation/peer.h"
#include "sync/keyring.h"

/* How often the refs are checked for catalogues that moved. */
#define SESSION_POLL_MS 1000

/* Folder of node.data holding <origin>.pub: the keys of origins that are
 * not peers (sync/keyring.h reads and writes it). */
#define SESSION_KEYS_DIR KEYRING_DIR


/* What a session needs; borrowed for its life. */
struct session_options {
    const struct config *config; /* node id, data folder, policy */
    const char *repo_path;       /* the store's repository */
    unsigned poll_ms;            /* 0: SESSION_POLL_MS */
};

struct session;

/*
 * A session on loop.  Returns 0 with *out the caller's (session_stop),
 * OER_ENOMEM, or a store failure.  It does nothing until attached.
 */
int session_new(struct session **out, uv_loop_t *loop,
                const struct session_options *opt);

/* Point the hooks of o (on_up, on_message, on_down, arg) at s, before
 * peer_table_start. */
void session_hook(struct peer_options *o, struct session *s);

/* The table to send through (started with session_hook's options); the
 * ref poll starts. */
void session_attach(struct session *s, struct peer_table *t);

/*
 * 1 when peer id is connected, has sent HEADS, nothing is in flight with
 * it (fetch, verification, pack, files) and no sync message came from it
 * for quiet_ms: both sides have what the other offered.  Else 0.
 */
int session_settled(const struct session *s, const char *id, unsigned quiet_ms);

/*
 * Stop: no more messages or polling; work in flight finishes and is
 * dropped.  Call it after peer_table_stop; the session frees itself once
 * the loop has run its last work.  Accepts NULL.
 */
void session_stop(struct session *s);

#endif
