/*
 * replica: catalogue replication without the network.  The sender side
 * packs the commits of one origin's catalogue between what a peer has and
 * what it wants, in bounded packs; the receiver side indexes a pack,
 * verifies it (fast-forward, the origin's signatures, valid documents)
 * and only then moves refs/catalog/<origin>; two signed histories of one
 * origin freeze that catalogue.  File blobs travel apart, through the
 * licence gate.  docs/SYNC.md describes the algorithm and its errors.
 *
 * Every function is synchronous and may take long: run it on a worker
 * thread (uv_queue_work) with a struct store that thread alone uses.
 * Every refusal comes with a reason (lower case, no full stop, at most
 * REPLICA_REASON bytes with its NUL) for the log and an ERROR frame.
 */
#ifndef OERNODE_REPLICA_H
#define OERNODE_REPLICA_H

#include <stddef.h>

#include "federation/identity.h"
#include "node/store.h"
#include "protocol/limits.h"
#include "protocol/message.h"

#define REPLICA_REASON LIMIT_REASON

/* Default bounds of one pack: objects, and bytes of those objects before
 * compression.  One commit always goes, even past the bounds. */
#define REPLICA_PACK_OBJECTS 20000
#define REPLICA_PACK_BYTES (32u << 20)

/* Largest pack a receiver indexes, in bytes on the wire. */
#define REPLICA_RECEIVE_MAX (256u << 20)

/* ---- sender ----------------------------------------------------------- */

/* Bounds of one pack; a zero field takes its default.  chunk is the
 * largest piece handed to the callback: at most (and by default)
 * LIMIT_CHUNK. */
struct replica_bounds {
    size_t objects;
    size_t bytes;
    size_t chunk;
};

/* What a pack holds. */
struct replica_pack_info {
    char reaches[STORE_OID_HEX]; /* the newest commit in the pack; "" when
                                  * there was nothing to send */
    int complete;                /* 1 when reaches is the wanted commit */
    size_t commits;              /* commits in the pack */
    size_t objects;              /* objects in the pack */
    size_t bytes;                /* bytes of the packfile */
    size_t chunks;               /* calls of the chunk callback */
    char reason[REPLICA_REASON]; /* why it was refused, else "" */
};

/* One piece of the packfile, in order; last is 1 on the final piece.
 * data is borrowed for the call.  A non-zero return stops the pack and
 * is returned by replica_pack. */
typedef int (*replica_chunk_cb)(const void *data, size_t len, int last,
                                void *arg);

/*
 * Pack origin's catalogue commits reachable from want (40 hex) and not
 * from have (40 hex, or NULL when the peer has none of them), oldest
 * first, stopping at the bounds (NULL: the defaults), and hand the
 * packfile to cb in pieces.  Only catalogue commits, their trees and the
 * document blobs they add go in; file blobs never do.  When want equals
 * have, nothing is sent and out->commits is 0.
 *
 * Returns 0, or: OER_ENOTFOUND (want is not a commit of origin's
 * catalogue here), OER_EINVAL (malformed ids; have unknown here or not an
 * ancestor of want), a libgit2 failure (OER_EIO), or what cb returned.
 * out->reason says why.
 */
int replica_pack(struct replica_pack_info *out, struct store *s,
                 const char *origin, const char *want, const char *have,
                 const struct replica_bounds *bounds, replica_chunk_cb cb,
                 void *arg);

/* ---- receiver --------------------------------------------------------- */

struct replica_rx;

/* How a received pack ended. */
struct replica_result {
    char old_head[STORE_OID_HEX]; /* local head before; "" when none */
    char reaches[STORE_OID_HEX];  /* the newest commit of the pack */
    int moved;        /* 1 when refs/catalog/<origin> now names reaches */
    size_t commits;   /* new commits verified */
    size_t documents; /* documents and tombstones verified */
    char reason[REPLICA_REASON]; /* why it was refused, else "" */
};

/* Begin receiving one pack of origin's catalogue.  *out is the caller's:
 * free it with replica_rx_free, finished or not. */
int replica_rx_new(struct replica_rx **out, struct store *s,
                   const char *origin);

/* The pack is of this node's own catalogue (taken back from a peer after
 * a restore): a history that does not descend from the local head is
 * refused (OER_EINVAL), never recorded as a fork. */
void replica_rx_own(struct replica_rx *rx);

/*
 * Add the next piece of the packfile, as the sender cut it.  OER_EPROTO
 * when the bytes are not a packfile or the pack grows past
 * REPLICA_RECEIVE_MAX; then the receiver is spent (free it).
 *
 * Test hook (built with OERNODE_TEST_HOOKS only, node/fault.h): when
 * the environment variable OERNODE_FAULT is "replica-rx-half", the process raises SIGKILL after writing half of
 * the piece to the temporary pack (tests/integration/sync_resume.sh).
 */
int replica_rx_write(struct replica_rx *rx, const void *data, size_t len);

/*
 * Finish the pack: index it, find its newest commit, and verify, in
 * order: the catalogue is not frozen; that commit descends from the local
 * head (an older one is accepted and changes nothing); every new commit
 * has one parent and is signed by key (the origin's pinned key, whoever
 * relayed it); every document it changes is at the path its id names, of
 * this origin, and valid (non-strict).  Only then the ref moves, by
 * compare-and-swap from the head it had.  Any failure leaves the ref
 * where it was; objects written are kept for the next attempt.
 *
 * Returns 0 (out->moved says whether the ref moved), or: OER_EPROTO (a
 * cut or malformed pack, no commit or several tips in it), OER_ECRYPTO
 * (a commit unsigned or signed by another key), OER_EINVAL (a document
 * invalid, misplaced or of another origin, a merge or a removed
 * document), OER_EFORK (the pack's commit is signed by the origin but
 * neither it nor the local head descends from the other: the catalogue
 * is now frozen at the local head, see replica_frozen; also returned
 * while it stays frozen), OER_ECONFLICT (the ref moved meanwhile), OER_EIO.
 */
int replica_rx_finish(struct replica_result *out, struct replica_rx *rx,
                      const struct identity_pub *key);

/*
 * After a replica_rx_finish that moved the ref: call cb with each
 * document of the pack that names files, as the pack's newest commit
 * holds it, once each (verified already; borrowed for the call), so
 * that a sync asks for the files it lacks without walking the whole
 * catalogue.  Nothing when the ref did not move.  Returns 0 or the first
 * non-zero return of cb, which stops the walk.
 */
int replica_rx_named(struct replica_rx *rx, store_doc_cb cb, void *arg);

/* Accepts NULL.  An unfinished pack's temporary file is removed. */
void replica_rx_free(struct replica_rx *rx);

/* ---- frozen catalogues ------------------------------------------------ */

/* A catalogue frozen on a fork; strings borrowed for the call. */
struct replica_freeze {
    const char *origin;
    const char *local;   /* the head kept */
    const char *foreign; /* the other signed head */
    long long time;      /* when it was frozen, seconds since the epoch */
};

typedef int (*replica_freeze_cb)(const struct replica_freeze *f, void *arg);

/*
 * Every frozen catalogue (refs/frozen/<origin>, an annotated tag on the
 * foreign commit naming both heads), in origin order, for oernode status.
 * A non-zero return of cb stops the walk and is returned.
 */
int replica_frozen(struct store *s, replica_freeze_cb cb, void *arg);

/* ---- files ------------------------------------------------------------ */

/* Whether local policy shares a file of doc (borrowed) with this peer:
 * 1 yes, 0 no. */
typedef int (*replica_policy_cb)(const char *origin, const json_t *doc,
                                 void *arg);

/* The answer for one wanted blob. */
struct replica_file_answer {
    char blob[STORE_OID_HEX];
    enum message_file_status status;
    char licence[64]; /* the licence that decided, "" when none did */
};

/*
 * Decide each of n wanted blobs (40 hex each) for a peer declaring
 * commercial use and/or adaptation: out[i] answers blobs[i].  A blob no
 * document of any catalogue here names is missing; else it is denied by
 * licence unless licence_allows every document naming it, denied by
 * policy unless policy (NULL: share all) allows every such document, and
 * missing when its content is not held here; else sent.  Returns 0,
 * OER_EINVAL for a malformed id, or a store failure.
 */
int replica_files_answer(struct replica_file_answer *out, struct store *s,
                         const char *const *blobs, size_t n, int commercial,
                         int adapts, replica_policy_cb policy, void *arg);

/* The content of a blob to send: *out is malloc'd, the caller's.
 * OER_ENOTFOUND when it is not here. */
int replica_file_read(void **out, size_t *len, struct store *s,
                      const char *blob);

/*
 * Store a file received from a peer for origin's catalogue: only when a
 * document at origin's head names blob, and the len bytes at data have
 * that git blob id, and the document's SHA-256 and size.  Then the blob
 * is written and kept reachable from refs/content/<origin>.  OER_ENOTFOUND
 * (no document names blob), OER_ECORRUPT (content does not match), or a
 * store failure; reason (REPLICA_REASON bytes, may be NULL) says why.
 */
int replica_file_store(char *reason, struct store *s, const char *origin,
                       const char *blob, const void *data, size_t len);

/* ---- debris of aborted transfers -------------------------------------- */

/* Age in seconds past which a temporary file counts as debris. */
#define REPLICA_DEBRIS_AGE 600

/* What replica_sweep removed. */
struct replica_sweep_info {
    size_t files;
    unsigned long long bytes;
};

/*
 * Remove the temporary files that a transfer or a pack write killed
 * midway leaves in the store: in objects/pack, libgit2's indexer packs
 * (pack_git2_*), node/packfile's and git's (tmp_pack_*, tmp_idx_*) and
 * pack lock files (pack-*.lock); in objects, libgit2's loose-object
 * temporaries (tmp_object_git2_*).  Only files last written more than
 * max_age seconds ago (0: REPLICA_DEBRIS_AGE) go, so that a transfer
 * running in another process, whose file is being written, is left
 * alone; call it at startup, before this process starts any transfer.
 * Each removal is logged (info: path and bytes), and a summary when any
 * was removed.  *out (may be NULL) counts them.  Returns 0, or OER_EIO
 * when the pack folder cannot be read; a file that cannot be removed is
 * logged and skipped.
 */
int replica_sweep(struct replica_sweep_info *out, struct store *s,
                  unsigned max_age);

#endif
