/*
 * keyring: the public keys of origins that are not connected peers, which
 * a node needs to verify their catalogues: [origin "ID"] key in the
 * configuration, else the file <node.data>/origin-keys/<ID>.pub (one
 * "ssh-ed25519 AAAA..." line).  A key introduced by a trusted peer is
 * written to that file with a second line naming who introduced it and
 * when; a key known here is never replaced.  docs/SYNC.md ("Origin
 * keys").
 */
#ifndef OERNODE_KEYRING_H
#define OERNODE_KEYRING_H

#include "config/config.h"
#include "federation/identity.h"

/* Folder of node.data holding <origin>.pub. */
#define KEYRING_DIR "origin-keys"

enum keyring_source {
    KEYRING_CONFIG,    /* [origin "ID"] key */
    KEYRING_FILE,      /* origin-keys/ID.pub, put there by an operator */
    KEYRING_INTRODUCED, /* origin-keys/ID.pub, written on a peer's word */
    KEYRING_PEER        /* origin-keys/ID.pub: the peer ID's own pinned
                           key, recorded when it connected */
};

/* One known key; strings borrowed for the callback. */
struct keyring_entry {
    const char *origin;
    const char *key;           /* "ssh-ed25519 AAAA..." */
    enum keyring_source source;
    const char *introduced_by; /* the peer, "" unless introduced */
    const char *introduced_at; /* "2025-01-31T12:00:00Z", "" unless so */
};

/*
 * The key of origin known from c (borrowed): [origin] key first, then its
 * file.  Returns 0, OER_ENOTFOUND, or OER_EINVAL for a file that holds no
 * key (logged with its path).
 */
int keyring_find(struct identity_pub *out, const struct config *c,
                 const char *origin);

/*
 * Record key as origin's, introduced by peer: origin-keys/<origin>.pub
 * is written whole (beside, synced, then linked, creating the folder) and
 * never replaced.  Returns 0, OER_EEXISTS when a key of origin is known
 * (configured or in a file), OER_EINVAL for a bad origin name, OER_EIO
 * (logged).  The caller logs the introduction.
 */
int keyring_introduce(const struct config *c, const char *origin,
                      const struct identity_pub *key, const char *peer);

/* Called for each key; a non-zero return stops and is returned. */
typedef int (*keyring_cb)(const struct keyring_entry *e, void *arg);

/* Every known key: the configured ones, then each readable file of the
 * folder not shadowed by one, in name order. */
int keyring_list(const struct config *c, keyring_cb cb, void *arg);

/* "config", "file", "introduced", "peer". */
const char *keyring_source_name(enum keyring_source s);

#endif
