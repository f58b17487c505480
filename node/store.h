/*
 * store: the node's bare git repository.  Each origin owns one signed,
 * append-only catalogue, refs/catalog/<origin>, whose tree holds the
 * metadata documents at <shard>/<local-id>.json (docs/METADATA.md); file
 * blobs are kept reachable from refs/content/<origin>.  Every catalogue
 * commit is signed with the node key in git's SSH signature format.
 *
 * A commit is durable when store_batch_commit returns: objects are written
 * and synced before the ref moves by compare-and-swap, so a crash at any
 * point leaves the previous catalogue and a valid repository.
 *
 * Lock files: libgit2 writes <ref>.lock while it moves a ref, and a
 * process killed at that moment leaves it behind.  A ref update that meets
 * a lock older than 60 seconds removes it (with a warn line naming it) and
 * goes on; a fresher lock is a live writer's and the update returns
 * OER_ECONFLICT, with a line naming the lock file.
 *
 * Test hook (the only one; built with OERNODE_TEST_HOOKS only,
 * node/fault.h): when the environment variable OERNODE_FAULT is
 * "store-before-ref", store_batch_commit raises SIGKILL after the
 * commit's objects are written and before the ref moves.
 *
 * All functions run on the calling thread; a struct store is not shared
 * between threads.
 */
#ifndef OERNODE_STORE_H
#define OERNODE_STORE_H

#include <stddef.h>

#include <jansson.h>

#include "federation/identity.h"

#define STORE_OID_HEX 41 /* 40 hex digits and a NUL */

struct store;
struct store_batch;

/* Create a bare repository at path; OER_EEXISTS when one is there. */
int store_init(const char *path);

/* The path of name in the folder that holds the repository at
 * repo_path (the node's data folder: "DATA/repo.git" gives
 * "DATA/name"; "." when repo_path has no folder); malloc'd, NULL when
 * out of memory. */
char *store_sibling_path(const char *repo_path, const char *name);

/* Open the repository at path; OER_ENOTFOUND when there is none. */
int store_open(struct store **out, const char *path);

/* Accepts NULL. */
void store_free(struct store *s);

/* Head commit of refs/catalog/<origin>, or OER_ENOTFOUND. */
int store_head(char out[STORE_OID_HEX], struct store *s, const char *origin);

/*
 * Begin a change of origin's catalogue, on top of its current head (or
 * of nothing, for the first commit).  *out is the caller's; free it with
 * store_batch_free whether or not it was committed.  OER_EINVAL for a
 * malformed origin.
 */
int store_batch_new(struct store_batch **out, struct store *s,
                    const char *origin);

/*
 * Stage one document (valid by metadata_validate, with "id" of this
 * origin).  When it is byte-identical to the current document of that id,
 * leaving "updated" aside, nothing is staged and *changed is 0; else 1.
 * changed may be NULL.  The batch copies what it needs from doc.
 * OER_EINVAL (logged) when doc is invalid or its id is malformed or of
 * another origin.  The document's blob is written at once (harmless and
 * unreachable if the batch is never committed).
 */
int store_batch_put(struct store_batch *b, const json_t *doc, int *changed);

/*
 * As store_batch_put, for the import sink only: doc must have passed
 * metadata_validate (which normalises in place) and not changed since.
 * The store checks its id but neither validates nor copies it again; a
 * caller that has not validated doc itself must use store_batch_put.
 */
int store_batch_put_validated(struct store_batch *b, const json_t *doc,
                              int *changed);

/* Number of documents staged so far. */
size_t store_batch_count(const struct store_batch *b);

/*
 * Write one commit holding every staged document, signed by id, and move
 * the ref from the head the batch started on (OER_ECONFLICT when it
 * moved meanwhile).  With nothing staged, writes nothing, returns 0 and
 * leaves out empty ("").  out may be NULL.  After a successful commit
 * the batch is empty and goes on from the commit it made; after a failed
 * one it keeps what was staged and its starting head.
 */
int store_batch_commit(char out[STORE_OID_HEX], struct store_batch *b,
                       const struct identity *id, const char *message);

/* Accepts NULL. */
void store_batch_free(struct store_batch *b);

/* The document <origin>/<local_id> at the catalogue head; OER_ENOTFOUND.
 * Tombstones are returned too.  *out is the caller's (json_decref). */
int store_get(json_t **out, struct store *s, const char *origin,
              const char *local_id);

/* Called for each document of a catalogue; a non-zero return stops the
 * walk and is returned by store_foreach.  doc is borrowed. */
typedef int (*store_doc_cb)(const json_t *doc, void *arg);

/* Every document of origin's catalogue at its head, in path order;
 * OER_ENOTFOUND when there is no such catalogue, OER_ECORRUPT when a
 * stored document does not parse. */
int store_foreach(struct store *s, const char *origin, store_doc_cb cb,
                  void *arg);

/* Called for each catalogue; origin is borrowed. */
typedef int (*store_origin_cb)(const char *origin, const char *head,
                               void *arg);

/* Every refs/catalog/<origin>, in name order. */
int store_origins(struct store *s, store_origin_cb cb, void *arg);

/*
 * The head of every catalogue of the repository at path, as store_origins
 * lists them, into *out (an object origin -> commit hex; the caller's).
 * The last answer is kept in memory while refs/catalog/ and packed-refs
 * keep their file times, inodes and sizes (libgit2 and git move a ref by
 * renaming a lock file over it, which changes the folder's time), so that
 * a call costs two stat() calls rather than opening the repository and
 * reading its refs.  Refs changed less than STORE_HEADS_RACY seconds ago
 * are read again on every call: a file time may not tell apart two
 * changes that close.  Safe to call from any thread.
 */
#define STORE_HEADS_RACY 2
int store_heads(json_t **out, const char *path);

/* One commit of a catalogue, for store_log. */
struct store_commit_info {
    const char *id;      /* 40 hex */
    long long time;      /* committer time, seconds since the epoch */
    const char *message; /* commit message */
    size_t changes;      /* documents added, changed or removed */
};

typedef int (*store_log_cb)(const struct store_commit_info *info, void *arg);

/* The catalogue's commits, newest first (OER_ENOTFOUND when there is no
 * catalogue).  info and its strings are borrowed for the call; message
 * has its trailing newlines removed.  A non-zero return of cb stops the
 * walk and is returned. */
int store_log(struct store *s, const char *origin, store_log_cb cb,
              void *arg);

/* A catalogue commit and the documents it changed, for store_changes;
 * everything is borrowed for the call. */
struct store_change {
    const char *id;     /* 40 hex */
    const char *parent; /* first parent, 40 hex; "" for a first commit */
    long long time;     /* committer time, seconds since the epoch */
    const char **paths; /* document paths changed against the parent
                         * ("ab/abc.json"), in byte order */
    size_t count;
};

typedef int (*store_change_cb)(const struct store_change *c, void *arg);

/*
 * The commits reachable from upto and not from after (NULL: from the
 * first commit), oldest first, each with the paths it changed against its
 * first parent.  Commits whose time is outside [min_time, max_time] are
 * skipped without being compared.  upto and after are commit ids (40
 * hex): OER_EINVAL when malformed, OER_ENOTFOUND (not logged) when there
 * is no such commit.  A non-zero return of cb stops the walk and is
 * returned.
 */
int store_changes(struct store *s, const char *upto, const char *after,
                  long long min_time, long long max_time, store_change_cb cb,
                  void *arg);

/*
 * The document at path in the tree of commit (40 hex): parsed into *out
 * (the caller's) and its blob id into blob; either may be NULL.
 * OER_ENOTFOUND (not logged) when there is no such commit or path,
 * OER_ECORRUPT when the document does not parse.
 */
int store_get_at(json_t **out, char blob[STORE_OID_HEX], struct store *s,
                 const char *commit, const char *path);

/* Where a document last changed: the commit, its first parent ("" for a
 * first commit) and its committer time. */
struct store_change_point {
    char id[STORE_OID_HEX];
    char parent[STORE_OID_HEX];
    long long time;
};

/*
 * The newest commit, going from upto back along first parents, whose
 * document at path differs from its parent's (or is new).  OER_ENOTFOUND
 * when there is no document at path in upto or no commit upto.
 */
int store_last_change(struct store_change_point *out, struct store *s,
                      const char *upto, const char *path);

/*
 * 1 when commit is ancestor or descends from it, 0 when not; OER_EINVAL
 * for a malformed id, OER_ENOTFOUND (not logged) when either is not a
 * commit here.
 */
int store_descends(struct store *s, const char *commit, const char *ancestor);

/* A file written into the store. */
struct store_file {
    char blob[STORE_OID_HEX]; /* git blob id */
    char sha256[65];          /* SHA-256 of the content, hex */
    long long size;
};

/*
 * Write the file at path as a blob (streamed, not read whole), compute its
 * SHA-256, and keep it reachable from refs/content/<origin> (one commit
 * when it was not there yet).  OER_ENOTFOUND when there is no such file.
 */
int store_add_file(struct store_file *out, struct store *s,
                   const char *origin, const char *path);

/*
 * As store_add_file, for content already in memory (a file received from
 * a peer): len bytes at data, which stay the caller's.
 */
int store_add_file_bytes(struct store_file *out, struct store *s,
                         const char *origin, const void *data, size_t len);

/*
 * Move refs/catalog/<origin> to the commit to (40 hex), by compare-and-
 * swap from from (40 hex; NULL when the ref must not exist yet), for a
 * catalogue received from a peer and verified.  The objects of to must be
 * written and synced already.  OER_ECONFLICT when the ref moved meanwhile
 * or another writer holds it, OER_EINVAL for a malformed id or origin.
 */
int store_catalog_move(struct store *s, const char *origin, const char *to,
                       const char *from);

/*
 * The libgit2 repository under s, borrowed (it lives as long as s), for
 * the one module that uses libgit2 features the store does not wrap
 * (sync/replica: packs and freeze records).  That module translates
 * libgit2's codes itself.
 */
struct git_repository *store_repository(struct store *s);

/* Whether a blob is present: 1 or 0, or OER_EINVAL for a malformed id. */
int store_has_blob(struct store *s, const char *blob_hex);

/*
 * Verify the signature of one commit against pub; OER_ECRYPTO when it is
 * unsigned or signed by another key, OER_ENOTFOUND when there is no such
 * commit.
 */
int store_verify_commit(struct store *s, const char *commit_hex,
                        const struct identity_pub *pub);

/* The key of an origin for store_fsck; OER_ENOTFOUND when unknown. */
typedef int (*store_key_cb)(struct identity_pub *out, const char *origin,
                            void *arg);

/* A problem store_fsck found: where (ref, commit, path) and what. */
typedef void (*store_problem_cb)(const char *where, const char *what,
                                 void *arg);

/*
 * Check every catalogue: every commit signed by its origin's key, every
 * metadata document valid and at the path its id names, every file
 * reference either present with matching blob id and SHA-256 or absent
 * (content not held here), and every refs/content blob present.  Each
 * problem goes to report (may be NULL) and to the log; *problems counts
 * them.  where reads "<ref> <commit>:<path>" (commit and path when they
 * apply).  keys is required.  Returns 0 when the walk completed (even with
 * problems), or an error when it could not run.
 */
int store_fsck(size_t *problems, struct store *s, store_key_cb keys,
               void *key_arg, store_problem_cb report, void *report_arg);

#endif
