/*
 * Tests of sync/replica: catalogues replicated between real bare
 * repositories by calling the sender and receiver directly, checked with
 * stock git; forged, cut and forked histories; the file gate; the
 * sweep of temporary files that killed transfers leave.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <git2.h>

#include "federation/identity.h"
#include "node/error.h"
#include "node/metadata.h"
#include "node/store.h"
#include "sync/replica.h"
#include "testutil.h"

#define ORIGIN "be-vl"

struct node {
    char repo[600];
    struct store *s;
};

struct fixture {
    char *dir;
    struct node a, b, c, m; /* origin, mirror, second mirror, a relay */
    struct identity *key, *other;
    struct identity_pub pub;
};

static void node_open(struct node *n, const char *dir, const char *name)
{
    snprintf(n->repo, sizeof(n->repo), "%s/%s.git", dir, name);
    assert_int_equal(store_init(n->repo), 0);
    assert_int_equal(store_open(&n->s, n->repo), 0);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char path[600];

    fx->dir = testutil_tmpdir("replica");
    node_open(&fx->a, fx->dir, "a");
    node_open(&fx->b, fx->dir, "b");
    node_open(&fx->c, fx->dir, "c");
    node_open(&fx->m, fx->dir, "m");
    snprintf(path, sizeof(path), "%s/a.key", fx->dir);
    assert_int_equal(identity_generate(&fx->key, path), 0);
    snprintf(path, sizeof(path), "%s/other.key", fx->dir);
    assert_int_equal(identity_generate(&fx->other, path), 0);
    identity_public(&fx->pub, fx->key);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    store_free(fx->a.s);
    store_free(fx->b.s);
    store_free(fx->c.s);
    store_free(fx->m.s);
    identity_free(fx->key);
    identity_free(fx->other);
    testutil_run(NULL, 1, "rm -rf '%s'", fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static json_t *make_doc(const char *local, const char *title,
                        const char *licence)
{
    char id[128];

    snprintf(id, sizeof(id), ORIGIN "/%s", local);
    return json_pack("{s:i, s:s, s:{s:s}, s:[s], s:s, s:s}", "schema", 1, "id",
                     id, "title", "nl", title, "languages", "nl", "licence",
                     licence, "updated", "2026-01-01T00:00:00Z");
}

/* Commit doc (stolen) to n's catalogue, signed by id. */
static void commit_doc(char out[STORE_OID_HEX], struct node *n,
                       const struct identity *id, json_t *doc)
{
    struct store_batch *b = NULL;

    assert_int_equal(store_batch_new(&b, n->s, ORIGIN), 0);
    assert_int_equal(store_batch_put(b, doc, NULL), 0);
    assert_int_equal(store_batch_commit(out, b, id, "publish"), 0);
    store_batch_free(b);
    json_decref(doc);
}

static void publish(char out[STORE_OID_HEX], struct fixture *fx,
                    const char *local, const char *title)
{
    commit_doc(out, &fx->a, fx->key, make_doc(local, title, "CC-BY-4.0"));
}

/* ---- moving packs ----------------------------------------------------- */

struct wire {
    struct replica_rx *rx;
    size_t cut; /* deliver only this many bytes (0: all) */
    size_t written;
    size_t chunks;
    size_t largest;
};

static int on_chunk(const void *data, size_t len, int last, void *arg)
{
    struct wire *w = arg;
    size_t n = len;

    w->chunks++;
    if (len > w->largest)
        w->largest = len;
    if (w->cut != 0 && w->written + n > w->cut)
        n = w->cut > w->written ? w->cut - w->written : 0;
    w->written += n;
    if (n > 0)
        return replica_rx_write(w->rx, data, n);
    return 0;
}

/*
 * Pack want (have) from one node and receive it on another; returns what
 * replica_rx_finish returned.  info and res may be NULL.
 */
static int transfer(struct replica_pack_info *info, struct replica_result *res,
                    struct node *from, struct node *to, const char *want,
                    const char *have, const struct replica_bounds *b,
                    const struct identity_pub *key, size_t cut)
{
    struct replica_pack_info i;
    struct replica_result r;
    struct wire w = {.cut = cut};
    int err;

    assert_int_equal(replica_rx_new(&w.rx, to->s, ORIGIN), 0);
    assert_int_equal(
        replica_pack(&i, from->s, ORIGIN, want, have, b, on_chunk, &w), 0);
    assert_int_equal(i.chunks, w.chunks);
    err = replica_rx_finish(&r, w.rx, key);
    replica_rx_free(w.rx);
    if (info != NULL)
        *info = i;
    if (res != NULL)
        *res = r;
    return err;
}

/* Bring to's catalogue up to from's head, in as many packs as it takes;
 * returns the number of packs. */
static size_t sync_all(struct fixture *fx, struct node *from, struct node *to,
                       const struct replica_bounds *b)
{
    char want[STORE_OID_HEX], have[STORE_OID_HEX];
    struct replica_pack_info info;
    struct replica_result res;
    size_t packs = 0;

    assert_int_equal(store_head(want, from->s, ORIGIN), 0);
    do {
        int none = store_head(have, to->s, ORIGIN) == OER_ENOTFOUND;

        assert_int_equal(transfer(&info, &res, from, to, want,
                                  none ? NULL : have, b, &fx->pub, 0),
                         0);
        assert_true(res.moved);
        assert_string_equal(res.reaches, info.reaches);
        packs++;
    } while (!info.complete);
    return packs;
}

static void assert_heads_equal(struct node *x, struct node *y)
{
    char hx[STORE_OID_HEX], hy[STORE_OID_HEX];

    assert_int_equal(store_head(hx, x->s, ORIGIN), 0);
    assert_int_equal(store_head(hy, y->s, ORIGIN), 0);
    assert_string_equal(hx, hy);
}

static void git_ok(const char *fmt, const char *repo)
{
    char *out = NULL;
    int rc = testutil_run(&out, 1, fmt, repo);

    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    free(out);
}

/* git verify-commit with an allowed-signers file naming A's key. */
static void verify_with_git(struct fixture *fx, struct node *n)
{
    char line[256], signers[700], body[400], *out = NULL;
    int rc;

    identity_ssh_public(line, sizeof(line), &fx->pub);
    snprintf(signers, sizeof(signers), "%s/allowed_signers", fx->dir);
    snprintf(body, sizeof(body), ORIGIN "@oernode %s\n", line);
    testutil_write(signers, body, strlen(body));
    rc = testutil_run(&out, 1,
                      "git -C '%s' -c gpg.format=ssh "
                      "-c gpg.ssh.allowedSignersFile='%s' "
                      "verify-commit refs/catalog/" ORIGIN,
                      n->repo, signers);
    if (rc != 0)
        fprintf(stderr, "verify-commit: %s\n", out);
    assert_int_equal(rc, 0);
    free(out);
}

/* ---- forging histories ------------------------------------------------ */

/* Write the commit text buf, signed by id (NULL: unsigned), into n. */
static void write_commit(git_oid *out, struct node *n, const git_buf *buf,
                         const struct identity *id)
{
    char *armor = NULL;
    size_t len;

    if (id != NULL) {
        assert_int_equal(identity_sign(&armor, id, buf->ptr, buf->size), 0);
        len = strlen(armor);
        while (len > 0 && armor[len - 1] == '\n')
            armor[--len] = '\0';
    }
    assert_int_equal(git_commit_create_with_signature(
                         out, store_repository(n->s), buf->ptr, armor,
                         armor != NULL ? "gpgsig" : NULL),
                     0);
    free(armor);
}

/*
 * A commit on parent (40 hex) of n's catalogue with content at path,
 * signed by id (NULL: unsigned), made n's head; its id goes to out.
 */
static void forge(char out[STORE_OID_HEX], struct node *n,
                  const char *parent_hex, const char *path, const char *content,
                  const struct identity *id)
{
    git_repository *repo = store_repository(n->s);
    git_tree_update up = {.action = GIT_TREE_UPDATE_UPSERT,
                          .filemode = GIT_FILEMODE_BLOB,
                          .path = path};
    git_commit *parent = NULL;
    git_tree *base = NULL, *tree = NULL;
    git_signature *sig = NULL;
    git_reference *ref = NULL;
    git_buf buf = {0};
    git_oid pid, tid, cid;

    assert_int_equal(git_oid_fromstr(&pid, parent_hex), 0);
    assert_int_equal(git_commit_lookup(&parent, repo, &pid), 0);
    assert_int_equal(git_commit_tree(&base, parent), 0);
    assert_int_equal(
        git_blob_create_from_buffer(&up.id, repo, content, strlen(content)), 0);
    assert_int_equal(git_tree_create_updated(&tid, repo, base, 1, &up), 0);
    assert_int_equal(git_tree_lookup(&tree, repo, &tid), 0);
    assert_int_equal(git_signature_now(&sig, ORIGIN, ORIGIN "@oernode"), 0);
    assert_int_equal(git_commit_create_buffer(&buf, repo, sig, sig, NULL,
                                              "forged\n", tree, 1,
                                              (const git_commit **)&parent),
                     0);
    write_commit(&cid, n, &buf, id);
    assert_int_equal(git_reference_create(&ref, repo, "refs/catalog/" ORIGIN,
                                          &cid, 1, "test"),
                     0);
    git_oid_tostr(out, STORE_OID_HEX, &cid);
    git_reference_free(ref);
    git_buf_dispose(&buf);
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(base);
    git_commit_free(parent);
}

/* A copy of commit (of n) with tree swapped for that of other but the
 * first one's signature kept: a relay's altered document. */
static void swap_tree(char out[STORE_OID_HEX], struct node *n,
                      const char *commit, const char *other)
{
    git_repository *repo = store_repository(n->s);
    git_buf sig = {0}, data = {0};
    git_commit *o = NULL;
    git_reference *ref = NULL;
    char line[64], *text, *at;
    git_oid id;

    assert_int_equal(git_oid_fromstr(&id, commit), 0);
    assert_int_equal(
        git_commit_extract_signature(&sig, &data, repo, &id, "gpgsig"), 0);
    assert_int_equal(git_oid_fromstr(&id, other), 0);
    assert_int_equal(git_commit_lookup(&o, repo, &id), 0);
    text = strdup(data.ptr);
    at = strstr(text, "tree ");
    assert_non_null(at);
    snprintf(line, sizeof(line), "tree %s",
             git_oid_tostr_s(git_commit_tree_id(o)));
    memcpy(at, line, strlen(line));
    assert_int_equal(
        git_commit_create_with_signature(&id, repo, text, sig.ptr, "gpgsig"),
        0);
    assert_int_equal(git_reference_create(&ref, repo, "refs/catalog/" ORIGIN,
                                          &id, 1, "test"),
                     0);
    git_oid_tostr(out, STORE_OID_HEX, &id);
    git_reference_free(ref);
    git_commit_free(o);
    free(text);
    git_buf_dispose(&sig);
    git_buf_dispose(&data);
}

/* ---- tests ------------------------------------------------------------ */

static void test_full_copy(void **state)
{
    struct fixture *fx = *state;
    char h[STORE_OID_HEX];
    struct replica_pack_info info;
    struct replica_result res;
    json_t *doc = NULL;

    publish(h, fx, "abc1", "Breuken");
    publish(h, fx, "xyz2", "Procenten");
    publish(h, fx, "abc1", "Breuken, herzien");

    assert_int_equal(
        transfer(&info, &res, &fx->a, &fx->b, h, NULL, NULL, &fx->pub, 0), 0);
    assert_true(info.complete);
    assert_int_equal(info.commits, 3);
    assert_int_equal(res.commits, 3);
    assert_int_equal(res.documents, 3);
    assert_true(res.moved);
    assert_string_equal(res.old_head, "");
    assert_heads_equal(&fx->a, &fx->b);
    assert_int_equal(store_get(&doc, fx->b.s, ORIGIN, "abc1"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "title"), "nl")),
        "Breuken, herzien");
    json_decref(doc);
    git_ok("git -C '%s' fsck --strict", fx->b.repo);
    verify_with_git(fx, &fx->b);

    /* Up to date: nothing travels. */
    assert_int_equal(
        replica_pack(&info, fx->a.s, ORIGIN, h, h, NULL, on_chunk, NULL), 0);
    assert_int_equal(info.commits, 0);
    assert_int_equal(info.chunks, 0);
}

static void test_incremental(void **state)
{
    struct fixture *fx = *state;
    char h1[STORE_OID_HEX], h2[STORE_OID_HEX];
    struct replica_pack_info info;
    struct replica_result res;

    publish(h1, fx, "abc1", "Breuken");
    publish(h1, fx, "xyz2", "Procenten");
    assert_int_equal(sync_all(fx, &fx->a, &fx->b, NULL), 1);

    publish(h2, fx, "klm3", "Kommagetallen");
    assert_int_equal(
        transfer(&info, &res, &fx->a, &fx->b, h2, h1, NULL, &fx->pub, 0), 0);
    /* One commit, its root tree, one new shard tree, one document. */
    assert_int_equal(info.commits, 1);
    assert_int_equal(info.objects, 4);
    assert_int_equal(res.commits, 1);
    assert_string_equal(res.old_head, h1);
    assert_heads_equal(&fx->a, &fx->b);
    git_ok("git -C '%s' fsck --strict", fx->b.repo);
}

static void test_bounded_packs(void **state)
{
    struct fixture *fx = *state;
    struct replica_bounds b = {.objects = 9, .chunk = 200};
    char h[STORE_OID_HEX], local[16];
    struct replica_pack_info info;
    struct replica_result res;
    int i;

    for (i = 0; i < 12; i++) {
        snprintf(local, sizeof(local), "r%02d", i);
        publish(h, fx, local, "Les");
    }
    /* At most two commits of four objects go in one pack of nine. */
    assert_int_equal(
        transfer(&info, &res, &fx->a, &fx->b, h, NULL, &b, &fx->pub, 0), 0);
    assert_false(info.complete);
    assert_int_equal(info.commits, 2);
    assert_true(info.objects <= 9);
    assert_true(info.chunks > 1);
    assert_true(res.moved);
    assert_true(sync_all(fx, &fx->a, &fx->b, &b) >= 5);
    assert_heads_equal(&fx->a, &fx->b);
    git_ok("git -C '%s' fsck --strict", fx->b.repo);
    verify_with_git(fx, &fx->b);
}

/* M relays A's catalogue with one altered commit on top of h; B, at h,
 * must refuse it with why and keep h. */
static void relay_refused(struct fixture *fx, const char *want, const char *h,
                          int code, const char *why)
{
    char head[STORE_OID_HEX];
    struct replica_result res;

    assert_int_equal(
        transfer(NULL, &res, &fx->m, &fx->b, want, h, NULL, &fx->pub, 0), code);
    assert_false(res.moved);
    assert_non_null(strstr(res.reason, why));
    assert_int_equal(store_head(head, fx->b.s, ORIGIN), 0);
    assert_string_equal(head, h);
}

/* Canonical bytes of a valid document (the caller frees them). */
static char *canon(const char *local, const char *title)
{
    json_t *doc = make_doc(local, title, "CC-BY-4.0");
    char *bytes = NULL;
    size_t len = 0;

    assert_int_equal(metadata_validate(doc, 0, NULL), 0);
    assert_int_equal(metadata_canonical(&bytes, &len, doc), 0);
    json_decref(doc);
    return bytes;
}

static void test_relay_altered(void **state)
{
    struct fixture *fx = *state;
    char h1[STORE_OID_HEX], h2[STORE_OID_HEX], x[STORE_OID_HEX];
    char y[STORE_OID_HEX];
    char *good = canon("abc1", "Vervalst");

    publish(h1, fx, "abc1", "Breuken");
    publish(h2, fx, "abc1", "Breuken, herzien");
    assert_int_equal(
        transfer(NULL, NULL, &fx->a, &fx->m, h2, NULL, NULL, &fx->pub, 0), 0);
    assert_int_equal(
        transfer(NULL, NULL, &fx->a, &fx->b, h1, NULL, NULL, &fx->pub, 0), 0);

    /* Re-signed with another key. */
    commit_doc(x, &fx->m, fx->other, make_doc("abc1", "Vervalst", "CC-BY-4.0"));
    relay_refused(fx, x, h1, OER_ECRYPTO, "not signed by the origin's key");

    /* Unsigned. */
    forge(x, &fx->m, h2, "ab/abc1.json", good, NULL);
    relay_refused(fx, x, h1, OER_ECRYPTO, "is not signed");

    /* A document changed under A's signature of h2. */
    forge(y, &fx->m, h1, "ab/abc1.json", good, NULL);
    swap_tree(x, &fx->m, h2, y);
    relay_refused(fx, x, h1, OER_ECRYPTO, "not signed by the origin's key");

    /* Signed by A but invalid, of another origin, or not a document. */
    forge(x, &fx->m, h2, "ab/abc1.json", "{\"id\":\"be-vl/abc1\",\"schema\":1}",
          fx->key);
    relay_refused(fx, x, h1, OER_EINVAL, "invalid: missing");
    forge(x, &fx->m, h2, "ab/abc1.json", "{\"id\":\"nl-x/abc1\"}", fx->key);
    relay_refused(fx, x, h1, OER_EINVAL, "holds id nl-x/abc1");
    forge(x, &fx->m, h2, "readme.txt", "hello", fx->key);
    relay_refused(fx, x, h1, OER_EINVAL, "not a document path");

    /* The genuine history still goes through. */
    assert_int_equal(
        transfer(NULL, NULL, &fx->a, &fx->b, h2, h1, NULL, &fx->pub, 0), 0);
    assert_heads_equal(&fx->a, &fx->b);
    free(good);
}

static void test_have_not_ancestor(void **state)
{
    struct fixture *fx = *state;
    char h1[STORE_OID_HEX], h2[STORE_OID_HEX];
    struct replica_pack_info info;

    publish(h1, fx, "abc1", "Breuken");
    publish(h2, fx, "xyz2", "Procenten");
    assert_int_equal(
        replica_pack(&info, fx->a.s, ORIGIN, h1, h2, NULL, on_chunk, NULL),
        OER_EINVAL);
    assert_non_null(strstr(info.reason, "not an ancestor"));
    assert_int_equal(replica_pack(&info, fx->a.s, ORIGIN, h2,
                                  "0123456789abcdef0123456789abcdef01234567",
                                  NULL, on_chunk, NULL),
                     OER_EINVAL);
    assert_non_null(strstr(info.reason, "not known here"));
    assert_int_equal(replica_pack(&info, fx->a.s, ORIGIN,
                                  "0123456789abcdef0123456789abcdef01234567",
                                  NULL, NULL, on_chunk, NULL),
                     OER_ENOTFOUND);
    assert_int_equal(info.chunks, 0);
}

struct frozen_seen {
    int n;
    char origin[80], local[STORE_OID_HEX], foreign[STORE_OID_HEX];
};

static int on_frozen(const struct replica_freeze *f, void *arg)
{
    struct frozen_seen *fs = arg;

    fs->n++;
    snprintf(fs->origin, sizeof(fs->origin), "%s", f->origin);
    snprintf(fs->local, sizeof(fs->local), "%s", f->local);
    snprintf(fs->foreign, sizeof(fs->foreign), "%s", f->foreign);
    assert_true(f->time > 0);
    return 0;
}

static void test_fork_frozen(void **state)
{
    struct fixture *fx = *state;
    char h1[STORE_OID_HEX], h2[STORE_OID_HEX], f2[STORE_OID_HEX];
    char h3[STORE_OID_HEX], head[STORE_OID_HEX];
    struct frozen_seen fs = {0};
    struct replica_result res;
    char *other = canon("abc1", "Andere geschiedenis");

    publish(h1, fx, "abc1", "Breuken");
    assert_int_equal(sync_all(fx, &fx->a, &fx->m, NULL), 1);
    assert_int_equal(sync_all(fx, &fx->a, &fx->b, NULL), 1);
    publish(h2, fx, "abc1", "Breuken, herzien");
    assert_int_equal(sync_all(fx, &fx->a, &fx->b, NULL), 1);

    /* A's key signs a second history from h1 (a restored backup). */
    forge(f2, &fx->m, h1, "ab/abc1.json", other, fx->key);
    assert_int_equal(
        transfer(NULL, &res, &fx->m, &fx->b, f2, h1, NULL, &fx->pub, 0),
        OER_EFORK);
    assert_non_null(strstr(res.reason, "fork"));
    assert_false(res.moved);
    assert_int_equal(store_head(head, fx->b.s, ORIGIN), 0);
    assert_string_equal(head, h2);

    assert_int_equal(replica_frozen(fx->b.s, on_frozen, &fs), 0);
    assert_int_equal(fs.n, 1);
    assert_string_equal(fs.origin, ORIGIN);
    assert_string_equal(fs.local, h2);
    assert_string_equal(fs.foreign, f2);
    git_ok("git -C '%s' fsck --strict", fx->b.repo);

    /* Frozen: even A's own next commit does not move it. */
    publish(h3, fx, "xyz2", "Procenten");
    assert_int_equal(
        transfer(NULL, &res, &fx->a, &fx->b, h3, h2, NULL, &fx->pub, 0),
        OER_EFORK);
    assert_non_null(strstr(res.reason, "frozen"));
    assert_int_equal(store_head(head, fx->b.s, ORIGIN), 0);
    assert_string_equal(head, h2);

    /* An unsigned second history is a forgery, not a fork. */
    assert_int_equal(sync_all(fx, &fx->a, &fx->c, NULL), 1);
    forge(f2, &fx->m, h1, "ab/abc1.json", other, NULL);
    assert_int_equal(
        transfer(NULL, &res, &fx->m, &fx->c, f2, h1, NULL, &fx->pub, 0),
        OER_ECRYPTO);
    memset(&fs, 0, sizeof(fs));
    assert_int_equal(replica_frozen(fx->c.s, on_frozen, &fs), 0);
    assert_int_equal(fs.n, 0);
    assert_heads_equal(&fx->a, &fx->c);
    free(other);
}

/* Count files of the pack folder whose name starts with prefix. */
/* A store altered behind the node's back (its head re-pointed at an
 * unsigned commit) does not make the origin's real next commit a fork:
 * refused as a local fault (OER_EIO, the sender is not to blame) with the
 * local history named, nothing frozen. */
static void test_altered_local_no_fork(void **state)
{
    struct fixture *fx = *state;
    char h1[STORE_OID_HEX], h2[STORE_OID_HEX], bad[STORE_OID_HEX];
    char head[STORE_OID_HEX];
    struct frozen_seen fs = {0};
    struct replica_result res;
    char *doc = canon("abc1", "Eigen wijziging");

    publish(h1, fx, "abc1", "Breuken");
    assert_int_equal(sync_all(fx, &fx->a, &fx->b, NULL), 1);
    forge(bad, &fx->b, h1, "ab/abc1.json", doc, NULL);
    publish(h2, fx, "abc1", "Breuken, herzien");
    assert_int_equal(
        transfer(NULL, &res, &fx->a, &fx->b, h2, h1, NULL, &fx->pub, 0),
        OER_EIO);
    assert_non_null(strstr(res.reason, "local history"));
    assert_int_equal(replica_frozen(fx->b.s, on_frozen, &fs), 0);
    assert_int_equal(fs.n, 0);
    assert_int_equal(store_head(head, fx->b.s, ORIGIN), 0);
    assert_string_equal(head, bad);
    free(doc);
}

/* A node taking its own catalogue back (replica_rx_own) never freezes
 * it: another history signed by its key is refused, the head kept. */
static void test_own_never_frozen(void **state)
{
    struct fixture *fx = *state;
    char h1[STORE_OID_HEX], h2[STORE_OID_HEX], f2[STORE_OID_HEX];
    char head[STORE_OID_HEX];
    struct frozen_seen fs = {0};
    struct replica_pack_info i;
    struct replica_result r;
    struct wire w = {0};
    char *other = canon("abc1", "Andere geschiedenis");

    publish(h1, fx, "abc1", "Breuken");
    assert_int_equal(sync_all(fx, &fx->a, &fx->m, NULL), 1);
    assert_int_equal(sync_all(fx, &fx->a, &fx->b, NULL), 1);
    publish(h2, fx, "abc1", "Breuken, herzien");
    assert_int_equal(sync_all(fx, &fx->a, &fx->b, NULL), 1);
    /* a second history from h1, signed by the same key, on m */
    forge(f2, &fx->m, h1, "ab/abc1.json", other, fx->key);

    /* b stands for the origin taking its catalogue back from m */
    assert_int_equal(replica_rx_new(&w.rx, fx->b.s, ORIGIN), 0);
    replica_rx_own(w.rx);
    assert_int_equal(
        replica_pack(&i, fx->m.s, ORIGIN, f2, h1, NULL, on_chunk, &w), 0);
    assert_int_equal(replica_rx_finish(&r, w.rx, &fx->pub), OER_EINVAL);
    replica_rx_free(w.rx);
    assert_non_null(strstr(r.reason, "does not descend from this node's own"));
    assert_int_equal(replica_frozen(fx->b.s, on_frozen, &fs), 0);
    assert_int_equal(fs.n, 0);
    assert_int_equal(store_head(head, fx->b.s, ORIGIN), 0);
    assert_string_equal(head, h2);
    free(other);
}

static int count_pack_files(struct node *n, const char *prefix)
{
    char *out = NULL;
    int count;

    assert_int_equal(testutil_run(&out, 0,
                                  "ls '%s/objects/pack' | "
                                  "grep -c '^%s' || true",
                                  n->repo, prefix),
                     0);
    count = atoi(out);
    free(out);
    return count;
}

static void test_cut_pack(void **state)
{
    struct fixture *fx = *state;
    struct replica_bounds b = {.objects = 9};
    struct replica_pack_info info;
    struct replica_result res;
    char h[STORE_OID_HEX], first[STORE_OID_HEX], head[STORE_OID_HEX];
    char local[16];
    int i;

    for (i = 0; i < 6; i++) {
        snprintf(local, sizeof(local), "r%02d", i);
        publish(h, fx, local, "Les");
    }
    /* The first bounded pack arrives whole and moves the ref. */
    assert_int_equal(
        transfer(&info, &res, &fx->a, &fx->b, h, NULL, &b, &fx->pub, 0), 0);
    assert_int_equal(info.commits, 2);
    snprintf(first, sizeof(first), "%s", res.reaches);

    /* The second is cut in the middle: nothing moves, nothing is left. */
    assert_int_equal(
        transfer(&info, &res, &fx->a, &fx->b, h, first, &b, &fx->pub, 300),
        OER_EPROTO);
    assert_true(info.bytes > 300);
    assert_non_null(strstr(res.reason, "pack cut or malformed"));
    assert_int_equal(store_head(head, fx->b.s, ORIGIN), 0);
    assert_string_equal(head, first);
    assert_int_equal(count_pack_files(&fx->b, "tmp_"), 0);
    assert_int_equal(count_pack_files(&fx->b, "pack-.*idx"), 1);
    git_ok("git -C '%s' fsck --strict", fx->b.repo);

    /* The next attempt starts from the verified ref: only the rest
     * travels. */
    assert_int_equal(
        transfer(&info, &res, &fx->a, &fx->b, h, first, NULL, &fx->pub, 0), 0);
    assert_int_equal(info.commits, 4);
    assert_heads_equal(&fx->a, &fx->b);
}

static json_t *tombstone(const char *local)
{
    char id[128];

    snprintf(id, sizeof(id), ORIGIN "/%s", local);
    return json_pack("{s:i, s:s, s:s, s:b, s:s}", "schema", 1, "id", id,
                     "updated", "2026-02-01T00:00:00Z", "deleted", 1, "reason",
                     "withdrawn by its author");
}

/* B16: withdrawn then re-published on A ends re-published on B and on C,
 * which hears of it only through B. */
static void test_withdraw_republish(void **state)
{
    struct fixture *fx = *state;
    char h[STORE_OID_HEX], t[STORE_OID_HEX];
    struct replica_result res;
    json_t *doc = NULL;

    publish(h, fx, "abc1", "Breuken");
    sync_all(fx, &fx->a, &fx->b, NULL);
    commit_doc(t, &fx->a, fx->key, tombstone("abc1"));
    sync_all(fx, &fx->a, &fx->b, NULL);
    assert_int_equal(store_get(&doc, fx->b.s, ORIGIN, "abc1"), 0);
    assert_true(metadata_is_tombstone(doc));
    json_decref(doc);

    publish(h, fx, "abc1", "Breuken, terug");
    sync_all(fx, &fx->a, &fx->b, NULL);
    sync_all(fx, &fx->b, &fx->c, NULL);
    assert_heads_equal(&fx->a, &fx->c);
    assert_int_equal(store_get(&doc, fx->c.s, ORIGIN, "abc1"), 0);
    assert_false(metadata_is_tombstone(doc));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "title"), "nl")),
        "Breuken, terug");
    json_decref(doc);

    /* The older tombstone head offered again changes nothing on C. */
    assert_int_equal(
        transfer(NULL, &res, &fx->a, &fx->c, t, NULL, NULL, &fx->pub, 0), 0);
    assert_false(res.moved);
    assert_heads_equal(&fx->a, &fx->c);
    verify_with_git(fx, &fx->c);
}

/* A document of A with one file under licence; its blob goes to blob. */
static void publish_file(char blob[STORE_OID_HEX], struct fixture *fx,
                         const char *local, const char *licence,
                         const char *content, const char *sha_override)
{
    char path[700], h[STORE_OID_HEX];
    struct store_file f;
    json_t *doc = make_doc(local, "Met bestand", licence);

    snprintf(path, sizeof(path), "%s/%s.txt", fx->dir, local);
    testutil_write(path, content, strlen(content));
    assert_int_equal(store_add_file(&f, fx->a.s, ORIGIN, path), 0);
    json_object_set_new(
        doc, "files",
        json_pack("[{s:s, s:s, s:I, s:s, s:s}]", "name", "les.txt",
                  "media_type", "text/plain", "size", (json_int_t)f.size,
                  "blob", f.blob, "sha256",
                  sha_override != NULL ? sha_override : f.sha256));
    commit_doc(h, &fx->a, fx->key, doc);
    memcpy(blob, f.blob, STORE_OID_HEX);
}

static int on_policy(const char *origin, const json_t *doc, void *arg)
{
    const char *id = json_string_value(json_object_get(doc, "id"));

    return strcmp(id, ORIGIN "/pol") != 0;
}

static void test_file_gate(void **state)
{
    static const struct {
        const char *licence;
        int allowed[4]; /* (commercial, adapts): 00 01 10 11 */
    } cases[] = {
        {"CC-BY-4.0", {1, 1, 1, 1}},
        {"CC-BY-NC-4.0", {1, 1, 0, 0}},
        {"CC-BY-ND-4.0", {1, 0, 1, 0}},
        {"CC-BY-NC-ND-4.0", {1, 0, 0, 0}},
        {"LicenseRef-unknown", {0, 0, 0, 0}},
        {"LicenseRef-all-rights-reserved", {0, 0, 0, 0}},
        {"CC0-1.0", {1, 1, 1, 1}},
        {"LicenseRef-PDM-1.0", {1, 1, 1, 1}},
    };
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    struct fixture *fx = *state;
    char blobs[N + 2][STORE_OID_HEX], local[16], content[64];
    const char *want[N + 3];
    struct replica_file_answer ans[N + 3];
    size_t i;
    int use;

    for (i = 0; i < N; i++) {
        snprintf(local, sizeof(local), "f%zu", i);
        snprintf(content, sizeof(content), "inhoud %zu\n", i);
        publish_file(blobs[i], fx, local, cases[i].licence, content, NULL);
        want[i] = blobs[i];
    }
    publish_file(blobs[N], fx, "pol", "CC0-1.0", "beleid\n", NULL);
    want[N] = blobs[N];
    snprintf(blobs[N + 1], STORE_OID_HEX, "%s",
             "0123456789abcdef0123456789abcdef01234567");
    want[N + 1] = blobs[N + 1];
    want[N + 2] = blobs[0];

    for (use = 0; use < 4; use++) {
        assert_int_equal(replica_files_answer(ans, fx->a.s, want, N + 3,
                                              use >> 1, use & 1, on_policy,
                                              NULL),
                         0);
        for (i = 0; i < N; i++) {
            if (ans[i].status != (cases[i].allowed[use]
                                      ? MESSAGE_FILE_SENT
                                      : MESSAGE_FILE_DENIED_LICENCE))
                fail_msg("%s for use %d: %s", cases[i].licence, use,
                         message_file_status_name(ans[i].status));
            assert_string_equal(ans[i].blob, blobs[i]);
        }
        assert_int_equal(ans[N].status, MESSAGE_FILE_DENIED_POLICY);
        assert_int_equal(ans[N + 1].status, MESSAGE_FILE_MISSING);
        assert_int_equal(ans[N + 2].status, ans[0].status);
    }
    assert_string_equal(ans[4].licence, "LicenseRef-unknown");
}

static void test_file_store(void **state)
{
    struct fixture *fx = *state;
    char blob[STORE_OID_HEX], bad_blob[STORE_OID_HEX], reason[128];
    char wrong_sha[65];
    const char *text = "de les zelf\n";
    void *data = NULL;
    size_t len = 0;

    publish_file(blob, fx, "good", "CC-BY-4.0", text, NULL);
    memset(wrong_sha, 'a', 64);
    wrong_sha[64] = '\0';
    publish_file(bad_blob, fx, "lies", "CC-BY-4.0", "andere les\n", wrong_sha);
    sync_all(fx, &fx->a, &fx->b, NULL);
    assert_int_equal(store_has_blob(fx->b.s, blob), 0);

    /* Content with another blob id, then the right one. */
    assert_int_equal(replica_file_store(reason, fx->b.s, ORIGIN, blob,
                                        "de les zelF\n", strlen(text)),
                     OER_ECORRUPT);
    assert_non_null(strstr(reason, "another blob id"));
    assert_int_equal(store_has_blob(fx->b.s, blob), 0);
    assert_int_equal(replica_file_read(&data, &len, fx->a.s, blob), 0);
    assert_int_equal(
        replica_file_store(reason, fx->b.s, ORIGIN, blob, data, len), 0);
    free(data);
    assert_int_equal(store_has_blob(fx->b.s, blob), 1);
    git_ok("git -C '%s' rev-parse --verify -q refs/content/" ORIGIN,
           fx->b.repo);

    /* The right blob id, but the signed SHA-256 says otherwise. */
    assert_int_equal(replica_file_read(&data, &len, fx->a.s, bad_blob), 0);
    assert_int_equal(
        replica_file_store(reason, fx->b.s, ORIGIN, bad_blob, data, len),
        OER_ECORRUPT);
    assert_non_null(strstr(reason, "sha256"));
    free(data);
    assert_int_equal(store_has_blob(fx->b.s, bad_blob), 0);

    /* A blob no document names. */
    assert_int_equal(replica_file_store(reason, fx->b.s, ORIGIN,
                                        "0123456789abcdef0123456789abcdef"
                                        "01234567",
                                        "x", 1),
                     OER_ENOTFOUND);
    git_ok("git -C '%s' fsck --strict", fx->b.repo);
}

/* ---- debris of aborted transfers -------------------------------------- */

/* Write a file of len bytes in the repository of n, last written age
 * seconds ago. */
static void debris(struct node *n, const char *rel, size_t len, long age)
{
    char path[700];
    char *data = calloc(1, len + 1);
    struct timespec t[2];

    assert_non_null(data);
    snprintf(path, sizeof(path), "%s/%s", n->repo, rel);
    testutil_write(path, data, len);
    free(data);
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age;
    t[1] = t[0];
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static int exists(struct node *n, const char *rel)
{
    char path[700];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", n->repo, rel);
    return stat(path, &st) == 0;
}

/* The temporary pack of a receiver cut midway, copied under another
 * name of the same kind before the receiver is freed: what a process
 * killed in the middle of a pack leaves. */
static void leave_cut_pack(struct fixture *fx, const char *want,
                           const char *have)
{
    struct replica_pack_info info;
    struct wire w = {.cut = 200};

    assert_int_equal(replica_rx_new(&w.rx, fx->b.s, ORIGIN), 0);
    assert_int_equal(
        replica_pack(&info, fx->a.s, ORIGIN, want, have, NULL, on_chunk, &w),
        0);
    assert_int_equal(count_pack_files(&fx->b, "pack_git2_"), 1);
    assert_int_equal(testutil_run(NULL, 0,
                                  "cd '%s/objects/pack' && "
                                  "cp pack_git2_* pack_git2_killed && "
                                  "touch -d '-11 minutes' pack_git2_killed",
                                  fx->b.repo),
                     0);
    replica_rx_free(w.rx);
}

static void test_sweep(void **state)
{
    struct fixture *fx = *state;
    struct replica_sweep_info info;
    char h[STORE_OID_HEX], first[STORE_OID_HEX], head[STORE_OID_HEX];
    char local[16];
    int i;

    publish(first, fx, "r00", "Les");
    sync_all(fx, &fx->a, &fx->b, NULL);
    for (i = 1; i < 20; i++) {
        snprintf(local, sizeof(local), "r%02d", i);
        publish(h, fx, local, "Les met een langere titel");
    }
    leave_cut_pack(fx, h, first);
    debris(&fx->b, "objects/pack/tmp_pack_a1b2c3", 1000, 700);
    debris(&fx->b, "objects/pack/tmp_idx_a1b2c3", 100, 3600);
    debris(&fx->b, "objects/pack/pack-0123.idx.lock", 10, 601);
    debris(&fx->b, "objects/tmp_object_git2_x1y2z3", 7, 86400);
    debris(&fx->b, "objects/pack/tmp_pack_live", 50, 0);
    debris(&fx->b, "objects/pack/tmp_pack_recent", 60, 300);
    debris(&fx->b, "objects/pack/notes.txt", 5, 86400);

    /* Old temporaries go; fresh ones, packs and other files stay. */
    assert_int_equal(replica_sweep(&info, fx->b.s, 0), 0);
    assert_int_equal(info.files, 5);
    assert_true(info.bytes > 1117);
    assert_false(exists(&fx->b, "objects/pack/pack_git2_killed"));
    assert_false(exists(&fx->b, "objects/pack/tmp_pack_a1b2c3"));
    assert_false(exists(&fx->b, "objects/pack/tmp_idx_a1b2c3"));
    assert_false(exists(&fx->b, "objects/pack/pack-0123.idx.lock"));
    assert_false(exists(&fx->b, "objects/tmp_object_git2_x1y2z3"));
    assert_true(exists(&fx->b, "objects/pack/tmp_pack_live"));
    assert_true(exists(&fx->b, "objects/pack/tmp_pack_recent"));
    assert_true(exists(&fx->b, "objects/pack/notes.txt"));
    assert_int_equal(count_pack_files(&fx->b, "pack-.*pack$"), 1);
    assert_int_equal(store_head(head, fx->b.s, ORIGIN), 0);
    assert_string_equal(head, first);
    git_ok("git -C '%s' fsck --strict", fx->b.repo);

    /* Nothing more at the same age; a shorter one takes the recent. */
    assert_int_equal(replica_sweep(&info, fx->b.s, 0), 0);
    assert_int_equal(info.files, 0);
    assert_int_equal(replica_sweep(&info, fx->b.s, 60), 0);
    assert_int_equal(info.files, 1);
    assert_int_equal(info.bytes, 60);
    assert_true(exists(&fx->b, "objects/pack/tmp_pack_live"));

    /* The next transfer brings only what is missing. */
    sync_all(fx, &fx->a, &fx->b, NULL);
    assert_heads_equal(&fx->a, &fx->b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_packs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_altered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_have_not_ancestor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fork_frozen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_altered_local_no_fork, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_own_never_frozen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cut_pack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_withdraw_republish, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
