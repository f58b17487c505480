/*
 * tally: how many documents a catalogue commit holds, for the count of
 * each HEADS entry.  Counting reads the root tree and each shard tree
 * (never a document); from a counted ancestor it reads only the trees
 * that changed between the two (a git diff of trees skips the shards
 * whose id is the same), which is what a session does as heads move.
 */
#ifndef OERNODE_TALLY_H
#define OERNODE_TALLY_H

#include <stddef.h>

#include "node/store.h"

/*
 * The documents (records and tombstones) in the tree of commit (40 hex)
 * through *out.  When base (40 hex, an ancestor of commit) is not NULL,
 * base_count is its count and only what changed is read.  Returns 0,
 * OER_EINVAL (a malformed id), OER_ENOTFOUND (no such commit), OER_EIO.
 */
int tally_documents(size_t *out, struct store *s, const char *commit,
                    const char *base, size_t base_count);

#endif
