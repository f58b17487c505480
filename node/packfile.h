/*
 * packfile: one git pack and its index written straight from an object
 * database, without libgit2's packbuilder.  The packbuilder searches for
 * deltas among every pair of similar objects and then reads its own pack
 * back through the indexer; for a catalogue commit of thousands of small
 * new documents that cost the import most of its time.  This writer
 * stores each object whole (no deltas), deflated by zlib at its fastest
 * level; `git gc` or `git repack` finds deltas whenever that matters.
 *
 * The pack and its index (version 2) are written under temporary names,
 * synced, renamed into place (the pack first: the index is what makes a
 * pack visible) and the folder synced, so that when packfile_write
 * returns its objects are durable.
 */
#ifndef OERNODE_PACKFILE_H
#define OERNODE_PACKFILE_H

#include <stddef.h>

#include <git2.h>

/*
 * Write the objects ids[0 .. count - 1] (read from odb; duplicates are
 * written once) as one pack in the folder dir (a repository's
 * objects/pack), named pack-<checksum>.pack and .idx.  name, when not
 * NULL, receives the checksum (40 hex and a NUL).  Returns 0, OER_EINVAL
 * for no objects, OER_ENOTFOUND when an object is not in odb, OER_ENOMEM,
 * or OER_EIO (each logged).  ids stays the caller's.
 */
int packfile_write(char name[41], const char *dir, git_odb *odb,
                   const git_oid *ids, size_t count);

/*
 * The same pack, in memory only, each object deflated at zlib's level
 * (0, stored, to 9): *out (malloc'd, the caller's) receives its len
 * bytes, header to checksum, for a peer; no index is built and nothing
 * is written.  Returns 0, OER_EINVAL for no objects, OER_ENOTFOUND when
 * an object is not in odb, OER_ENOMEM, or OER_EIO.
 */
int packfile_build(void **out, size_t *len, git_odb *odb, const git_oid *ids,
                   size_t count, int level);

#endif
