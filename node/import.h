/*
 * import: records of other systems into this node's catalogue.  Every
 * reader (LOM, Dublin Core, CSV/TSV, JSON, an OAI-PMH harvester) goes
 * through one sink: it hands each record over as a metadata document,
 * each deletion as a source identifier, each record it cannot read as a
 * reason.  The sink names each record <origin>/<local id of its source
 * id> (metadata_local_id), merges records that share a source id within
 * one run, validates, stages at most IMPORT_BATCH_MAX records into each
 * store batch and commits them signed.  A record that cannot be imported
 * is reported and skipped; the others are still imported.
 *
 * Use:
 *
 *     struct import_run *run;
 *     struct import_summary sum;
 *
 *     err = import_begin(&run, &opt);
 *     ... import_file, import_put, import_withdraw, import_skip ...
 *     err = import_finish(&sum, run);   (always frees run)
 *
 * A run belongs to one thread.
 */
#ifndef OERNODE_IMPORT_H
#define OERNODE_IMPORT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "federation/identity.h"
#include "node/store.h"

/* Records in one catalogue commit, at most. */
#define IMPORT_BATCH_MAX 10000

/*
 * Distinct records held back before staging, at most.  Records are kept
 * until the run finishes or this many are waiting, so that duplicates of
 * one source id merge into exactly one version; a duplicate that comes
 * after its first copy was committed merges into the committed version.
 */
#define IMPORT_PENDING_MAX 20000

/* Distinct skip reasons a summary counts one by one; more are counted
 * together in the last entry, "other reasons". */
#define IMPORT_REASONS_MAX 32

/* How many records or files were left out for one reason. */
struct import_reason {
    char text[96]; /* the reason given to import_skip, cut to fit */
    size_t count;
};

/* What one run did. */
struct import_summary {
    size_t added;     /* records new to the catalogue */
    size_t updated;   /* records that changed */
    size_t unchanged; /* records identical to the catalogue's */
    size_t withdrawn; /* tombstones written for deleted records */
    size_t gone;      /* deletions of records absent or withdrawn already */
    size_t merged;    /* records merged into an earlier one of the run
                       * with the same source id (not counted above) */
    size_t skipped;   /* records that could not be imported */
    size_t files;     /* input files read */
    size_t bad_files; /* input files that held no readable records */
    size_t commits;   /* catalogue commits written (0 in a dry run) */
    int dry_run;      /* 1: nothing was written; the counts say what
                       * would have been */
    /* Skipped records and bad files by reason, in order of first
     * appearance: reasons[0 .. reason_count - 1]. */
    size_t reason_count;
    struct import_reason reasons[IMPORT_REASONS_MAX];
};

/*
 * Called for each record or file that is not imported: where is the
 * record's source identifier (or "FILE record N" when it has none, or
 * the file), reason the short reason counted in the summary, detail
 * (may be NULL) says more.  All are borrowed.
 */
typedef void (*import_report_cb)(const char *where, const char *reason,
                                 const char *detail, void *arg);

/* Where a run writes and whom it tells; everything is borrowed and must
 * outlive the run. */
struct import_options {
    struct store *store;
    const struct identity *key; /* signs the commits; may be NULL in a
                                 * dry run */
    const char *origin;         /* this node's id */
    const char *label;          /* commit messages read "LABEL: N records";
                                 * NULL: "import" */
    int dry_run;             /* validate and count, write nothing (no objects,
                              * no refs) */
    int progress;            /* show "imported N, skipped M" on stderr, updated
                              * at most 4 times a second, when stderr is a
                              * terminal; nothing otherwise */
    import_report_cb report; /* may be NULL */
    void *report_arg;
};

struct import_run;

/*
 * Start a run.  *out is the caller's until import_finish.  Returns 0,
 * OER_EINVAL (no store, a malformed origin, no key outside a dry run),
 * OER_ENOMEM, or the store's error.
 */
int import_begin(struct import_run **out, const struct import_options *opt);

/*
 * One input file begins: counted in the summary's files, and named in
 * reports of records that have no source id.  path is copied.
 */
int import_file(struct import_run *run, const char *path);

/*
 * A whole input file held nothing to import (not well-formed, another
 * format, an OAI-PMH error): reported with reason and detail, counted
 * in bad_files and under reason.
 */
void import_bad_file(struct import_run *run, const char *path,
                     const char *reason, const char *detail);

/*
 * One record, as a metadata document of docs/METADATA.md without "id"
 * and "updated" (the sink sets both) and with "source_id", the record's
 * identifier in its source (required: a document without one is skipped
 * as "no identifier").  doc is borrowed and not changed.  where names
 * the record in reports (NULL: its source id).
 *
 * A document that does not validate is reported and skipped.  A second
 * document with the same source id in one run is merged into the first:
 * list fields (languages, keywords per language, levels, subjects,
 * resource_types, audience, contributors, flags, licence_flags, files)
 * become the union in order of first appearance, languages missing from
 * title and description are added, and other fields keep the first
 * value (a field the first lacked is taken from the later one).
 *
 * Returns 0, also when the record was skipped; or, when the run cannot
 * go on, OER_ENOMEM or the store's error (a commit failed); then every
 * later call returns that error too.
 */
int import_put(struct import_run *run, const json_t *doc, const char *where);

/*
 * The source deleted the record with this source id: it becomes a
 * tombstone ("deleted at the source") when it is in the catalogue and
 * not a tombstone already (else it is counted as gone).  A record put
 * earlier in the same run is replaced by the tombstone.  Returns like
 * import_put.
 */
int import_withdraw(struct import_run *run, const char *source_id,
                    const char *where);

/*
 * A record the reader could not convert: reported and counted under
 * reason (a short, fixed phrase such as "no title" or "not Dublin Core:
 * paradata", so that the summary groups like records); detail may be
 * NULL.  where as in import_put; NULL names the current file.
 */
void import_skip(struct import_run *run, const char *where, const char *reason,
                 const char *detail);

/*
 * Stage and commit what is pending, fill *out, clear the progress line,
 * and free run (also on error; run may be NULL, then *out is zeroed and
 * 0 returned).  Returns 0 when the run completed, even with records or
 * files skipped; else the first fatal error, after which batches
 * committed before stay and the rest is not written.
 */
int import_finish(struct import_summary *out, struct import_run *run);

/*
 * Print the summary to f: a line of counts ("3 new, 1 updated, 0
 * unchanged, 0 withdrawn, 0 gone, 2 merged, 4 skipped; 2 files read, 0
 * without records; 1 commit"), with "(dry run: nothing written)" in a
 * dry run, then one line per reason: "  skipped 3: no title".
 */
void import_summary_print(FILE *f, const struct import_summary *sum);

/* Read one file into the run; return 0 or a fatal error. */
typedef int (*import_file_cb)(struct import_run *run, const char *path,
                              void *arg);

/*
 * Call read for each of paths: a file is read whatever its name; a
 * folder is walked recursively, in name order, for files whose name
 * ends with one of suffixes (NULL-terminated, case-insensitive, such as
 * ".xml"), skipping names that start with '.'.  A path that cannot be
 * read is a bad file.  Returns 0 or the first error read returned.
 */
int import_walk(struct import_run *run, char *const *paths, size_t count,
                const char *const *suffixes, import_file_cb read, void *arg);

/*
 * Import every LOM record or OAI-PMH response in paths (folders: *.xml),
 * through one run of the sink with opt.  A deleted OAI record is
 * withdrawn.  Returns like import_finish.
 */
int import_lom(struct import_summary *out, const struct import_options *opt,
               char *const *paths, size_t count);

#endif
