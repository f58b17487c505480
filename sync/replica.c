/*
 * replica: catalogue replication without the network.  Packs of whole
 * objects are built by node/packfile from a revision walk (no delta
 * search: libgit2's packbuilder spent most of a sync on it) and received
 * with git_indexer; a received catalogue is verified before its ref moves.
 * The libgit2 calls the store does not wrap are translated here.
 */
#include "sync/replica.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <openssl/evp.h>

#include "node/error.h"
#include "node/fault.h"
#include "node/licence.h"
#include "node/log.h"
#include "node/metadata.h"
#include "node/packfile.h"

#define FROZEN_PREFIX "refs/frozen/"
/* Objects go whole and stored (zlib level 0): a third more bytes than
 * level 1 for catalogue documents, but deflating them again on the
 * sender and inflating them on the receiver took a third of a sync's
 * time on loopback (bench/README.md, "sync"). */
#define REPLICA_ZLIB_LEVEL 0
#define REF_CAP 96
#define FILE_TRIES 40 /* attempts to add a received file to its ref */

/* ---- reasons ---------------------------------------------------------- */

/* Write the reason of a refusal and log it once; returns code. */
static int refuse(char *reason, int code, const char *origin, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

static int refuse(char *reason, int code, const char *origin, const char *fmt,
                  ...)
{
    char text[REPLICA_REASON];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (reason != NULL)
        memcpy(reason, text, sizeof(text));
    log_warn("sync", "refused", "origin", origin, "why", text, "err",
             error_name(code), NULL);
    return code;
}

/* A libgit2 failure: logged with libgit2's text, as OER_EIO. */
static int git_failed(char *reason, const char *origin, const char *what)
{
    const git_error *e = git_error_last();

    log_warn("sync", what, "origin", origin, "git", e != NULL ? e->message : "",
             "err", "io", NULL);
    if (reason != NULL)
        snprintf(reason, REPLICA_REASON, "%s", what);
    return OER_EIO;
}

static int oid_parse(git_oid *out, const char *hex)
{
    if (hex == NULL || strlen(hex) != GIT_OID_HEXSZ ||
        git_oid_fromstr(out, hex) < 0)
        return OER_EINVAL;
    return 0;
}

/* ---- sender: planning a pack ----------------------------------------- */

struct plan {
    git_repository *repo;
    git_odb *odb;
    git_oid *ids; /* objects of the commit being planned */
    size_t n, cap;
    size_t bytes;  /* their sizes before compression */
    git_oid *pack; /* objects of the commits taken */
    size_t npack, cap_pack;
};

static int plan_add(struct plan *p, const git_oid *id)
{
    git_object_t type;
    size_t len = 0;
    git_oid *grown;

    if (p->n == p->cap) {
        p->cap = p->cap != 0 ? 2 * p->cap : 64;
        grown = realloc(p->ids, p->cap * sizeof(*grown));
        if (grown == NULL)
            return OER_ENOMEM;
        p->ids = grown;
    }
    if (git_odb_read_header(&len, &type, p->odb, id) < 0)
        return OER_EIO;
    git_oid_cpy(&p->ids[p->n++], id);
    p->bytes += len;
    return 0;
}

/* The objects of tree that old (NULL: none) does not hold at the same
 * place: unchanged subtrees and blobs are the receiver's already. */
static int plan_tree(struct plan *p, git_tree *tree, git_tree *old)
{
    size_t i;
    int err;

    if (old != NULL && git_oid_equal(git_tree_id(tree), git_tree_id(old)))
        return 0;
    err = plan_add(p, git_tree_id(tree));
    for (i = 0; err == 0 && i < git_tree_entrycount(tree); i++) {
        const git_tree_entry *e = git_tree_entry_byindex(tree, i);
        const git_tree_entry *was =
            old != NULL ? git_tree_entry_byname(old, git_tree_entry_name(e))
                        : NULL;
        git_tree *sub = NULL, *old_sub = NULL;

        if (was != NULL &&
            git_oid_equal(git_tree_entry_id(was), git_tree_entry_id(e)))
            continue;
        if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
            err = plan_add(p, git_tree_entry_id(e));
            continue;
        }
        if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
            continue;
        if (git_tree_lookup(&sub, p->repo, git_tree_entry_id(e)) < 0)
            err = OER_EIO;
        if (err == 0 && was != NULL &&
            git_tree_entry_type(was) == GIT_OBJECT_TREE &&
            git_tree_lookup(&old_sub, p->repo, git_tree_entry_id(was)) < 0)
            err = OER_EIO;
        if (err == 0)
            err = plan_tree(p, sub, old_sub);
        git_tree_free(old_sub);
        git_tree_free(sub);
    }
    return err;
}

/* Plan one commit: itself and what its tree adds to its parent's. */
static int plan_commit(struct plan *p, const git_oid *id)
{
    git_commit *commit = NULL, *parent = NULL;
    git_tree *tree = NULL, *old = NULL;
    int err = OER_EIO;

    p->n = 0;
    p->bytes = 0;
    if (git_commit_lookup(&commit, p->repo, id) < 0 ||
        git_commit_tree(&tree, commit) < 0)
        goto out;
    if (git_commit_parentcount(commit) > 0 &&
        (git_commit_parent(&parent, commit, 0) < 0 ||
         git_commit_tree(&old, parent) < 0))
        goto out;
    err = plan_add(p, id);
    if (err == 0)
        err = plan_tree(p, tree, old);

out:
    git_tree_free(old);
    git_tree_free(tree);
    git_commit_free(parent);
    git_commit_free(commit);
    return err;
}

/* ---- sender: emitting the pack in chunks ----------------------------- */

/* Take the planned commit's objects into the pack. */
static int take(struct plan *p)
{
    git_oid *grown;
    size_t cap = p->cap_pack != 0 ? p->cap_pack : 1024;

    while (cap < p->npack + p->n)
        cap *= 2;
    if (cap != p->cap_pack) {
        grown = realloc(p->pack, cap * sizeof(*grown));
        if (grown == NULL)
            return OER_ENOMEM;
        p->pack = grown;
        p->cap_pack = cap;
    }
    memcpy(p->pack + p->npack, p->ids, p->n * sizeof(*p->ids));
    p->npack += p->n;
    return 0;
}

/* Hand the pack to cb in pieces of at most chunk bytes. */
static int emit(struct replica_pack_info *out, const unsigned char *pack,
                size_t len, size_t chunk, replica_chunk_cb cb, void *arg)
{
    size_t at = 0, n;
    int err = 0;

    while (err == 0 && at < len) {
        n = len - at < chunk ? len - at : chunk;
        err = cb(pack + at, n, at + n == len, arg);
        out->chunks++;
        at += n;
    }
    out->bytes = len;
    return err;
}

/* ---- sender ----------------------------------------------------------- */

/* Check want is in origin's catalogue and have an ancestor of it. */
static int check_fetch(struct replica_pack_info *out, struct store *s,
                       const char *origin, const char *want, const char *have)
{
    char head[STORE_OID_HEX];
    git_oid oid;
    int d;

    if (oid_parse(&oid, want) < 0 ||
        (have != NULL && oid_parse(&oid, have) < 0))
        return refuse(out->reason, OER_EINVAL, origin, "malformed commit id");
    if (store_head(head, s, origin) < 0 || store_descends(s, head, want) != 1)
        return refuse(out->reason, OER_ENOTFOUND, origin,
                      "want %.12s is not in this catalogue here", want);
    if (have == NULL)
        return 0;
    d = store_descends(s, want, have);
    if (d == OER_ENOTFOUND)
        return refuse(out->reason, OER_EINVAL, origin,
                      "have %.12s is not known here", have);
    if (d != 1)
        return refuse(out->reason, d < 0 ? d : OER_EINVAL, origin,
                      "have %.12s is not an ancestor of want %.12s", have,
                      want);
    return 0;
}

/* Take commits oldest first, while they fit the bounds. */
static int fill(struct replica_pack_info *out, struct plan *p,
                git_revwalk *walk, const struct replica_bounds *b)
{
    size_t objects = 0, bytes = 0;
    git_oid id;
    int err = 0, gerr;

    while ((gerr = git_revwalk_next(&id, walk)) == 0) {
        err = plan_commit(p, &id);
        if (err < 0)
            return err;
        if (out->commits > 0 &&
            (objects + p->n > b->objects || bytes + p->bytes > b->bytes))
            break;
        err = take(p);
        if (err < 0)
            return err;
        objects += p->n;
        bytes += p->bytes;
        out->commits++;
        git_oid_tostr(out->reaches, sizeof(out->reaches), &id);
    }
    if (gerr < 0 && gerr != GIT_ITEROVER)
        return OER_EIO;
    return 0;
}

static void bounds_or_defaults(struct replica_bounds *b,
                               const struct replica_bounds *given)
{
    b->objects = given != NULL && given->objects != 0 ? given->objects
                                                      : REPLICA_PACK_OBJECTS;
    b->bytes =
        given != NULL && given->bytes != 0 ? given->bytes : REPLICA_PACK_BYTES;
    b->chunk = given != NULL && given->chunk != 0 && given->chunk < LIMIT_CHUNK
                   ? given->chunk
                   : LIMIT_CHUNK;
}

/* Build the pack of the walk and hand it to cb. */
static int build(struct replica_pack_info *out, struct store *s,
                 const char *origin, git_revwalk *walk,
                 const struct replica_bounds *b, replica_chunk_cb cb, void *arg)
{
    struct plan p = {.repo = store_repository(s)};
    unsigned char *pack = NULL;
    size_t len = 0;
    int err;

    if (git_repository_odb(&p.odb, p.repo) < 0)
        return git_failed(out->reason, origin, "cannot start a pack");
    err = fill(out, &p, walk, b);
    if (err < 0) {
        err = err == OER_ENOMEM ? err
                                : git_failed(out->reason, origin,
                                             "cannot read the catalogue");
        goto out;
    }
    if (p.npack == 0)
        goto out;
    err = packfile_build((void **)&pack, &len, p.odb, p.pack, p.npack,
                         REPLICA_ZLIB_LEVEL);
    if (err < 0) {
        snprintf(out->reason, sizeof(out->reason), "cannot write the pack");
        goto out;
    }
    /* the object count of the header: duplicates went once */
    out->objects = (size_t)pack[8] << 24 | (size_t)pack[9] << 16 |
                   (size_t)pack[10] << 8 | pack[11];
    err = emit(out, pack, len, b->chunk, cb, arg);

out:
    free(pack);
    free(p.pack);
    free(p.ids);
    git_odb_free(p.odb);
    return err;
}

int replica_pack(struct replica_pack_info *out, struct store *s,
                 const char *origin, const char *want, const char *have,
                 const struct replica_bounds *bounds, replica_chunk_cb cb,
                 void *arg)
{
    char num[24];
    struct replica_bounds b;
    git_revwalk *walk = NULL;
    git_oid w, h;
    int err;

    memset(out, 0, sizeof(*out));
    err = check_fetch(out, s, origin, want, have);
    if (err < 0 || (have != NULL && strcmp(want, have) == 0))
        return err;
    bounds_or_defaults(&b, bounds);

    git_oid_fromstr(&w, want);
    if (git_revwalk_new(&walk, store_repository(s)) < 0 ||
        git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) <
            0 ||
        git_revwalk_push(walk, &w) < 0 ||
        (have != NULL &&
         (git_oid_fromstr(&h, have) < 0 || git_revwalk_hide(walk, &h) < 0))) {
        err = git_failed(out->reason, origin, "cannot walk the catalogue");
        goto out;
    }
    err = build(out, s, origin, walk, &b, cb, arg);
    if (err == 0) {
        out->complete = strcmp(out->reaches, want) == 0;
        log_info("sync", "pack sent", "origin", origin, "reaches", out->reaches,
                 "commits", log_num(num, (long long)out->commits), "complete",
                 out->complete ? "yes" : "no", NULL);
    }

out:
    git_revwalk_free(walk);
    return err;
}

/* ---- receiver: indexing ---------------------------------------------- */

struct replica_rx {
    struct store *s;
    char origin[72];
    git_odb *odb;
    git_indexer *idx;
    git_indexer_progress stats;
    size_t received;
    int spent;
    int moved;
    int own; /* this node's own catalogue: never frozen (replica_rx_own) */
    json_t *named; /* path -> the pack's newest document there that names
                    * files */
};

void replica_rx_own(struct replica_rx *rx)
{
    rx->own = 1;
}

int replica_rx_new(struct replica_rx **out, struct store *s, const char *origin)
{
    git_indexer_options opts;
    git_repository *repo = store_repository(s);
    struct replica_rx *rx = NULL;
    char path[4096];

    *out = NULL;
    if (!metadata_valid_origin(origin))
        return refuse(NULL, OER_EINVAL, origin, "malformed origin");
    rx = calloc(1, sizeof(*rx));
    if (rx == NULL)
        return OER_ENOMEM;
    rx->s = s;
    snprintf(rx->origin, sizeof(rx->origin), "%s", origin);

    /* No connectivity check by the indexer (libgit2 1.5 leaks what it
     * parses for objects present already): replica_rx_finish reads every
     * tree and document the new commits change, so a missing one fails
     * there. */
    git_indexer_options_init(&opts, GIT_INDEXER_OPTIONS_VERSION);
    snprintf(path, sizeof(path), "%sobjects/pack", git_repository_path(repo));
    if (git_repository_odb(&rx->odb, repo) < 0 ||
        git_indexer_new(&rx->idx, path, 0, rx->odb, &opts) < 0) {
        replica_rx_free(rx);
        return git_failed(NULL, origin, "cannot start indexing a pack");
    }
    *out = rx;
    return 0;
}

/* The resume test's hook: OERNODE_FAULT=replica-rx-half kills the
 * process once half of a piece is in the temporary pack, as a receiver
 * killed in the middle of a pack (node/fault.h: in the test build
 * only). */
static void fault_half(struct replica_rx *rx, const void *data, size_t len)
{
    if (!fault_is("replica-rx-half") || len < 2)
        return;
    git_indexer_append(rx->idx, data, len / 2, &rx->stats);
    raise(SIGKILL);
}

int replica_rx_write(struct replica_rx *rx, const void *data, size_t len)
{
    const git_error *e;

    if (rx->spent)
        return OER_EPROTO;
    fault_half(rx, data, len);
    rx->received += len;
    if (rx->received > REPLICA_RECEIVE_MAX) {
        rx->spent = 1;
        return refuse(NULL, OER_EPROTO, rx->origin, "pack too large");
    }
    if (git_indexer_append(rx->idx, data, len, &rx->stats) < 0) {
        rx->spent = 1;
        e = git_error_last();
        return refuse(NULL, OER_EPROTO, rx->origin, "not a packfile: %s",
                      e != NULL ? e->message : "");
    }
    return 0;
}

void replica_rx_free(struct replica_rx *rx)
{
    if (rx == NULL)
        return;
    git_indexer_free(rx->idx);
    git_odb_free(rx->odb);
    json_decref(rx->named);
    free(rx);
}

/* ---- receiver: the newest commit of the pack ------------------------- */

struct tips {
    git_odb *pack;
    json_t *commits; /* hex -> true: the pack's commits */
};

static int on_pack_object(const git_oid *id, void *payload)
{
    struct tips *t = payload;
    git_object_t type;
    size_t len;

    if (git_odb_read_header(&len, &type, t->pack, id) < 0)
        return -1;
    if (type == GIT_OBJECT_COMMIT)
        json_object_set_new(t->commits, git_oid_tostr_s(id), json_true());
    return 0;
}

/* The one commit of the pack that no other commit of it has as a parent;
 * the pack's index is read through an object database of its own. */
static int find_tip(struct replica_result *out, struct replica_rx *rx)
{
    git_repository *repo = store_repository(rx->s);
    struct tips t = {0};
    git_odb_backend *be = NULL;
    git_commit *c = NULL;
    char path[4096];
    const char *hex;
    json_t *v, *parents = json_object();
    unsigned int i;
    size_t ntips = 0;
    git_oid id;
    int err = 0;

    t.commits = json_object();
    snprintf(path, sizeof(path), "%sobjects/pack/pack-%s.idx",
             git_repository_path(repo), git_indexer_name(rx->idx));
    if (t.commits == NULL || parents == NULL) {
        err = OER_ENOMEM;
        goto out;
    }
    if (git_odb_new(&t.pack) < 0 || git_odb_backend_one_pack(&be, path) < 0)
        goto failed;
    if (git_odb_add_backend(t.pack, be, 1) < 0) {
        be->free(be); /* not handed to the database */
        goto failed;
    }
    if (git_odb_foreach(t.pack, on_pack_object, &t) < 0)
        goto failed;
    json_object_foreach(t.commits, hex, v)
    {
        if (git_oid_fromstr(&id, hex) < 0 ||
            git_commit_lookup(&c, repo, &id) < 0) {
            err = git_failed(out->reason, rx->origin, "cannot read a commit");
            goto out;
        }
        for (i = 0; i < git_commit_parentcount(c); i++)
            json_object_set_new(parents,
                                git_oid_tostr_s(git_commit_parent_id(c, i)),
                                json_true());
        git_commit_free(c);
        c = NULL;
    }
    json_object_foreach(t.commits, hex, v)
    {
        if (json_object_get(parents, hex) == NULL && ntips++ == 0)
            snprintf(out->reaches, sizeof(out->reaches), "%s", hex);
    }
    if (ntips != 1)
        err = refuse(out->reason, OER_EPROTO, rx->origin,
                     ntips == 0 ? "pack holds no commit"
                                : "pack holds several histories");
    goto out;

failed:
    err = git_failed(out->reason, rx->origin, "cannot read the pack");
out:
    git_odb_free(t.pack);
    json_decref(t.commits);
    json_decref(parents);
    return err;
}

/* ---- receiver: verification ------------------------------------------ */

struct check {
    struct store *s;
    const char *origin;
    const struct identity_pub *key;
    struct replica_result *out;
    json_t *named; /* where documents naming files go, or NULL */
};

/* The commit is signed, with one parent at most, by the origin's key. */
static int check_signed(struct check *k, const char *hex)
{
    git_repository *repo = store_repository(k->s);
    git_buf sig = {0}, data = {0};
    git_commit *c = NULL;
    unsigned int parents = 0;
    git_oid id;
    int gerr;

    git_oid_fromstr(&id, hex);
    if (git_commit_lookup(&c, repo, &id) == 0)
        parents = git_commit_parentcount(c);
    git_commit_free(c);
    if (parents > 1)
        return refuse(k->out->reason, OER_EINVAL, k->origin,
                      "commit %.12s is a merge", hex);
    gerr = git_commit_extract_signature(&sig, &data, repo, &id, "gpgsig");
    git_buf_dispose(&sig);
    git_buf_dispose(&data);
    if (gerr == GIT_ENOTFOUND)
        return refuse(k->out->reason, OER_ECRYPTO, k->origin,
                      "commit %.12s is not signed", hex);
    if (store_verify_commit(k->s, hex, k->key) < 0)
        return refuse(k->out->reason, OER_ECRYPTO, k->origin,
                      "commit %.12s is not signed by the origin's key", hex);
    return 0;
}

/* path is "<first two of local>/<local>.json"; local goes to out. */
static int doc_path_ok(char *out, size_t cap, const char *path)
{
    const char *slash = strchr(path, '/');
    size_t len;

    if (slash == NULL)
        return 0;
    len = strlen(slash + 1);
    if (len <= 5 || len - 5 >= cap || strcmp(slash + len - 4, ".json") != 0)
        return 0;
    snprintf(out, cap, "%.*s", (int)(len - 5), slash + 1);
    return metadata_valid_local_id(out) &&
           (size_t)(slash - path) == (strlen(out) < 2 ? strlen(out) : 2) &&
           strncmp(path, out, (size_t)(slash - path)) == 0;
}

/* One document a new commit changed: where its id says, and valid. */
static int check_doc(struct check *k, const char *commit, const char *path)
{
    char local[80], want[160];
    struct metadata_error merr;
    json_t *doc = NULL;
    const char *id;
    int err;

    if (!doc_path_ok(local, sizeof(local), path))
        return refuse(k->out->reason, OER_EINVAL, k->origin,
                      "commit %.12s: %s is not a document path", commit, path);
    err = store_get_at(&doc, NULL, k->s, commit, path);
    if (err == OER_ENOTFOUND)
        return refuse(k->out->reason, OER_EINVAL, k->origin,
                      "commit %.12s removes %s instead of a tombstone", commit,
                      path);
    if (err < 0)
        return refuse(k->out->reason, err == OER_ECORRUPT ? OER_EINVAL : err,
                      k->origin, "commit %.12s: %s does not parse", commit,
                      path);
    snprintf(want, sizeof(want), "%s/%s", k->origin, local);
    id = json_string_value(json_object_get(doc, "id"));
    if (id == NULL || strcmp(id, want) != 0)
        err = refuse(k->out->reason, OER_EINVAL, k->origin,
                     "commit %.12s: %s holds id %.60s", commit, path,
                     id != NULL ? id : "(none)");
    else if (metadata_validate(doc, 0, &merr) < 0)
        err = refuse(k->out->reason, OER_EINVAL, k->origin,
                     "commit %.12s: %s invalid: %s %s", commit, path,
                     metadata_problem_name(merr.problem), merr.field);
    else if (k->named != NULL &&
             json_array_size(json_object_get(doc, "files")) > 0)
        json_object_set(k->named, path, doc);
    else if (k->named != NULL)
        json_object_del(k->named, path);
    json_decref(doc);
    return err;
}

static int on_new_commit(const struct store_change *c, void *arg)
{
    struct check *k = arg;
    size_t i;
    int err = 0;

    for (i = 0; i < c->count && err == 0; i++) {
        err = check_doc(k, c->id, c->paths[i]);
        k->out->documents++;
    }
    return err;
}

/* The signature of every commit from upto back to after (NULL: the
 * first), by a plain walk: no tree is compared. */
static int check_signatures(struct check *k, const char *upto,
                            const char *after)
{
    git_revwalk *walk = NULL;
    char hex[STORE_OID_HEX];
    git_oid id;
    int err = OER_EIO, gerr;

    if (git_revwalk_new(&walk, store_repository(k->s)) < 0 ||
        git_oid_fromstr(&id, upto) < 0 || git_revwalk_push(walk, &id) < 0 ||
        (after != NULL &&
         (git_oid_fromstr(&id, after) < 0 || git_revwalk_hide(walk, &id) < 0)))
        goto out;
    err = 0;
    while (err == 0 && (gerr = git_revwalk_next(&id, walk)) == 0) {
        k->out->commits++;
        err = check_signed(k, git_oid_tostr(hex, sizeof(hex), &id));
    }
    if (err == 0 && gerr != GIT_ITEROVER)
        err = OER_EIO;

out:
    git_revwalk_free(walk);
    return err;
}

/* Every commit from upto back to after (NULL: the first), signatures
 * first, then documents; those naming files go to named (may be NULL). */
static int check_commits(struct replica_result *out, struct store *s,
                         const char *origin, const char *upto,
                         const char *after, const struct identity_pub *key,
                         json_t *named)
{
    struct check k = {
        .s = s, .origin = origin, .key = key, .out = out, .named = named};
    int err;

    err = check_signatures(&k, upto, after);
    if (err == 0)
        err = store_changes(s, upto, after, LLONG_MIN, LLONG_MAX, on_new_commit,
                            &k);
    if (err < 0 && out->reason[0] == '\0')
        snprintf(out->reason, sizeof(out->reason), "cannot read history");
    return err;
}

/* ---- forks ------------------------------------------------------------ */

static int frozen_ref(char out[REF_CAP], const char *origin)
{
    return snprintf(out, REF_CAP, FROZEN_PREFIX "%s", origin) < REF_CAP
               ? 0
               : OER_EINVAL;
}

/* 1 when origin's catalogue is frozen, 0 when not. */
static int is_frozen(struct store *s, const char *origin)
{
    char ref[REF_CAP];
    git_oid id;

    if (frozen_ref(ref, origin) < 0)
        return 0;
    return git_reference_name_to_id(&id, store_repository(s), ref) == 0;
}

/* Record the fork for good: an annotated tag on the foreign head whose
 * message names both heads, at refs/frozen/<origin>.  A first record is
 * kept. */
static int freeze(struct store *s, const char *origin, const char *local,
                  const char *foreign)
{
    git_repository *repo = store_repository(s);
    char ref[REF_CAP], name[REF_CAP], msg[256];
    git_signature *who = NULL;
    git_reference *r = NULL;
    git_object *target = NULL;
    git_oid id, tag;
    int err = 0, gerr;

    frozen_ref(ref, origin);
    snprintf(name, sizeof(name), "frozen-%s", origin);
    snprintf(msg, sizeof(msg), "fork of %s\n\nlocal %s\nforeign %s\n", origin,
             local, foreign);
    git_oid_fromstr(&id, foreign);
    gerr = git_object_lookup(&target, repo, &id, GIT_OBJECT_COMMIT);
    if (gerr == 0)
        gerr = git_signature_now(&who, "oernode", "oernode@localhost");
    if (gerr == 0)
        gerr = git_tag_annotation_create(&tag, repo, name, target, who, msg);
    if (gerr == 0)
        gerr = git_reference_create(&r, repo, ref, &tag, 0, "oernode: fork");
    if (gerr < 0 && gerr != GIT_EEXISTS)
        err = git_failed(NULL, origin, "cannot record the fork");
    else
        log_error("sync", "catalogue frozen: its key signed a fork", "origin",
                  origin, "local", local, "foreign", foreign, NULL);
    git_reference_free(r);
    git_signature_free(who);
    git_object_free(target);
    return err;
}

/* The pack's head does not descend from the local one: older (nothing to
 * do), a fork signed by the origin (frozen), or a forgery. */
static int not_forward(struct replica_result *out, struct store *s,
                       const char *origin, const struct identity_pub *key,
                       int own)
{
    struct replica_result scratch = {0};
    int err;

    if (store_descends(s, out->old_head, out->reaches) == 1)
        return 0;
    /* a node never freezes its own catalogue: another history of it is
     * refused, and the local one kept */
    if (own)
        return refuse(out->reason, OER_EINVAL, origin,
                      "%.12s does not descend from this node's own head "
                      "%.12s",
                      out->reaches, out->old_head);
    err = check_commits(&scratch, s, origin, out->reaches, out->old_head, key,
                        NULL);
    /* Signed, even with bad documents, is still the origin's fork. */
    if (err < 0 && err != OER_EINVAL) {
        memcpy(out->reason, scratch.reason, sizeof(out->reason));
        return err;
    }
    /* So must the local side be: a local head the key did not sign (a
     * store altered behind the node's back) is no fork of the origin. */
    memset(&scratch, 0, sizeof(scratch));
    err = check_commits(&scratch, s, origin, out->old_head, out->reaches, key,
                        NULL);
    if (err < 0 && err != OER_EINVAL)
        return refuse(out->reason, OER_EIO, origin,
                      "the local history to %.12s does not verify with the "
                      "origin's key: run oernode fsck",
                      out->old_head);
    err = freeze(s, origin, out->old_head, out->reaches);
    if (err < 0)
        return err;
    return refuse(out->reason, OER_EFORK, origin,
                  "fork: %.12s and %.12s are both signed by the origin",
                  out->old_head, out->reaches);
}

/* ---- receiver: finishing --------------------------------------------- */

static int finish_verified(struct replica_result *out, struct replica_rx *rx,
                           const struct identity_pub *key)
{
    const char *old = out->old_head[0] != '\0' ? out->old_head : NULL;
    int err;

    if (is_frozen(rx->s, rx->origin))
        return refuse(out->reason, OER_EFORK, rx->origin,
                      "catalogue frozen after a fork");
    if (old != NULL && strcmp(old, out->reaches) == 0)
        return 0;
    if (old != NULL && store_descends(rx->s, out->reaches, old) != 1)
        return not_forward(out, rx->s, rx->origin, key, rx->own);

    rx->named = json_object();
    if (rx->named == NULL)
        return OER_ENOMEM;
    err = check_commits(out, rx->s, rx->origin, out->reaches, old, key,
                        rx->named);
    if (err < 0)
        return err;
    err = store_catalog_move(rx->s, rx->origin, out->reaches, old);
    if (err < 0)
        return refuse(out->reason, err, rx->origin,
                      "catalogue moved meanwhile");
    out->moved = rx->moved = 1;
    return 0;
}

int replica_rx_finish(struct replica_result *out, struct replica_rx *rx,
                      const struct identity_pub *key)
{
    char num[24];
    const git_error *e;
    int err;

    memset(out, 0, sizeof(*out));
    if (rx->spent)
        return refuse(out->reason, OER_EPROTO, rx->origin,
                      "pack refused earlier");
    rx->spent = 1;
    if (git_indexer_commit(rx->idx, &rx->stats) < 0) {
        e = git_error_last();
        return refuse(out->reason, OER_EPROTO, rx->origin,
                      "pack cut or malformed: %s", e != NULL ? e->message : "");
    }
    err = find_tip(out, rx);
    if (err < 0)
        return err;
    err = store_head(out->old_head, rx->s, rx->origin);
    if (err < 0 && err != OER_ENOTFOUND)
        return refuse(out->reason, err, rx->origin, "cannot read the head");

    err = finish_verified(out, rx, key);
    if (err == 0)
        log_info("sync",
                 out->moved ? "catalogue received" : "pack brought nothing new",
                 "origin", rx->origin, "from", out->old_head, "to",
                 out->reaches, "commits", log_num(num, (long long)out->commits),
                 NULL);
    return err;
}

int replica_rx_named(struct replica_rx *rx, store_doc_cb cb, void *arg)
{
    const char *path;
    json_t *doc;
    int err = 0;

    if (!rx->moved)
        return 0;
    json_object_foreach(rx->named, path, doc)
    {
        err = cb(doc, arg);
        if (err != 0)
            break;
    }
    return err;
}

/* ---- frozen catalogues ------------------------------------------------ */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read one refs/frozen/<origin> record and hand it to cb. */
static int report_freeze(git_repository *repo, const char *ref,
                         replica_freeze_cb cb, void *arg)
{
    char local[STORE_OID_HEX] = "", foreign[STORE_OID_HEX] = "";
    struct replica_freeze f = {0};
    const git_signature *who;
    git_tag *tag = NULL;
    const char *msg, *at;
    git_oid id;
    int err;

    if (git_reference_name_to_id(&id, repo, ref) < 0 ||
        git_tag_lookup(&tag, repo, &id) < 0)
        return git_failed(NULL, ref, "cannot read a fork record");
    msg = git_tag_message(tag);
    at = strstr(msg, "\nlocal ");
    if (at != NULL)
        snprintf(local, sizeof(local), "%.40s", at + 7);
    at = strstr(msg, "\nforeign ");
    if (at != NULL)
        snprintf(foreign, sizeof(foreign), "%.40s", at + 9);
    who = git_tag_tagger(tag);
    f.origin = ref + strlen(FROZEN_PREFIX);
    f.local = local;
    f.foreign = foreign;
    f.time = who != NULL ? (long long)who->when.time : 0;
    err = cb(&f, arg);
    git_tag_free(tag);
    return err;
}

int replica_frozen(struct store *s, replica_freeze_cb cb, void *arg)
{
    git_repository *repo = store_repository(s);
    git_strarray refs = {0};
    size_t i;
    int err = 0;

    if (git_reference_list(&refs, repo) < 0)
        return git_failed(NULL, "", "cannot list refs");
    qsort(refs.strings, refs.count, sizeof(char *), cmp_name);
    for (i = 0; i < refs.count && err == 0; i++)
        if (strncmp(refs.strings[i], FROZEN_PREFIX, strlen(FROZEN_PREFIX)) == 0)
            err = report_freeze(repo, refs.strings[i], cb, arg);
    git_strarray_dispose(&refs);
    return err;
}

/* ---- files: the sender's gate ---------------------------------------- */

enum { FILE_NAMED = 1, FILE_NO_LICENCE = 2, FILE_NO_POLICY = 4 };

struct gate {
    struct store *s;
    json_t *wanted; /* blob hex -> {"f": flags, "l": licence} */
    const char *origin;
    int commercial, adapts;
    replica_policy_cb policy;
    void *arg;
};

/* Note what one document says of the wanted blobs it names. */
static int on_gate_doc(const json_t *doc, void *arg)
{
    struct gate *g = arg;
    const char *licence = json_string_value(json_object_get(doc, "licence"));
    const json_t *file, *state;
    json_int_t flags;
    size_t i;

    json_array_foreach(json_object_get(doc, "files"), i, file)
    {
        state = json_object_get(
            g->wanted, json_string_value(json_object_get(file, "blob")));
        if (state == NULL)
            continue;
        flags = json_integer_value(json_object_get(state, "f")) | FILE_NAMED;
        if (licence == NULL ||
            !licence_allows(licence, g->commercial, g->adapts)) {
            flags |= FILE_NO_LICENCE;
            json_object_set_new((json_t *)state, "l",
                                json_string(licence != NULL ? licence : ""));
        }
        if (g->policy != NULL && !g->policy(g->origin, doc, g->arg))
            flags |= FILE_NO_POLICY;
        json_object_set_new((json_t *)state, "f", json_integer(flags));
    }
    return 0;
}

static int on_gate_origin(const char *origin, const char *head, void *arg)
{
    struct gate *g = arg;

    g->origin = origin;
    return store_foreach(g->s, origin, on_gate_doc, g);
}

static void answer_one(struct replica_file_answer *a, struct store *s,
                       const json_t *state)
{
    json_int_t flags = json_integer_value(json_object_get(state, "f"));
    const char *licence = json_string_value(json_object_get(state, "l"));

    if (licence != NULL)
        snprintf(a->licence, sizeof(a->licence), "%s", licence);
    if (!(flags & FILE_NAMED))
        a->status = MESSAGE_FILE_MISSING;
    else if (flags & FILE_NO_LICENCE)
        a->status = MESSAGE_FILE_DENIED_LICENCE;
    else if (flags & FILE_NO_POLICY)
        a->status = MESSAGE_FILE_DENIED_POLICY;
    else if (store_has_blob(s, a->blob) != 1)
        a->status = MESSAGE_FILE_MISSING;
    else
        a->status = MESSAGE_FILE_SENT;
}

int replica_files_answer(struct replica_file_answer *out, struct store *s,
                         const char *const *blobs, size_t n, int commercial,
                         int adapts, replica_policy_cb policy, void *arg)
{
    struct gate g = {.s = s,
                     .commercial = commercial,
                     .adapts = adapts,
                     .policy = policy,
                     .arg = arg};
    git_oid id;
    size_t i;
    int err = 0;

    g.wanted = json_object();
    if (g.wanted == NULL)
        return OER_ENOMEM;
    for (i = 0; i < n && err == 0; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        if (oid_parse(&id, blobs[i]) < 0)
            err = refuse(NULL, OER_EINVAL, "", "malformed blob id");
        else if (json_object_set_new(g.wanted, blobs[i],
                                     json_pack("{s:i}", "f", 0)) < 0)
            err = OER_ENOMEM;
        else
            git_oid_tostr(out[i].blob, sizeof(out[i].blob), &id);
    }
    if (err == 0)
        err = store_origins(s, on_gate_origin, &g);
    for (i = 0; i < n && err == 0; i++) {
        answer_one(&out[i], s, json_object_get(g.wanted, out[i].blob));
        if (out[i].status != MESSAGE_FILE_SENT)
            log_info("sync", "file withheld", "blob", out[i].blob, "status",
                     message_file_status_name(out[i].status), "licence",
                     out[i].licence, NULL);
    }
    json_decref(g.wanted);
    return err;
}

int replica_file_read(void **out, size_t *len, struct store *s,
                      const char *blob)
{
    git_blob *b = NULL;
    git_oid id;
    int gerr;

    *out = NULL;
    *len = 0;
    if (oid_parse(&id, blob) < 0)
        return OER_EINVAL;
    gerr = git_blob_lookup(&b, store_repository(s), &id);
    if (gerr == GIT_ENOTFOUND)
        return OER_ENOTFOUND;
    if (gerr < 0)
        return git_failed(NULL, "", "cannot read a file blob");
    *len = (size_t)git_blob_rawsize(b);
    *out = malloc(*len > 0 ? *len : 1);
    if (*out != NULL)
        memcpy(*out, git_blob_rawcontent(b), *len);
    git_blob_free(b);
    return *out != NULL ? 0 : OER_ENOMEM;
}

/* ---- files: the receiver's check ------------------------------------- */

struct named {
    const char *blob;
    char sha256[65];
    long long size;
};

static int on_named_doc(const json_t *doc, void *arg)
{
    struct named *n = arg;
    const json_t *file;
    const char *sha;
    size_t i;

    json_array_foreach(json_object_get(doc, "files"), i, file)
    {
        if (!json_is_string(json_object_get(file, "blob")) ||
            strcmp(json_string_value(json_object_get(file, "blob")), n->blob) !=
                0)
            continue;
        sha = json_string_value(json_object_get(file, "sha256"));
        snprintf(n->sha256, sizeof(n->sha256), "%s", sha != NULL ? sha : "");
        n->size = (long long)json_integer_value(json_object_get(file, "size"));
        return 1;
    }
    return 0;
}

/* Write the file and add it to refs/content/<origin>.  Several workers
 * store files of one origin at once, and each moves that ref: a lost
 * compare-and-swap (or a fresh lock of another) waits a little and
 * tries again. */
static int add_file(struct store *s, const char *origin, const void *data,
                    size_t len)
{
    struct store_file f;
    struct timespec pause = {0, 0};
    int err = OER_ECONFLICT;

    for (int tries = 0; tries < FILE_TRIES && err == OER_ECONFLICT; tries++) {
        if (tries > 0) {
            pause.tv_nsec = (long)(tries % 10 + 1) * 5000000L;
            nanosleep(&pause, NULL);
        }
        err = store_add_file_bytes(&f, s, origin, data, len);
    }
    return err;
}

static void sha256_hex(char out[65], const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0, i;

    out[0] = '\0';
    if (EVP_Digest(data, len, md, &mlen, EVP_sha256(), NULL) != 1)
        return;
    for (i = 0; i < mlen && i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * i] = '\0';
}

int replica_file_store(char *reason, struct store *s, const char *origin,
                       const char *blob, const void *data, size_t len)
{
    struct named n = {.blob = blob};
    char sha[65];
    git_oid id;
    int err;

    if (reason != NULL)
        reason[0] = '\0';
    err = store_foreach(s, origin, on_named_doc, &n);
    if (err == 0 || err == OER_ENOTFOUND)
        return refuse(reason, OER_ENOTFOUND, origin,
                      "no document names blob %.12s", blob);
    if (err < 0)
        return refuse(reason, err, origin, "cannot read the catalogue");

    if (git_odb_hash(&id, data, len, GIT_OBJECT_BLOB) < 0 ||
        strcmp(git_oid_tostr_s(&id), blob) != 0)
        return refuse(reason, OER_ECORRUPT, origin,
                      "content of %.12s has another blob id", blob);
    sha256_hex(sha, data, len);
    if (strcmp(sha, n.sha256) != 0 || (long long)len != n.size)
        return refuse(reason, OER_ECORRUPT, origin,
                      "content of %.12s differs from its signed sha256 or size",
                      blob);
    err = add_file(s, origin, data, len);
    if (err < 0 && reason != NULL)
        snprintf(reason, REPLICA_REASON, "cannot store the file");
    return err;
}

/* ---- debris of aborted transfers ------------------------------------- */

struct sweep {
    struct replica_sweep_info info;
    time_t before; /* files last written before this go */
    int err;
};

static int has_prefix(const char *name, const char *prefix)
{
    return strncmp(name, prefix, strlen(prefix)) == 0;
}

static int is_pack_debris(const char *name)
{
    size_t len = strlen(name);

    if (has_prefix(name, "pack-") && len > 5 &&
        strcmp(name + len - 5, ".lock") == 0)
        return 1;
    return has_prefix(name, "pack_git2_") || has_prefix(name, "tmp_pack_") ||
           has_prefix(name, "tmp_idx_");
}

static int is_object_debris(const char *name)
{
    return has_prefix(name, "tmp_object_git2_");
}

/* Remove the stale regular file name of the folder dir. */
static void sweep_one(struct sweep *w, const char *dir, const char *name)
{
    struct stat st;
    char path[4200], num[24];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_mtime >= w->before)
        return;
    if (unlink(path) < 0) {
        log_warn("sync", "cannot remove a temporary file", "path", path,
                 "errno", strerror(errno), "err", "io", NULL);
        return;
    }
    w->info.files++;
    w->info.bytes += (unsigned long long)st.st_size;
    log_info("sync", "temporary file removed", "path", path, "bytes",
             log_num(num, (long long)st.st_size), NULL);
}

/* Sweep the files of dir that debris() says are temporary: their names
 * first, then each (removing entries while reading a folder may skip
 * others on some file systems). */
static void sweep_dir(struct sweep *w, const char *dir,
                      int (*debris)(const char *))
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, **grown;
    size_t n = 0;

    if (d == NULL) {
        log_warn("sync", "cannot read a store folder", "path", dir, "errno",
                 strerror(errno), "err", "io", NULL);
        w->err = OER_EIO;
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (!debris(e->d_name))
            continue;
        grown = realloc(names, (n + 1) * sizeof(*names));
        if (grown == NULL || (grown[n] = strdup(e->d_name)) == NULL) {
            names = grown != NULL ? grown : names;
            w->err = OER_ENOMEM;
            break;
        }
        names = grown;
        n++;
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        if (w->err == 0)
            sweep_one(w, dir, names[i]);
        free(names[i]);
    }
    free(names);
}

int replica_sweep(struct replica_sweep_info *out, struct store *s,
                  unsigned max_age)
{
    const char *repo = git_repository_path(store_repository(s));
    struct sweep w = {0};
    char dir[4096], n1[24], n2[24];

    w.before = time(NULL) - (time_t)(max_age ? max_age : REPLICA_DEBRIS_AGE);
    snprintf(dir, sizeof(dir), "%sobjects/pack", repo);
    sweep_dir(&w, dir, is_pack_debris);
    snprintf(dir, sizeof(dir), "%sobjects", repo);
    sweep_dir(&w, dir, is_object_debris);

    if (w.info.files > 0)
        log_info("sync", "temporary files of aborted transfers removed",
                 "files", log_num(n1, (long long)w.info.files), "bytes",
                 log_num(n2, (long long)w.info.bytes), NULL);
    if (out != NULL)
        *out = w.info;
    return w.err;
}
