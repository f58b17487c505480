/*
 * import: records of other systems into this node's catalogue.  Runs the
 * LOM / OAI-PMH reader (node/lom.h) over files and folders, names each
 * record <origin>/<local id of its source id>, stages it into store
 * batches of at most IMPORT_BATCH_MAX records, and commits them signed.
 * A record that cannot be imported is reported and skipped; the others
 * are still imported.
 */
#ifndef OERNODE_IMPORT_H
#define OERNODE_IMPORT_H

#include <stddef.h>

#include "federation/identity.h"
#include "node/store.h"

#define IMPORT_BATCH_MAX 1000

/* What one run did. */
struct import_summary {
    size_t added;     /* records new to the catalogue */
    size_t updated;   /* records that changed */
    size_t unchanged; /* records identical to the catalogue's */
    size_t withdrawn; /* tombstones written for deleted records */
    size_t skipped;   /* records that could not be imported */
    size_t files;     /* input files read */
    size_t bad_files; /* input files that held no readable records */
    size_t commits;   /* catalogue commits written */
};

/*
 * Called for each record or file that is not imported: where is the
 * record's source identifier (or "FILE record N" when it has none, or
 * the file), reason says why.  Both are borrowed.
 */
typedef void (*import_report_cb)(const char *where, const char *reason,
                                 void *arg);

/* Where a run writes and whom it tells; everything is borrowed. */
struct import_options {
    struct store *store;
    const struct identity *key; /* signs the commits */
    const char *origin;         /* this node's id */
    import_report_cb report;
    void *report_arg;
};

/*
 * Import every LOM record or OAI-PMH response in paths: files are read
 * whatever their name, folders are walked recursively for *.xml files,
 * in name order.  A deleted OAI record writes a tombstone when the
 * record is in the catalogue and not a tombstone already.  A second run
 * over the same input commits nothing.
 *
 * Returns 0 when the run completed, even with records or files skipped
 * (see *out); or the store's error when a commit failed, after which
 * batches committed before stay and the rest is not written.
 */
int import_lom(struct import_summary *out, const struct import_options *opt,
               char *const *paths, size_t count);

#endif
