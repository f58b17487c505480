/*
 * store: the node's bare git repository.  Catalogue commits are built
 * from the head's tree, signed with the node key, written and synced,
 * and only then published by a compare-and-swap of the ref.  libgit2
 * errors are translated to OER_* codes here and nowhere else.
 */
#include "node/store.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <openssl/evp.h>

#include "node/error.h"
#include "node/fault.h"
#include "node/log.h"
#include "node/metadata.h"
#include "node/packfile.h"

#define CATALOG_PREFIX "refs/catalog/"
#define CONTENT_PREFIX "refs/content/"
#define REF_MAX 96          /* prefix, an origin of 64 characters, NUL */
#define PATH_MAX_DOC 80     /* "xx/" + a local id of 64 + ".json" + NUL */
#define CHUNK (64 * 1024)   /* streaming buffer for file content */
#define LOCK_STALE 60       /* seconds after which a ref lock is stale */
#define CAS_TRIES 3         /* attempts to add a blob to refs/content */

struct store {
    git_repository *repo;
};

/*
 * A batch writes its objects into memory (a mempack backend on a
 * repository handle of its own, w) and, at commit, into one pack synced
 * once: a loose object a record, each synced, cost an import most of its
 * time.  Refs move through the caller's store, s.
 */
struct store_batch {
    struct store *s;
    struct store w;
    git_odb_backend *mempack; /* owned by w.repo's object database */
    char origin[72];
    char ref[REF_MAX];
    git_oid head;
    int has_head;
    git_tree *base;  /* tree of head, NULL before the first commit */
    json_t *staged;  /* document path -> blob id (hex) */
};

/* ---- libgit2 at the boundary ---------------------------------------- */

static int lib_init(void)
{
    if (git_libgit2_init() < 0) {
        log_error("store", "libgit2 initialisation failed", "err", "io",
                  NULL);
        return OER_EIO;
    }
    /* Objects and refs reach the disk before the ref that names them. */
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
    /* A catalogue's root tree lists up to 1,024 shards (about 40 KB):
     * keep trees that large in libgit2's object cache (4 KB by default),
     * or every lookup of a record inflates the root tree again. */
    git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE,
                     (size_t)(256 * 1024));
    return 0;
}

/* Translate a libgit2 error, logging what failed and libgit2's text. */
static int from_git(int gerr, const char *what, const char *key,
                    const char *value)
{
    const git_error *e = git_error_last();
    int code;

    switch (gerr) {
    case GIT_ENOTFOUND:
        code = OER_ENOTFOUND;
        break;
    case GIT_EEXISTS:
        code = OER_EEXISTS;
        break;
    case GIT_EMODIFIED:
    case GIT_ELOCKED:
        code = OER_ECONFLICT;
        break;
    default:
        code = OER_EIO;
        break;
    }
    log_warn("store", what, key, value, "err", error_name(code), "git",
             e != NULL ? e->message : "", NULL);
    return code;
}

static int origin_ok(const char *origin)
{
    return origin != NULL && metadata_valid_origin(origin);
}

static int local_ok(const char *local_id)
{
    return local_id != NULL && metadata_valid_local_id(local_id);
}

/* "refs/catalog/<origin>" or "refs/content/<origin>", origin checked. */
static int ref_name(char out[REF_MAX], const char *prefix,
                    const char *origin)
{
    if (!origin_ok(origin)) {
        log_warn("store", "malformed origin", "origin", origin, "err",
                 "inval", NULL);
        return OER_EINVAL;
    }
    snprintf(out, REF_MAX, "%s%s", prefix, origin);
    return 0;
}

/* The shard is the first two characters of the local id (or its only
 * one). */
static void doc_path(char out[PATH_MAX_DOC], const char *local_id)
{
    snprintf(out, PATH_MAX_DOC, "%.2s/%s.json", local_id, local_id);
}

static int parse_oid(git_oid *out, const char *hex)
{
    if (hex == NULL || strlen(hex) != GIT_OID_HEXSZ ||
        git_oid_fromstr(out, hex) < 0) {
        log_warn("store", "malformed object id", "id", hex, "err", "inval",
                 NULL);
        return OER_EINVAL;
    }
    return 0;
}

/* Target of ref; OER_ENOTFOUND (not logged) when there is no such ref. */
static int read_head(git_oid *out, struct store *s, const char *ref)
{
    int gerr = git_reference_name_to_id(out, s->repo, ref);

    if (gerr == GIT_ENOTFOUND)
        return OER_ENOTFOUND;
    if (gerr < 0)
        return from_git(gerr, "cannot read ref", "ref", ref);
    return 0;
}

static int commit_tree(git_tree **out, struct store *s, const git_oid *id)
{
    char hex[STORE_OID_HEX];
    git_commit *commit = NULL;
    int gerr;

    gerr = git_commit_lookup(&commit, s->repo, id);
    if (gerr == 0)
        gerr = git_commit_tree(out, commit);
    git_commit_free(commit);
    if (gerr < 0)
        return from_git(gerr, "cannot read commit", "commit",
                        git_oid_tostr(hex, sizeof(hex), id));
    return 0;
}

static int empty_tree(git_tree **out, struct store *s)
{
    git_treebuilder *bld = NULL;
    git_oid oid;
    int gerr;

    gerr = git_treebuilder_new(&bld, s->repo, NULL);
    if (gerr == 0)
        gerr = git_treebuilder_write(&oid, bld);
    if (gerr == 0)
        gerr = git_tree_lookup(out, s->repo, &oid);
    git_treebuilder_free(bld);
    if (gerr < 0)
        return from_git(gerr, "cannot write empty tree", "repo",
                        git_repository_path(s->repo));
    return 0;
}

/* The crash test's only hook: OERNODE_FAULT=name kills the process
 * (node/fault.h: in the test build only). */
static void fault_point(const char *name)
{
    if (fault_is(name))
        raise(SIGKILL);
}

/* ---- repository ------------------------------------------------------ */

char *store_sibling_path(const char *repo_path, const char *name)
{
    const char *slash = strrchr(repo_path, '/');
    size_t dir = slash != NULL ? (size_t)(slash - repo_path) : 1;
    size_t n = strlen(name);
    char *path = malloc(dir + n + 2);

    if (path == NULL)
        return NULL;
    memcpy(path, slash != NULL ? repo_path : ".", dir);
    path[dir] = '/';
    memcpy(path + dir + 1, name, n + 1);
    return path;
}

int store_init(const char *path)
{
    git_repository *repo = NULL;
    int err, gerr;

    err = lib_init();
    if (err < 0)
        return err;

    gerr = git_repository_open_ext(&repo, path,
                                   GIT_REPOSITORY_OPEN_NO_SEARCH |
                                   GIT_REPOSITORY_OPEN_BARE, NULL);
    if (gerr == 0) {
        log_warn("store", "repository exists", "path", path, "err",
                 "exists", NULL);
        err = OER_EEXISTS;
        goto out;
    }

    gerr = git_repository_init(&repo, path, 1);
    if (gerr < 0) {
        err = from_git(gerr, "cannot create repository", "path", path);
        goto out;
    }
    log_info("store", "repository created", "path", path, NULL);

out:
    git_repository_free(repo);
    git_libgit2_shutdown();
    return err;
}

int store_open(struct store **out, const char *path)
{
    struct store *s = NULL;
    int err, gerr;

    *out = NULL;
    err = lib_init();
    if (err < 0)
        return err;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        git_libgit2_shutdown();
        return OER_ENOMEM;
    }

    gerr = git_repository_open_ext(&s->repo, path,
                                   GIT_REPOSITORY_OPEN_NO_SEARCH |
                                   GIT_REPOSITORY_OPEN_BARE, NULL);
    if (gerr == GIT_ENOTFOUND) {
        log_warn("store", "no repository", "path", path, "err", "notfound",
                 NULL);
        err = OER_ENOTFOUND;
    } else if (gerr < 0) {
        err = from_git(gerr, "cannot open repository", "path", path);
    }
    if (err < 0) {
        store_free(s);
        return err;
    }
    *out = s;
    return 0;
}

void store_free(struct store *s)
{
    if (s == NULL)
        return;
    git_repository_free(s->repo);
    free(s);
    git_libgit2_shutdown();
}

int store_head(char out[STORE_OID_HEX], struct store *s, const char *origin)
{
    char ref[REF_MAX];
    git_oid oid;
    int err;

    out[0] = '\0';
    err = ref_name(ref, CATALOG_PREFIX, origin);
    if (err == 0)
        err = read_head(&oid, s, ref);
    if (err == 0)
        git_oid_tostr(out, STORE_OID_HEX, &oid);
    return err;
}

/* ---- moving refs ----------------------------------------------------- */

/*
 * libgit2 writes <ref>.lock while it updates a ref; a process killed in
 * that moment leaves it behind and every later update fails.  A lock
 * older than LOCK_STALE seconds is taken as a dead writer's and removed;
 * a fresher one is reported (with its path) as a conflict.  Returns 1
 * when a stale lock was removed.
 */
static int clear_stale_lock(struct store *s, const char *ref,
                            char *lock, size_t cap)
{
    char age[24];
    struct stat st;
    time_t now = time(NULL);

    snprintf(lock, cap, "%s%s.lock", git_repository_path(s->repo), ref);
    if (stat(lock, &st) != 0 || now - st.st_mtime < LOCK_STALE)
        return 0;
    if (unlink(lock) != 0 && errno != ENOENT) {
        log_warn("store", "cannot remove stale lock", "lock", lock,
                 "errno", strerror(errno), NULL);
        return 0;
    }
    log_warn("store", "removed stale lock", "lock", lock, "age",
             log_num(age, (long long)(now - st.st_mtime)), NULL);
    return 1;
}

/*
 * Point ref at to if it still names from (or does not exist, when from
 * is NULL); OER_ECONFLICT when it moved or another writer holds it.
 * Both cases compare under the ref's lock: a from of zeros matches only
 * a missing ref.  (git_reference_create without force looks for the ref
 * before it takes the lock, so two writers creating it at once could
 * both succeed, the second overwriting the first.)
 */
static int move_ref(struct store *s, const char *ref, const git_oid *to,
                    const git_oid *from)
{
    char lock[4096];
    git_reference *r = NULL;
    git_oid none;
    int gerr, tries;

    memset(&none, 0, sizeof(none));
    for (tries = 0; tries < 2; tries++) {
        gerr = git_reference_create_matching(
            &r, s->repo, ref, to, 1, from != NULL ? from : &none,
            from != NULL ? "oernode: update" : "oernode: create");
        git_reference_free(r);
        r = NULL;
        if (gerr != GIT_ELOCKED ||
            !clear_stale_lock(s, ref, lock, sizeof(lock)))
            break;
    }

    if (gerr == GIT_EMODIFIED || gerr == GIT_EEXISTS) {
        log_warn("store", "ref moved", "ref", ref, "err", "conflict", NULL);
        return OER_ECONFLICT;
    }
    if (gerr == GIT_ELOCKED) {
        snprintf(lock, sizeof(lock), "%s%s.lock",
                 git_repository_path(s->repo), ref);
        log_warn("store", "ref locked by another writer", "ref", ref,
                 "lock", lock, "err", "conflict", NULL);
        return OER_ECONFLICT;
    }
    if (gerr < 0)
        return from_git(gerr, "cannot move ref", "ref", ref);
    return 0;
}

/* ---- batches --------------------------------------------------------- */

/* The batch's own handle on the repository, writing into memory. */
static int open_writer(struct store_batch *b)
{
    const char *path = git_repository_path(b->s->repo);
    git_odb *odb = NULL;
    int gerr;

    gerr = git_repository_open_ext(&b->w.repo, path,
                                   GIT_REPOSITORY_OPEN_NO_SEARCH |
                                   GIT_REPOSITORY_OPEN_BARE, NULL);
    if (gerr == 0)
        gerr = git_repository_odb(&odb, b->w.repo);
    if (gerr == 0)
        gerr = git_mempack_new(&b->mempack);
    if (gerr == 0) {
        /* Above the loose and packed backends: every write lands here. */
        gerr = git_odb_add_backend(odb, b->mempack, 1000);
        if (gerr < 0)
            b->mempack->free(b->mempack);
    }
    git_odb_free(odb);
    if (gerr < 0)
        return from_git(gerr, "cannot open repository for a batch", "path",
                        path);
    return 0;
}

/* The ids of the objects this commit added: the commit, its root tree,
 * and the shard tree and blob of each staged document. */
static int changed_ids(git_oid **out, size_t *count, struct store_batch *b,
                       const git_oid *commit, git_tree *tree)
{
    size_t n = 2 + 2 * json_object_size(b->staged);
    git_oid *ids = calloc(n, sizeof(*ids));
    const git_tree_entry *shard;
    const char *path;
    json_t *hex;
    char name[8];
    size_t i = 2;

    if (ids == NULL)
        return OER_ENOMEM;
    git_oid_cpy(&ids[0], commit);
    git_oid_cpy(&ids[1], git_tree_id(tree));
    json_object_foreach(b->staged, path, hex) {
        /* the shard is the path's folder: two characters, or one for a
         * local id of one character */
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(path, "/"), path);
        shard = git_tree_entry_byname(tree, name);
        if (shard == NULL ||
            git_oid_fromstr(&ids[i + 1], json_string_value(hex)) < 0) {
            log_warn("store", "staged document missing from tree", "path",
                     path, "err", "io", NULL);
            free(ids);
            return OER_EIO;
        }
        git_oid_cpy(&ids[i], git_tree_entry_id(shard));
        i += 2;
    }
    *out = ids;
    *count = i;
    return 0;
}

/*
 * Write the objects this commit added (nothing more, so a pack is the
 * size of the change) as one pack, synced, and empty the memory they
 * were written to.  node/packfile writes the pack: libgit2's packbuilder
 * spent most of an import's time searching for deltas and indexing.
 */
static int write_pack(struct store_batch *b, const git_oid *commit,
                      git_tree *tree)
{
    char dir[4096];
    git_oid *ids = NULL;
    git_odb *odb = NULL;
    size_t count = 0;
    int err, gerr;

    snprintf(dir, sizeof(dir), "%sobjects/pack",
             git_repository_path(b->w.repo));
    err = changed_ids(&ids, &count, b, commit, tree);
    if (err < 0)
        return err;
    gerr = git_repository_odb(&odb, b->w.repo);
    if (gerr < 0)
        err = from_git(gerr, "cannot open object database", "ref", b->ref);
    if (err == 0)
        err = packfile_write(NULL, dir, odb, ids, count);
    git_odb_free(odb);
    free(ids);
    if (err < 0)
        return err;
    return git_mempack_reset(b->mempack) < 0 ? OER_EIO : 0;
}

int store_batch_new(struct store_batch **out, struct store *s,
                    const char *origin)
{
    struct store_batch *b = NULL;
    int err;

    *out = NULL;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return OER_ENOMEM;
    b->s = s;
    b->staged = json_object();
    if (b->staged == NULL) {
        err = OER_ENOMEM;
        goto out;
    }
    err = ref_name(b->ref, CATALOG_PREFIX, origin);
    if (err < 0)
        goto out;
    snprintf(b->origin, sizeof(b->origin), "%s", origin);
    err = open_writer(b);
    if (err < 0)
        goto out;

    err = read_head(&b->head, s, b->ref);
    if (err == 0) {
        b->has_head = 1;
        err = commit_tree(&b->base, &b->w, &b->head);
    } else if (err == OER_ENOTFOUND) {
        err = 0;
    }

out:
    if (err < 0)
        store_batch_free(b);
    else
        *out = b;
    return err;
}

void store_batch_free(struct store_batch *b)
{
    if (b == NULL)
        return;
    git_tree_free(b->base);
    json_decref(b->staged);
    git_repository_free(b->w.repo);
    free(b);
}

size_t store_batch_count(const struct store_batch *b)
{
    return json_object_size(b->staged);
}

/* The local id of doc, whose id must be "<origin>/<local-id>". */
static int doc_local_id(char *out, size_t cap, const json_t *doc,
                        const char *origin)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    size_t olen = strlen(origin);

    if (id == NULL || strncmp(id, origin, olen) != 0 || id[olen] != '/' ||
        !local_ok(id + olen + 1)) {
        log_warn("store", "document id refused", "id", id, "origin", origin,
                 "err", "inval", NULL);
        return OER_EINVAL;
    }
    snprintf(out, cap, "%s", id + olen + 1);
    return 0;
}

/* Canonical bytes of doc without its "updated" field. */
static int canonical_sans_updated(char **out, size_t *len, const json_t *doc)
{
    json_t *shallow = json_copy((json_t *)doc);
    int err;

    if (shallow == NULL)
        return OER_ENOMEM;
    json_object_del(shallow, "updated");
    err = metadata_canonical(out, len, shallow);
    json_decref(shallow);
    if (err < 0)
        log_warn("store", "document has no canonical form", "err",
                 error_name(err), NULL);
    return err;
}

/* Parse the document stored in blob. */
static int read_doc(json_t **out, struct store *s, const git_oid *blob)
{
    char hex[STORE_OID_HEX];
    struct metadata_error merr;
    git_blob *b = NULL;
    int gerr;

    *out = NULL;
    git_oid_tostr(hex, sizeof(hex), blob);
    gerr = git_blob_lookup(&b, s->repo, blob);
    if (gerr < 0)
        return from_git(gerr, "cannot read document", "blob", hex);
    if (metadata_parse(out, git_blob_rawcontent(b),
                       (size_t)git_blob_rawsize(b), &merr) < 0) {
        log_warn("store", "stored document does not parse", "blob", hex,
                 "detail", merr.detail, "err", "corrupt", NULL);
        git_blob_free(b);
        return OER_ECORRUPT;
    }
    git_blob_free(b);
    return 0;
}

/* The blob of the document at path as the batch sees it: staged, or in
 * the head's tree.  OER_ENOTFOUND when there is none. */
static int current_blob(git_oid *out, struct store_batch *b,
                        const char *path)
{
    const char *hex = json_string_value(json_object_get(b->staged, path));
    git_tree_entry *entry = NULL;
    int gerr;

    if (hex != NULL)
        return git_oid_fromstr(out, hex) < 0 ? OER_EIO : 0;
    if (b->base == NULL)
        return OER_ENOTFOUND;
    gerr = git_tree_entry_bypath(&entry, b->base, path);
    if (gerr == GIT_ENOTFOUND)
        return OER_ENOTFOUND;
    if (gerr < 0)
        return from_git(gerr, "cannot read tree", "path", path);
    git_oid_cpy(out, git_tree_entry_id(entry));
    git_tree_entry_free(entry);
    return 0;
}

/* *same is 1 when doc equals the current document but for "updated". */
static int same_as_current(int *same, struct store_batch *b,
                           const char *path, const json_t *doc)
{
    char *now = NULL, *was = NULL;
    size_t now_len = 0, was_len = 0;
    json_t *old = NULL;
    git_oid blob;
    int err;

    *same = 0;
    err = current_blob(&blob, b, path);
    if (err == OER_ENOTFOUND)
        return 0;
    if (err == 0)
        err = read_doc(&old, &b->w, &blob);
    if (err == 0)
        err = canonical_sans_updated(&was, &was_len, old);
    if (err == 0)
        err = canonical_sans_updated(&now, &now_len, doc);
    if (err == 0)
        *same = now_len == was_len && memcmp(now, was, now_len) == 0;
    json_decref(old);
    free(now);
    free(was);
    return err;
}

static int validate_copy(json_t **out, const json_t *doc, const char *id)
{
    struct metadata_error merr;

    *out = json_deep_copy(doc);
    if (*out == NULL)
        return OER_ENOMEM;
    if (metadata_validate(*out, 0, &merr) < 0) {
        log_warn("store", "invalid document", "id", id, "field", merr.field,
                 "problem", metadata_problem_name(merr.problem), "detail",
                 merr.detail, "err", "inval", NULL);
        json_decref(*out);
        *out = NULL;
        return OER_EINVAL;
    }
    return 0;
}

/* Write doc's canonical bytes as a blob and stage it at path. */
static int stage(struct store_batch *b, const char *path, const json_t *doc)
{
    char hex[STORE_OID_HEX];
    char *bytes = NULL;
    size_t len = 0;
    git_oid oid;
    int err, gerr;

    err = metadata_canonical(&bytes, &len, doc);
    if (err < 0) {
        log_warn("store", "document has no canonical form", "path", path,
                 "err", error_name(err), NULL);
        return err;
    }
    /* Straight into the batch's memory: the object database's write
     * would first look for the blob in every pack, and rescan the pack
     * folder when it is not there, for each new record. */
    gerr = git_odb_hash(&oid, bytes, len, GIT_OBJECT_BLOB);
    if (gerr == 0)
        gerr = b->mempack->write(b->mempack, &oid, bytes, len,
                                 GIT_OBJECT_BLOB);
    free(bytes);
    if (gerr < 0)
        return from_git(gerr, "cannot write document", "path", path);
    git_oid_tostr(hex, sizeof(hex), &oid);
    if (json_object_set_new(b->staged, path, json_string(hex)) < 0)
        return OER_ENOMEM;
    return 0;
}

/* Stage doc, valid and normalised, unless it equals the current one. */
static int put_valid(struct store_batch *b, const char *local,
                     const json_t *doc, int *changed)
{
    char path[PATH_MAX_DOC];
    int same = 0, err;

    doc_path(path, local);
    err = same_as_current(&same, b, path, doc);
    if (err == 0 && !same)
        err = stage(b, path, doc);
    if (err == 0 && !same && changed != NULL)
        *changed = 1;
    return err;
}

int store_batch_put(struct store_batch *b, const json_t *doc, int *changed)
{
    char local[72];
    json_t *copy = NULL;
    int err;

    if (changed != NULL)
        *changed = 0;
    err = doc_local_id(local, sizeof(local), doc, b->origin);
    if (err < 0)
        return err;
    err = validate_copy(&copy, doc, json_string_value(
                                        json_object_get(doc, "id")));
    if (err == 0)
        err = put_valid(b, local, copy, changed);
    json_decref(copy);
    return err;
}

int store_batch_put_validated(struct store_batch *b, const json_t *doc,
                              int *changed)
{
    char local[72];
    int err;

    if (changed != NULL)
        *changed = 0;
    err = doc_local_id(local, sizeof(local), doc, b->origin);
    if (err == 0)
        err = put_valid(b, local, doc, changed);
    return err;
}

static int cmp_update(const void *a, const void *b)
{
    const git_tree_update *x = a, *y = b;

    return strcmp(x->path, y->path);
}

/* The head's tree with every staged document in it. */
static int build_tree(git_tree **out, struct store_batch *b)
{
    size_t n = json_object_size(b->staged), i = 0;
    git_tree_update *ups = calloc(n, sizeof(*ups));
    git_tree *base = NULL;
    const char *path;
    json_t *hex;
    git_oid oid;
    int err = 0, gerr;

    if (ups == NULL)
        return OER_ENOMEM;
    json_object_foreach(b->staged, path, hex) {
        ups[i].action = GIT_TREE_UPDATE_UPSERT;
        git_oid_fromstr(&ups[i].id, json_string_value(hex));
        ups[i].filemode = GIT_FILEMODE_BLOB;
        ups[i].path = path;
        i++;
    }
    qsort(ups, n, sizeof(*ups), cmp_update);

    if (b->base == NULL)
        err = empty_tree(&base, &b->w);
    if (err < 0)
        goto out;
    gerr = git_tree_create_updated(&oid, b->w.repo,
                                   b->base != NULL ? b->base : base, n, ups);
    if (gerr == 0)
        gerr = git_tree_lookup(out, b->w.repo, &oid);
    if (gerr < 0)
        err = from_git(gerr, "cannot write tree", "ref", b->ref);

out:
    git_tree_free(base);
    free(ups);
    return err;
}

static int make_signature(git_signature **out, const char *origin)
{
    char email[96];
    int gerr;

    snprintf(email, sizeof(email), "%s@oernode", origin);
    gerr = git_signature_now(out, origin, email);
    if (gerr < 0)
        return from_git(gerr, "cannot make commit signature", "origin",
                        origin);
    return 0;
}

/* The message as git writes it: ending with one newline. */
static char *commit_message(const char *message)
{
    size_t len;
    char *msg;

    if (message == NULL || *message == '\0')
        message = "catalogue update";
    len = strlen(message);
    while (len > 0 && message[len - 1] == '\n')
        len--;
    msg = malloc(len + 2);
    if (msg == NULL)
        return NULL;
    memcpy(msg, message, len);
    msg[len] = '\n';
    msg[len + 1] = '\0';
    return msg;
}

/* Sign buf with id and write the signed commit. */
static int write_signed(git_oid *out, struct store_batch *b,
                        const git_buf *buf, const struct identity *id)
{
    char *armor = NULL;
    size_t len;
    int err, gerr;

    err = identity_sign(&armor, id, buf->ptr, buf->size);
    if (err < 0) {
        log_warn("store", "cannot sign commit", "ref", b->ref, "err",
                 error_name(err), NULL);
        return err;
    }
    /* libgit2 adds the header's final newline itself, as git does. */
    len = strlen(armor);
    while (len > 0 && armor[len - 1] == '\n')
        armor[--len] = '\0';
    gerr = git_commit_create_with_signature(out, b->w.repo, buf->ptr, armor,
                                            "gpgsig");
    free(armor);
    if (gerr < 0)
        return from_git(gerr, "cannot write commit", "ref", b->ref);
    return 0;
}

static int write_commit(git_oid *out, struct store_batch *b, git_tree *tree,
                        const struct identity *id, const char *message)
{
    git_signature *sig = NULL;
    git_commit *parent = NULL;
    git_buf buf = {0};
    char *msg = commit_message(message);
    int err = 0, gerr = 0;

    if (msg == NULL)
        return OER_ENOMEM;
    err = make_signature(&sig, b->origin);
    if (err < 0)
        goto out;
    if (b->has_head)
        gerr = git_commit_lookup(&parent, b->w.repo, &b->head);
    if (gerr == 0)
        gerr = git_commit_create_buffer(&buf, b->w.repo, sig, sig, NULL, msg,
                                        tree, parent != NULL ? 1 : 0,
                                        (const git_commit **)&parent);
    if (gerr < 0) {
        err = from_git(gerr, "cannot build commit", "ref", b->ref);
        goto out;
    }
    err = write_signed(out, b, &buf, id);

out:
    git_buf_dispose(&buf);
    git_commit_free(parent);
    git_signature_free(sig);
    free(msg);
    return err;
}

int store_batch_commit(char out[STORE_OID_HEX], struct store_batch *b,
                       const struct identity *id, const char *message)
{
    char hex[STORE_OID_HEX], num[24];
    git_tree *tree = NULL;
    git_oid oid;
    int err;

    if (out != NULL)
        out[0] = '\0';
    if (json_object_size(b->staged) == 0)
        return 0;

    err = build_tree(&tree, b);
    if (err == 0)
        err = write_commit(&oid, b, tree, id, message);
    if (err == 0)
        err = write_pack(b, &oid, tree);
    if (err < 0)
        goto out;

    fault_point("store-before-ref");
    err = move_ref(b->s, b->ref, &oid, b->has_head ? &b->head : NULL);
    if (err < 0)
        goto out;

    git_oid_tostr(hex, sizeof(hex), &oid);
    log_info("store", "catalogue committed", "origin", b->origin, "commit",
             hex, "documents",
             log_num(num, (long long)json_object_size(b->staged)), NULL);
    if (out != NULL)
        memcpy(out, hex, STORE_OID_HEX);

    /* The batch goes on from the commit it made. */
    git_oid_cpy(&b->head, &oid);
    b->has_head = 1;
    git_tree_free(b->base);
    b->base = tree;
    tree = NULL;
    json_object_clear(b->staged);

out:
    git_tree_free(tree);
    return err;
}

/* ---- reading --------------------------------------------------------- */

/* The tree at the head of origin's catalogue. */
static int catalog_tree(git_tree **out, struct store *s, const char *origin)
{
    char ref[REF_MAX];
    git_oid head;
    int err;

    *out = NULL;
    err = ref_name(ref, CATALOG_PREFIX, origin);
    if (err == 0)
        err = read_head(&head, s, ref);
    if (err == 0)
        err = commit_tree(out, s, &head);
    return err;
}

int store_get(json_t **out, struct store *s, const char *origin,
              const char *local_id)
{
    char path[PATH_MAX_DOC];
    git_tree_entry *entry = NULL;
    git_tree *tree = NULL;
    int err, gerr;

    *out = NULL;
    if (!local_ok(local_id)) {
        log_warn("store", "malformed local id", "id", local_id, "err",
                 "inval", NULL);
        return OER_EINVAL;
    }
    err = catalog_tree(&tree, s, origin);
    if (err < 0)
        return err;

    doc_path(path, local_id);
    gerr = git_tree_entry_bypath(&entry, tree, path);
    if (gerr == GIT_ENOTFOUND)
        err = OER_ENOTFOUND;
    else if (gerr < 0)
        err = from_git(gerr, "cannot read tree", "path", path);
    else
        err = read_doc(out, s, git_tree_entry_id(entry));
    git_tree_entry_free(entry);
    git_tree_free(tree);
    return err;
}

/* Call cb for every document of one shard. */
static int foreach_in_shard(struct store *s, const git_tree_entry *shard,
                            store_doc_cb cb, void *arg)
{
    git_tree *tree = NULL;
    json_t *doc = NULL;
    size_t i;
    int err = 0, gerr;

    gerr = git_tree_lookup(&tree, s->repo, git_tree_entry_id(shard));
    if (gerr < 0)
        return from_git(gerr, "cannot read shard", "shard",
                        git_tree_entry_name(shard));
    for (i = 0; i < git_tree_entrycount(tree) && err == 0; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(tree, i);

        if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
            continue;
        err = read_doc(&doc, s, git_tree_entry_id(e));
        if (err == 0)
            err = cb(doc, arg);
        json_decref(doc);
        doc = NULL;
    }
    git_tree_free(tree);
    return err;
}

int store_foreach(struct store *s, const char *origin, store_doc_cb cb,
                  void *arg)
{
    git_tree *tree = NULL;
    size_t i;
    int err;

    err = catalog_tree(&tree, s, origin);
    for (i = 0; err == 0 && i < git_tree_entrycount(tree); i++) {
        const git_tree_entry *e = git_tree_entry_byindex(tree, i);

        if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
            err = foreach_in_shard(s, e, cb, arg);
    }
    git_tree_free(tree);
    return err;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every ref under prefix, sorted by name; *out is the caller's. */
static int list_refs(git_strarray *out, struct store *s)
{
    int gerr = git_reference_list(out, s->repo);

    if (gerr < 0)
        return from_git(gerr, "cannot list refs", "repo",
                        git_repository_path(s->repo));
    qsort(out->strings, out->count, sizeof(char *), cmp_str);
    return 0;
}

int store_origins(struct store *s, store_origin_cb cb, void *arg)
{
    const size_t plen = strlen(CATALOG_PREFIX);
    char hex[STORE_OID_HEX];
    git_strarray refs = {0};
    git_oid oid;
    size_t i;
    int err;

    err = list_refs(&refs, s);
    for (i = 0; err == 0 && i < refs.count; i++) {
        if (strncmp(refs.strings[i], CATALOG_PREFIX, plen) != 0)
            continue;
        err = read_head(&oid, s, refs.strings[i]);
        if (err == 0)
            err = cb(refs.strings[i] + plen,
                     git_oid_tostr(hex, sizeof(hex), &oid), arg);
    }
    git_strarray_dispose(&refs);
    return err;
}

/* ---- the heads, kept between calls ---- */

/* What the files of the catalogue refs were like at one moment. */
struct refs_stamp {
    struct timespec dir_time, packed_time;
    ino_t dir_ino, packed_ino;
    off_t packed_size;
    int recent; /* a change within STORE_HEADS_RACY seconds */
};

static struct {
    pthread_mutex_t lock;
    char *path;
    struct refs_stamp stamp;
    json_t *heads; /* NULL: nothing kept */
} kept = { PTHREAD_MUTEX_INITIALIZER, NULL, { { 0, 0 }, { 0, 0 }, 0, 0,
                                              0, 0 }, NULL };

/* Stat repo/name into time and inode (zero when it does not exist);
 * -1 on another error. */
static int stamp_file(struct timespec *time_out, ino_t *ino, off_t *size,
                      const char *repo, const char *name, time_t now,
                      int *recent)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf(path, sizeof(path), "%s/%s", repo, name) >=
        (int)sizeof(path))
        return -1;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    *time_out = st.st_mtim;
    *ino = st.st_ino;
    if (size != NULL)
        *size = st.st_size;
    if (now - st.st_mtim.tv_sec < STORE_HEADS_RACY)
        *recent = 1;
    return 0;
}

static int refs_stamp(struct refs_stamp *out, const char *repo)
{
    time_t now = time(NULL);

    memset(out, 0, sizeof(*out));
    if (stamp_file(&out->dir_time, &out->dir_ino, NULL, repo,
                   CATALOG_PREFIX, now, &out->recent) != 0)
        return -1;
    return stamp_file(&out->packed_time, &out->packed_ino,
                      &out->packed_size, repo, "packed-refs", now,
                      &out->recent);
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static int same_stamp(const struct refs_stamp *a, const struct refs_stamp *b)
{
    return same_time(&a->dir_time, &b->dir_time) &&
           same_time(&a->packed_time, &b->packed_time) &&
           a->dir_ino == b->dir_ino && a->packed_ino == b->packed_ino &&
           a->packed_size == b->packed_size;
}

static int on_head(const char *origin, const char *head, void *arg)
{
    return json_object_set_new(arg, origin, json_string(head)) != 0
               ? OER_ENOMEM
               : 0;
}

/* Keep heads, read when the refs were as stamp says. */
static void keep_heads(const char *path, const struct refs_stamp *stamp,
                       const json_t *heads)
{
    char *p = strdup(path);
    json_t *copy = json_deep_copy(heads);

    pthread_mutex_lock(&kept.lock);
    free(kept.path);
    json_decref(kept.heads);
    kept.path = p;
    kept.heads = p != NULL ? copy : NULL;
    kept.stamp = *stamp;
    pthread_mutex_unlock(&kept.lock);
    if (p == NULL)
        json_decref(copy);
}

int store_heads(json_t **out, const char *path)
{
    struct refs_stamp now;
    struct store *s = NULL;
    int stamped = refs_stamp(&now, path) == 0, err;
    json_t *heads = NULL;

    *out = NULL;
    pthread_mutex_lock(&kept.lock);
    if (stamped && !now.recent && kept.heads != NULL &&
        strcmp(kept.path, path) == 0 && same_stamp(&kept.stamp, &now))
        heads = json_deep_copy(kept.heads);
    pthread_mutex_unlock(&kept.lock);
    if (heads != NULL) {
        *out = heads;
        return 0;
    }
    heads = json_object();
    err = heads != NULL ? store_open(&s, path) : OER_ENOMEM;
    if (err == 0)
        err = store_origins(s, on_head, heads);
    store_free(s);
    if (err != 0) {
        json_decref(heads);
        return err;
    }
    /* the stamp was taken before the refs were read: a ref moved since
     * changes it, and the next call reads them again */
    if (stamped && !now.recent)
        keep_heads(path, &now, heads);
    *out = heads;
    return 0;
}

/* Documents that differ between commit and its first parent. */
static int count_changes(size_t *out, struct store *s, git_commit *commit)
{
    git_commit *parent = NULL;
    git_tree *tree = NULL, *old = NULL;
    git_diff *diff = NULL;
    int gerr;

    gerr = git_commit_tree(&tree, commit);
    if (gerr == 0 && git_commit_parentcount(commit) > 0) {
        gerr = git_commit_parent(&parent, commit, 0);
        if (gerr == 0)
            gerr = git_commit_tree(&old, parent);
    }
    if (gerr == 0)
        gerr = git_diff_tree_to_tree(&diff, s->repo, old, tree, NULL);
    if (gerr == 0)
        *out = git_diff_num_deltas(diff);
    git_diff_free(diff);
    git_tree_free(old);
    git_tree_free(tree);
    git_commit_free(parent);
    if (gerr < 0)
        return from_git(gerr, "cannot compare commits", "commit",
                        git_oid_tostr_s(git_commit_id(commit)));
    return 0;
}

static int log_one(struct store *s, const git_oid *oid, store_log_cb cb,
                   void *arg)
{
    char hex[STORE_OID_HEX];
    struct store_commit_info info = {0};
    git_commit *commit = NULL;
    char *msg = NULL;
    size_t len;
    int err, gerr;

    gerr = git_commit_lookup(&commit, s->repo, oid);
    if (gerr < 0)
        return from_git(gerr, "cannot read commit", "commit",
                        git_oid_tostr(hex, sizeof(hex), oid));
    err = count_changes(&info.changes, s, commit);
    if (err == 0)
        msg = strdup(git_commit_message(commit));
    if (err == 0 && msg == NULL)
        err = OER_ENOMEM;
    if (err == 0) {
        len = strlen(msg);
        while (len > 0 && msg[len - 1] == '\n')
            msg[--len] = '\0';
        info.id = git_oid_tostr(hex, sizeof(hex), oid);
        info.time = (long long)git_commit_time(commit);
        info.message = msg;
        err = cb(&info, arg);
    }
    free(msg);
    git_commit_free(commit);
    return err;
}

int store_log(struct store *s, const char *origin, store_log_cb cb,
              void *arg)
{
    char ref[REF_MAX];
    git_revwalk *walk = NULL;
    git_oid head, oid;
    int err, gerr;

    err = ref_name(ref, CATALOG_PREFIX, origin);
    if (err == 0)
        err = read_head(&head, s, ref);
    if (err < 0)
        return err;

    gerr = git_revwalk_new(&walk, s->repo);
    if (gerr == 0)
        gerr = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL);
    if (gerr == 0)
        gerr = git_revwalk_push(walk, &head);
    while (gerr == 0 && err == 0) {
        gerr = git_revwalk_next(&oid, walk);
        if (gerr == 0)
            err = log_one(s, &oid, cb, arg);
    }
    if (gerr < 0 && gerr != GIT_ITEROVER)
        err = from_git(gerr, "cannot walk catalogue", "ref", ref);
    git_revwalk_free(walk);
    return err;
}

/* ---- history ---------------------------------------------------------- */

/* Look up the commit named by hex; OER_EINVAL, OER_ENOTFOUND (unlogged:
 * callers ask about ids that came from outside). */
static int lookup_commit(git_commit **out, struct store *s, const char *hex)
{
    git_oid oid;
    int gerr;

    *out = NULL;
    if (parse_oid(&oid, hex) < 0)
        return OER_EINVAL;
    gerr = git_commit_lookup(out, s->repo, &oid);
    if (gerr == GIT_ENOTFOUND)
        return OER_ENOTFOUND;
    if (gerr < 0)
        return from_git(gerr, "cannot read commit", "commit", hex);
    return 0;
}

/* The diff of commit against its first parent (the empty tree for the
 * first commit). */
static int commit_diff(git_diff **out, struct store *s, git_commit *commit)
{
    git_commit *parent = NULL;
    git_tree *tree = NULL, *old = NULL;
    int gerr;

    *out = NULL;
    gerr = git_commit_tree(&tree, commit);
    if (gerr == 0 && git_commit_parentcount(commit) > 0) {
        gerr = git_commit_parent(&parent, commit, 0);
        if (gerr == 0)
            gerr = git_commit_tree(&old, parent);
    }
    if (gerr == 0)
        gerr = git_diff_tree_to_tree(out, s->repo, old, tree, NULL);
    git_tree_free(old);
    git_tree_free(tree);
    git_commit_free(parent);
    if (gerr < 0)
        return from_git(gerr, "cannot compare commits", "commit",
                        git_oid_tostr_s(git_commit_id(commit)));
    return 0;
}

/* Report one commit and the paths it changed to cb. */
static int report_change(struct store *s, git_commit *commit,
                         store_change_cb cb, void *arg)
{
    char id[STORE_OID_HEX], parent[STORE_OID_HEX] = "";
    struct store_change c = {0};
    git_diff *diff = NULL;
    const char **paths = NULL;
    size_t i, n;
    int err;

    err = commit_diff(&diff, s, commit);
    if (err < 0)
        return err;
    n = git_diff_num_deltas(diff);
    paths = calloc(n > 0 ? n : 1, sizeof(*paths));
    if (paths == NULL) {
        git_diff_free(diff);
        return OER_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);

        paths[i] = d->status == GIT_DELTA_DELETED ? d->old_file.path
                                                  : d->new_file.path;
    }
    git_oid_tostr(id, sizeof(id), git_commit_id(commit));
    if (git_commit_parentcount(commit) > 0)
        git_oid_tostr(parent, sizeof(parent), git_commit_parent_id(commit, 0));
    c.id = id;
    c.parent = parent;
    c.time = (long long)git_commit_time(commit);
    c.paths = paths;
    c.count = n;
    err = cb(&c, arg);
    free(paths);
    git_diff_free(diff);
    return err;
}

/* A revwalk over upto, oldest first, hiding after when given. */
static int walk_new(git_revwalk **out, struct store *s, const git_oid *upto,
                    const git_oid *after)
{
    int gerr;

    gerr = git_revwalk_new(out, s->repo);
    if (gerr == 0)
        gerr = git_revwalk_sorting(*out, GIT_SORT_TOPOLOGICAL |
                                             GIT_SORT_REVERSE);
    if (gerr == 0)
        gerr = git_revwalk_push(*out, upto);
    if (gerr == 0 && after != NULL)
        gerr = git_revwalk_hide(*out, after);
    if (gerr < 0)
        return from_git(gerr, "cannot walk commits", "commit",
                        git_oid_tostr_s(upto));
    return 0;
}

int store_changes(struct store *s, const char *upto, const char *after,
                  long long min_time, long long max_time, store_change_cb cb,
                  void *arg)
{
    git_commit *top = NULL, *base = NULL, *commit = NULL;
    git_revwalk *walk = NULL;
    git_oid oid;
    int err, gerr = 0;

    err = lookup_commit(&top, s, upto);
    if (err == 0 && after != NULL)
        err = lookup_commit(&base, s, after);
    if (err == 0)
        err = walk_new(&walk, s, git_commit_id(top),
                       base != NULL ? git_commit_id(base) : NULL);
    while (err == 0) {
        gerr = git_revwalk_next(&oid, walk);
        if (gerr == 0)
            gerr = git_commit_lookup(&commit, s->repo, &oid);
        if (gerr < 0)
            break;
        if (git_commit_time(commit) >= min_time &&
            git_commit_time(commit) <= max_time)
            err = report_change(s, commit, cb, arg);
        git_commit_free(commit);
        commit = NULL;
    }
    if (err == 0 && gerr < 0 && gerr != GIT_ITEROVER)
        err = from_git(gerr, "cannot walk commits", "commit", upto);
    git_revwalk_free(walk);
    git_commit_free(base);
    git_commit_free(top);
    return err;
}

/* The blob id at path in commit's tree; OER_ENOTFOUND (unlogged). */
static int blob_in(git_oid *out, git_commit *commit, const char *path)
{
    git_tree_entry *entry = NULL;
    git_tree *tree = NULL;
    int gerr;

    gerr = git_commit_tree(&tree, commit);
    if (gerr == 0)
        gerr = git_tree_entry_bypath(&entry, tree, path);
    if (gerr == 0 && git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
        gerr = GIT_ENOTFOUND;
    if (gerr == 0)
        git_oid_cpy(out, git_tree_entry_id(entry));
    git_tree_entry_free(entry);
    git_tree_free(tree);
    if (gerr == GIT_ENOTFOUND)
        return OER_ENOTFOUND;
    if (gerr < 0)
        return from_git(gerr, "cannot read tree", "path", path);
    return 0;
}

int store_get_at(json_t **out, char blob[STORE_OID_HEX], struct store *s,
                 const char *commit_hex, const char *path)
{
    git_commit *commit = NULL;
    git_oid oid;
    int err;

    if (out != NULL)
        *out = NULL;
    err = lookup_commit(&commit, s, commit_hex);
    if (err == 0)
        err = blob_in(&oid, commit, path);
    if (err == 0 && blob != NULL)
        git_oid_tostr(blob, STORE_OID_HEX, &oid);
    if (err == 0 && out != NULL)
        err = read_doc(out, s, &oid);
    git_commit_free(commit);
    return err;
}

/* Whether path differs between commit and its first parent. */
static int changed_in(int *changed, git_commit *commit, const char *path)
{
    git_commit *parent = NULL;
    git_oid now, before;
    int err, had = 1, gerr;

    err = blob_in(&now, commit, path);
    if (err < 0)
        return err;
    if (git_commit_parentcount(commit) == 0) {
        *changed = 1;
        return 0;
    }
    gerr = git_commit_parent(&parent, commit, 0);
    if (gerr < 0)
        return from_git(gerr, "cannot read commit", "commit",
                        git_oid_tostr_s(git_commit_id(commit)));
    err = blob_in(&before, parent, path);
    if (err == OER_ENOTFOUND) {
        had = 0;
        err = 0;
    }
    if (err == 0)
        *changed = !had || !git_oid_equal(&now, &before);
    git_commit_free(parent);
    return err;
}

int store_last_change(struct store_change_point *out, struct store *s,
                      const char *upto, const char *path)
{
    git_commit *commit = NULL, *next = NULL;
    int err, changed = 0;

    memset(out, 0, sizeof(*out));
    err = lookup_commit(&commit, s, upto);
    while (err == 0) {
        err = changed_in(&changed, commit, path);
        if (err < 0 || changed)
            break;
        if (git_commit_parent(&next, commit, 0) < 0) {
            err = from_git(-1, "cannot read commit", "commit", upto);
            break;
        }
        git_commit_free(commit);
        commit = next;
        next = NULL;
    }
    if (err == 0) {
        git_oid_tostr(out->id, sizeof(out->id), git_commit_id(commit));
        if (git_commit_parentcount(commit) > 0)
            git_oid_tostr(out->parent, sizeof(out->parent),
                          git_commit_parent_id(commit, 0));
        out->time = (long long)git_commit_time(commit);
    }
    git_commit_free(commit);
    return err;
}

int store_descends(struct store *s, const char *commit_hex,
                   const char *ancestor_hex)
{
    git_commit *commit = NULL, *ancestor = NULL;
    int err, gerr;

    err = lookup_commit(&commit, s, commit_hex);
    if (err == 0)
        err = lookup_commit(&ancestor, s, ancestor_hex);
    if (err == 0 &&
        git_oid_equal(git_commit_id(commit), git_commit_id(ancestor)))
        err = 1;
    else if (err == 0) {
        gerr = git_graph_descendant_of(s->repo, git_commit_id(commit),
                                       git_commit_id(ancestor));
        err = gerr < 0 ? from_git(gerr, "cannot compare commits", "commit",
                                  commit_hex)
                       : gerr;
    }
    git_commit_free(ancestor);
    git_commit_free(commit);
    return err;
}

/* ---- files ----------------------------------------------------------- */

static void hex_digest(char *out, const unsigned char *md, unsigned int len)
{
    static const char digits[] = "0123456789abcdef";
    unsigned int i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * len] = '\0';
}

/* Copy f into stream ws, hashing it with md; counts bytes in *size. */
static int pump(git_writestream *ws, EVP_MD_CTX *md, FILE *f,
                long long *size, const char *path)
{
    char *buf = malloc(CHUNK);
    size_t n;
    int err = 0;

    if (buf == NULL)
        return OER_ENOMEM;
    while (err == 0) {
        n = fread(buf, 1, CHUNK, f);
        if (n == 0)
            break;
        if (ws->write(ws, buf, n) < 0)
            err = from_git(-1, "cannot write blob", "path", path);
        else if (EVP_DigestUpdate(md, buf, n) != 1)
            err = OER_ECRYPTO;
        *size += (long long)n;
    }
    if (err == 0 && ferror(f)) {
        log_warn("store", "cannot read file", "path", path, "errno",
                 strerror(errno), "err", "io", NULL);
        err = OER_EIO;
    }
    free(buf);
    return err;
}

/* Stream the file at path into a blob while hashing it. */
static int write_file_blob(struct store_file *out, git_oid *oid,
                           struct store *s, const char *path)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    git_writestream *ws = NULL;
    EVP_MD_CTX *md = NULL;
    FILE *f = fopen(path, "rb");
    int err = 0, gerr;

    if (f == NULL) {
        err = errno == ENOENT ? OER_ENOTFOUND : OER_EIO;
        log_warn("store", "cannot open file", "path", path, "errno",
                 strerror(errno), "err", error_name(err), NULL);
        return err;
    }
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        err = OER_ENOMEM;
        goto out;
    }
    gerr = git_blob_create_from_stream(&ws, s->repo, NULL);
    if (gerr < 0) {
        err = from_git(gerr, "cannot start blob", "path", path);
        goto out;
    }
    err = pump(ws, md, f, &out->size, path);
    if (err < 0)
        goto out;

    /* The commit closes and frees the stream. */
    gerr = git_blob_create_from_stream_commit(oid, ws);
    ws = NULL;
    if (gerr < 0)
        err = from_git(gerr, "cannot write blob", "path", path);
    else if (EVP_DigestFinal_ex(md, digest, &dlen) != 1)
        err = OER_ECRYPTO;
    else
        hex_digest(out->sha256, digest, dlen);

out:
    if (ws != NULL)
        ws->free(ws);
    EVP_MD_CTX_free(md);
    fclose(f);
    return err;
}

/* Add blob to the tree of refs/content/<origin> with one commit; 0 with
 * nothing written when it is there already. */
static int add_to_content(struct store *s, const char *ref,
                          const char *origin, const git_oid *blob)
{
    char path[48], hex[STORE_OID_HEX];
    git_tree_update up = {0};
    git_signature *sig = NULL;
    git_tree *base = NULL, *tree = NULL;
    git_commit *parent = NULL;
    git_oid head, tree_id, oid;
    int err, gerr = 0, has_head;

    git_oid_tostr(hex, sizeof(hex), blob);
    snprintf(path, sizeof(path), "%.2s/%s", hex, hex);
    err = read_head(&head, s, ref);
    has_head = err == 0;
    if (err == 0)
        err = commit_tree(&base, s, &head);
    else if (err == OER_ENOTFOUND)
        err = empty_tree(&base, s);
    if (err < 0)
        return err;

    up.action = GIT_TREE_UPDATE_UPSERT;
    git_oid_cpy(&up.id, blob);
    up.filemode = GIT_FILEMODE_BLOB;
    up.path = path;
    gerr = git_tree_create_updated(&tree_id, s->repo, base, 1, &up);
    if (gerr == 0 && git_oid_equal(&tree_id, git_tree_id(base)))
        goto out;
    err = make_signature(&sig, origin);
    if (err < 0)
        goto out;

    if (gerr == 0)
        gerr = git_tree_lookup(&tree, s->repo, &tree_id);
    if (gerr == 0 && has_head)
        gerr = git_commit_lookup(&parent, s->repo, &head);
    if (gerr == 0)
        gerr = git_commit_create(&oid, s->repo, NULL, sig, sig, NULL,
                                 "add file\n", tree, has_head ? 1 : 0,
                                 (const git_commit **)&parent);
    if (gerr < 0)
        err = from_git(gerr, "cannot record file", "ref", ref);
    if (err == 0)
        err = move_ref(s, ref, &oid, has_head ? &head : NULL);

out:
    git_signature_free(sig);
    git_commit_free(parent);
    git_tree_free(tree);
    git_tree_free(base);
    return err;
}

int store_add_file(struct store_file *out, struct store *s,
                   const char *origin, const char *path)
{
    char ref[REF_MAX], size[24];
    git_oid oid;
    int err, tries;

    memset(out, 0, sizeof(*out));
    err = ref_name(ref, CONTENT_PREFIX, origin);
    if (err == 0)
        err = write_file_blob(out, &oid, s, path);
    if (err < 0)
        return err;
    git_oid_tostr(out->blob, sizeof(out->blob), &oid);

    /* Another writer may add a file meanwhile: start again from its head. */
    err = OER_ECONFLICT;
    for (tries = 0; tries < CAS_TRIES && err == OER_ECONFLICT; tries++)
        err = add_to_content(s, ref, origin, &oid);
    if (err == 0)
        log_info("store", "file stored", "origin", origin, "blob", out->blob,
                 "size", log_num(size, out->size), NULL);
    return err;
}

int store_add_file_bytes(struct store_file *out, struct store *s,
                         const char *origin, const void *data, size_t len)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char ref[REF_MAX], size[24];
    git_oid oid;
    int err, gerr, tries;

    memset(out, 0, sizeof(*out));
    err = ref_name(ref, CONTENT_PREFIX, origin);
    if (err < 0)
        return err;
    if (EVP_Digest(data, len, digest, &dlen, EVP_sha256(), NULL) != 1)
        return OER_ECRYPTO;
    hex_digest(out->sha256, digest, dlen);
    out->size = (long long)len;
    gerr = git_blob_create_from_buffer(&oid, s->repo, data, len);
    if (gerr < 0)
        return from_git(gerr, "cannot write blob", "origin", origin);
    git_oid_tostr(out->blob, sizeof(out->blob), &oid);

    err = OER_ECONFLICT;
    for (tries = 0; tries < CAS_TRIES && err == OER_ECONFLICT; tries++)
        err = add_to_content(s, ref, origin, &oid);
    if (err == 0)
        log_info("store", "file stored", "origin", origin, "blob", out->blob,
                 "size", log_num(size, out->size), NULL);
    return err;
}

int store_catalog_move(struct store *s, const char *origin, const char *to,
                       const char *from)
{
    char ref[REF_MAX];
    git_oid to_oid, from_oid;
    int err;

    err = ref_name(ref, CATALOG_PREFIX, origin);
    if (err == 0)
        err = parse_oid(&to_oid, to);
    if (err == 0 && from != NULL)
        err = parse_oid(&from_oid, from);
    if (err == 0)
        err = move_ref(s, ref, &to_oid, from != NULL ? &from_oid : NULL);
    if (err == 0)
        log_info("store", "catalogue moved", "origin", origin, "from",
                 from != NULL ? from : "", "to", to, NULL);
    return err;
}

struct git_repository *store_repository(struct store *s)
{
    return s->repo;
}

int store_has_blob(struct store *s, const char *blob_hex)
{
    git_object_t type;
    git_odb *odb = NULL;
    git_oid oid;
    size_t len;
    int err, gerr;

    err = parse_oid(&oid, blob_hex);
    if (err < 0)
        return err;
    gerr = git_repository_odb(&odb, s->repo);
    if (gerr == 0)
        gerr = git_odb_read_header(&len, &type, odb, &oid);
    git_odb_free(odb);
    if (gerr == GIT_ENOTFOUND)
        return 0;
    if (gerr < 0)
        return from_git(gerr, "cannot read object", "blob", blob_hex);
    return type == GIT_OBJECT_BLOB;
}

/* ---- signatures ------------------------------------------------------ */

/*
 * Check the signature of commit oid against pub, without logging; *why
 * says what is wrong.  OER_ENOTFOUND when there is no such commit.
 */
static int check_signature(struct store *s, const git_oid *oid,
                           const struct identity_pub *pub, const char **why)
{
    git_buf sig = {0}, data = {0};
    git_commit *commit = NULL;
    char *armor = NULL;
    int err = 0, gerr;

    *why = NULL;
    gerr = git_commit_lookup(&commit, s->repo, oid);
    git_commit_free(commit);
    if (gerr < 0) {
        *why = "commit missing or unreadable";
        return gerr == GIT_ENOTFOUND ? OER_ENOTFOUND : OER_EIO;
    }
    gerr = git_commit_extract_signature(&sig, &data, s->repo, (git_oid *)oid,
                                        "gpgsig");
    if (gerr < 0) {
        *why = gerr == GIT_ENOTFOUND ? "commit is not signed"
                                     : "unreadable commit signature";
        err = OER_ECRYPTO;
        goto out;
    }

    /* The armored form ends with a newline; git's header drops it. */
    armor = malloc(sig.size + 2);
    if (armor == NULL) {
        err = OER_ENOMEM;
        goto out;
    }
    memcpy(armor, sig.ptr, sig.size);
    armor[sig.size] = '\0';
    if (sig.size == 0 || armor[sig.size - 1] != '\n')
        strcat(armor, "\n");
    if (identity_verify(pub, armor, data.ptr, data.size, NULL) != 0) {
        *why = "signature does not verify with the origin's key";
        err = OER_ECRYPTO;
    }

out:
    free(armor);
    git_buf_dispose(&sig);
    git_buf_dispose(&data);
    return err;
}

int store_verify_commit(struct store *s, const char *commit_hex,
                        const struct identity_pub *pub)
{
    const char *why = NULL;
    git_oid oid;
    int err;

    err = parse_oid(&oid, commit_hex);
    if (err < 0)
        return err;
    err = check_signature(s, &oid, pub, &why);
    if (err < 0)
        log_warn("store", "commit refused", "commit", commit_hex, "why", why,
                 "err", error_name(err), NULL);
    return err;
}

/* ---- fsck ------------------------------------------------------------ */

struct fsck {
    struct store *s;
    git_odb *odb;
    store_problem_cb report;
    void *report_arg;
    size_t problems;
    json_t *seen;       /* shard trees and file blobs checked already */
    const char *ref;    /* where we are */
    const char *origin;
    char commit[STORE_OID_HEX];
};

static void problem(struct fsck *f, const char *path, const char *what)
{
    char where[512];

    snprintf(where, sizeof(where), "%s%s%s%s%s", f->ref,
             f->commit[0] != '\0' ? " " : "", f->commit,
             path != NULL ? ":" : "", path != NULL ? path : "");
    f->problems++;
    log_warn("store", "fsck problem", "where", where, "what", what, NULL);
    if (f->report != NULL)
        f->report(where, what, f->report_arg);
}

/* Whether key was seen already; marks it seen. */
static int seen(struct fsck *f, const char *key)
{
    if (json_object_get(f->seen, key) != NULL)
        return 1;
    json_object_set_new(f->seen, key, json_true());
    return 0;
}

/* SHA-256 and size of a blob, streamed when the backend can. */
static int hash_blob(char sha[65], long long *size, git_odb *odb,
                     const git_oid *oid)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    git_odb_stream *rs = NULL;
    git_odb_object *obj = NULL;
    git_object_t type;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *buf = malloc(CHUNK);
    size_t len = 0;
    int err = OER_ENOMEM, n = 0;

    if (md == NULL || buf == NULL ||
        EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    err = OER_EIO;
    *size = 0;
    if (git_odb_open_rstream(&rs, &len, &type, odb, oid) == 0) {
        for (n = rs->read(rs, buf, CHUNK); n > 0;
             n = rs->read(rs, buf, CHUNK)) {
            EVP_DigestUpdate(md, buf, (size_t)n);
            *size += n;
        }
        if (n < 0)
            goto out;
    } else if (git_odb_read(&obj, odb, oid) == 0) {
        EVP_DigestUpdate(md, git_odb_object_data(obj),
                         git_odb_object_size(obj));
        *size = (long long)git_odb_object_size(obj);
    } else {
        goto out;
    }
    if (EVP_DigestFinal_ex(md, digest, &dlen) == 1) {
        hex_digest(sha, digest, dlen);
        err = 0;
    }

out:
    git_odb_stream_free(rs);
    git_odb_object_free(obj);
    EVP_MD_CTX_free(md);
    free(buf);
    return err;
}

/* One file entry of a document: absent, or present with its content. */
static void fsck_file(struct fsck *f, const char *path, const json_t *file)
{
    const char *blob = json_string_value(json_object_get(file, "blob"));
    const char *want = json_string_value(json_object_get(file, "sha256"));
    json_int_t want_size = json_integer_value(json_object_get(file, "size"));
    char key[160], sha[65];
    long long size = 0;
    git_oid oid;

    if (blob == NULL || want == NULL || git_oid_fromstr(&oid, blob) < 0)
        return; /* metadata_validate has said so already */
    if (!git_odb_exists(f->odb, &oid))
        return; /* content not held here */
    snprintf(key, sizeof(key), "file:%s:%s:%lld", blob, want,
             (long long)want_size);
    if (seen(f, key))
        return;

    if (hash_blob(sha, &size, f->odb, &oid) < 0) {
        problem(f, path, "file blob unreadable");
        return;
    }
    if (size != (long long)want_size)
        problem(f, path, "file blob size differs from the document");
    if (strcmp(sha, want) != 0)
        problem(f, path, "file blob sha256 differs from the document");
}

/* The document's content: valid, canonical, named by its path. */
static void fsck_content_of(struct fsck *f, const char *path,
                            const char *local, const json_t *doc)
{
    char id[160], what[400];
    struct metadata_error merr;
    json_t *copy = json_deep_copy(doc);
    const json_t *file;
    size_t i;

    if (copy != NULL && metadata_validate(copy, 0, &merr) < 0) {
        snprintf(what, sizeof(what), "invalid document: %s: %s: %s",
                 metadata_problem_name(merr.problem), merr.field,
                 merr.detail);
        problem(f, path, what);
    }
    json_decref(copy);

    snprintf(id, sizeof(id), "%s/%s", f->origin, local);
    if (!json_is_string(json_object_get(doc, "id")) ||
        strcmp(json_string_value(json_object_get(doc, "id")), id) != 0)
        problem(f, path, "document id does not match its path and origin");

    json_array_foreach(json_object_get(doc, "files"), i, file)
        fsck_file(f, path, file);
}

static void fsck_doc(struct fsck *f, const char *path, const char *local,
                     const git_oid *oid)
{
    struct metadata_error merr;
    git_blob *blob = NULL;
    json_t *doc = NULL;
    char *bytes = NULL;
    size_t len = 0;

    if (git_blob_lookup(&blob, f->s->repo, oid) < 0) {
        problem(f, path, "document blob missing or unreadable");
        return;
    }
    if (metadata_parse(&doc, git_blob_rawcontent(blob),
                       (size_t)git_blob_rawsize(blob), &merr) < 0) {
        problem(f, path, "document is not a JSON object");
        goto out;
    }
    if (metadata_canonical(&bytes, &len, doc) < 0 ||
        len != (size_t)git_blob_rawsize(blob) ||
        memcmp(bytes, git_blob_rawcontent(blob), len) != 0)
        problem(f, path, "document is not in canonical form");
    fsck_content_of(f, path, local, doc);

out:
    free(bytes);
    json_decref(doc);
    git_blob_free(blob);
}

/* One entry of a shard: a blob at <shard>/<local-id>.json. */
static void fsck_entry(struct fsck *f, const char *shard,
                       const git_tree_entry *e)
{
    const char *name = git_tree_entry_name(e);
    size_t len = strlen(name), slen = strlen(shard);
    char path[160], local[96];

    snprintf(path, sizeof(path), "%s/%s", shard, name);
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
        git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB) {
        problem(f, path, "not a document blob");
        return;
    }
    local[0] = '\0';
    if (len > 5 && len - 5 < sizeof(local) &&
        strcmp(name + len - 5, ".json") == 0)
        snprintf(local, sizeof(local), "%.*s", (int)(len - 5), name);
    if (!local_ok(local) || strncmp(local, shard, slen) != 0 ||
        slen != (strlen(local) < 2 ? strlen(local) : 2)) {
        problem(f, path, "malformed document path");
        return;
    }
    fsck_doc(f, path, local, git_tree_entry_id(e));
}

static void fsck_shard(struct fsck *f, const git_tree_entry *e)
{
    const char *name = git_tree_entry_name(e);
    char key[160];
    git_tree *tree = NULL;
    size_t i;

    if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
        problem(f, name, "unexpected entry at the top of the catalogue");
        return;
    }
    /* A shard tree is checked once, in the newest commit that holds it. */
    snprintf(key, sizeof(key), "tree:%s/%s", name,
             git_oid_tostr_s(git_tree_entry_id(e)));
    if (seen(f, key))
        return;
    if (git_tree_lookup(&tree, f->s->repo, git_tree_entry_id(e)) < 0) {
        problem(f, name, "shard tree missing or unreadable");
        return;
    }
    for (i = 0; i < git_tree_entrycount(tree); i++)
        fsck_entry(f, name, git_tree_entry_byindex(tree, i));
    git_tree_free(tree);
}

static void fsck_commit(struct fsck *f, const git_oid *oid,
                        const struct identity_pub *pub)
{
    const char *why = NULL;
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    size_t i;

    git_oid_tostr(f->commit, sizeof(f->commit), oid);
    if (pub != NULL && check_signature(f->s, oid, pub, &why) < 0)
        problem(f, NULL, why != NULL ? why : "signature check failed");
    if (git_commit_lookup(&commit, f->s->repo, oid) < 0 ||
        git_commit_tree(&tree, commit) < 0) {
        problem(f, NULL, "commit or its tree missing or unreadable");
        goto out;
    }
    for (i = 0; i < git_tree_entrycount(tree); i++)
        fsck_shard(f, git_tree_entry_byindex(tree, i));

out:
    git_tree_free(tree);
    git_commit_free(commit);
}

/* Every commit of one catalogue, newest first. */
static int fsck_catalog(struct fsck *f, const char *ref, store_key_cb keys,
                        void *key_arg)
{
    struct identity_pub pub;
    git_revwalk *walk = NULL;
    git_oid oid;
    int has_key, gerr;

    f->ref = ref;
    f->origin = ref + strlen(CATALOG_PREFIX);
    f->commit[0] = '\0';
    if (!origin_ok(f->origin)) {
        problem(f, NULL, "malformed origin in ref name");
        return 0;
    }
    has_key = keys(&pub, f->origin, key_arg) == 0;
    if (!has_key)
        problem(f, NULL, "no key known for this origin");

    gerr = git_revwalk_new(&walk, f->s->repo);
    if (gerr < 0)
        return from_git(gerr, "cannot walk catalogue", "ref", ref);
    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL);
    gerr = git_revwalk_push_ref(walk, ref);
    while (gerr == 0) {
        gerr = git_revwalk_next(&oid, walk);
        if (gerr == 0)
            fsck_commit(f, &oid, has_key ? &pub : NULL);
    }
    if (gerr != GIT_ITEROVER)
        problem(f, NULL, "history broken: a commit is missing");
    git_revwalk_free(walk);
    return 0;
}

/* The files kept reachable from refs/content/<origin> are present. */
static void fsck_files(struct fsck *f, const char *ref)
{
    char path[160];
    git_tree *tree = NULL, *shard = NULL;
    git_oid head, id;
    size_t i, j;

    f->ref = ref;
    f->commit[0] = '\0';
    if (git_reference_name_to_id(&head, f->s->repo, ref) < 0 ||
        commit_tree(&tree, f->s, &head) < 0) {
        problem(f, NULL, "content ref unreadable");
        return;
    }
    git_oid_tostr(f->commit, sizeof(f->commit), &head);
    for (i = 0; i < git_tree_entrycount(tree); i++) {
        const git_tree_entry *s = git_tree_entry_byindex(tree, i);

        if (git_tree_lookup(&shard, f->s->repo, git_tree_entry_id(s)) < 0) {
            problem(f, git_tree_entry_name(s), "content shard unreadable");
            continue;
        }
        for (j = 0; j < git_tree_entrycount(shard); j++) {
            const git_tree_entry *e = git_tree_entry_byindex(shard, j);

            snprintf(path, sizeof(path), "%s/%s", git_tree_entry_name(s),
                     git_tree_entry_name(e));
            git_oid_cpy(&id, git_tree_entry_id(e));
            if (strcmp(git_tree_entry_name(e), git_oid_tostr_s(&id)) != 0)
                problem(f, path, "content entry not named by its blob id");
            if (!git_odb_exists(f->odb, &id))
                problem(f, path, "file blob missing");
        }
        git_tree_free(shard);
        shard = NULL;
    }
    git_tree_free(tree);
}

int store_fsck(size_t *problems, struct store *s, store_key_cb keys,
               void *key_arg, store_problem_cb report, void *report_arg)
{
    struct fsck f = {.s = s, .report = report, .report_arg = report_arg};
    char num[24];
    git_strarray refs = {0};
    size_t i;
    int err, gerr;

    *problems = 0;
    if (keys == NULL)
        return OER_EINVAL;
    f.seen = json_object();
    if (f.seen == NULL)
        return OER_ENOMEM;
    gerr = git_repository_odb(&f.odb, s->repo);
    if (gerr < 0) {
        err = from_git(gerr, "cannot open object database", "repo",
                       git_repository_path(s->repo));
        goto out;
    }
    err = list_refs(&refs, s);
    for (i = 0; err == 0 && i < refs.count; i++) {
        const char *ref = refs.strings[i];

        if (strncmp(ref, CATALOG_PREFIX, strlen(CATALOG_PREFIX)) == 0)
            err = fsck_catalog(&f, ref, keys, key_arg);
        else if (strncmp(ref, CONTENT_PREFIX, strlen(CONTENT_PREFIX)) == 0)
            fsck_files(&f, ref);
    }
    *problems = f.problems;
    log_info("store", "fsck done", "problems",
             log_num(num, (long long)f.problems), NULL);

out:
    git_strarray_dispose(&refs);
    git_odb_free(f.odb);
    json_decref(f.seen);
    return err;
}
