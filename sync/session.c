/*
 * session: HEADS, FETCH, PACK and FETCH_END between this node and each
 * connected peer.  Everything but packing and verifying runs on the loop
 * thread; those run on libuv's worker threads, each with its own store.
 * One fetch at a time goes each way a peer, so PACK chunks of two
 * fetches never interleave on one connection.
 */
#include "sync/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/api_search.h"
#include "node/error.h"
#include "node/fault.h"
#include "node/log.h"
#include "node/metrics.h"
#include "node/store.h"
#include "sync/keyring.h"
#include "sync/policy.h"
#include "sync/replica.h"
#include "sync/tally.h"

#define MOD "sync"
#define NAME_CAP (LIMIT_NAME + 1)
#define DRAIN_MS 20
#define QUEUE_MAX 64
/* WANT_FILES a peer may have waiting while one is answered, and this
 * node's own asks outstanding with one peer at most (pipelined). */
#define WANT_QUEUE_MAX 8
#define WANT_PIPELINE 4
#define KEY_CAP 128 /* an "ssh-ed25519 AAAA..." line and its NUL */

/* A head the peer offered, and how far this node got with it. */
struct offer {
    char origin[NAME_CAP];
    char head[STORE_OID_HEX];
    char settled[STORE_OID_HEX]; /* the head last fetched or given up */
    char key[KEY_CAP];           /* the origin's key as offered, or "" */
};

/* A head this node offered the peer. */
struct sent {
    char origin[NAME_CAP];
    char head[STORE_OID_HEX];
};

/* A FETCH of the peer, waiting for its pack. */
struct request {
    char origin[NAME_CAP];
    char want[STORE_OID_HEX];
    char (*haves)[STORE_OID_HEX];
    size_t nhaves;
};

struct chunk {
    unsigned char *data;
    size_t len;
};

/* One FILES entry to send: a piece of a file, or a refusal. */
struct file_out {
    char blob[STORE_OID_HEX];
    enum message_file_status status;
    unsigned char *data; /* the whole file, owned by its first piece */
    size_t len, offset, size;
};

/* An offered head this node refused: origin and head commit. */
#define REFUSED_MAX 32
struct refused_head {
    char origin[NAME_CAP];
    char head[STORE_OID_HEX];
};

struct speer {
    struct session *s;
    char id[NAME_CAP];
    unsigned gen; /* bumped on every up and down: older work is dropped */
    int up;
    int heads_seen;   /* a HEADS came on this connection */
    uint64_t last_rx; /* uv_now of the last sync message */
    struct offer *offers;
    size_t noffers;
    struct sent *sent;
    size_t nsent;
    /* the fetch this node asked for */
    int fetching, verifying, pack_last;
    /* the fetches of an origin since one with no have (an empty local
     * catalogue): every pack asked for its own documents' files, so the
     * last need not look through the catalogue, unless an ask was
     * dropped (files_dropped: WANT_FILES busy) */
    int chain_fresh, files_dropped;
    char chain_origin[NAME_CAP];
    char f_origin[NAME_CAP];
    char f_want[STORE_OID_HEX];
    unsigned char *pack;
    size_t pack_len, pack_cap;
    uint64_t next_seq;
    /* the peer's fetches: queued, packing, then chunks being sent */
    struct request queue[QUEUE_MAX];
    size_t nqueue;
    int packing;
    /* the next pack of a cut fetch, made ahead while the peer verifies
     * the last one (spec_ready once made; spec_taken when its FETCH came
     * while it was being made) */
    struct pack_job *spec;
    int spec_ready, spec_taken;
    struct chunk *out;
    size_t nout, sent_out;
    char o_origin[NAME_CAP];
    enum message_result o_result;
    char o_reason[REPLICA_REASON];
    /* the files this node asked for: WANT_FILES outstanding (pipelined) */
    int wanting;
    char w_origin[NAME_CAP];
    char (*w_blobs)[STORE_OID_HEX];
    size_t nw, nw_done;
    int w_msgs;                       /* WANT_FILES sent for them */
    char w_first[NAME_CAP];           /* the peer asked first for them */
    char (*w_refused)[STORE_OID_HEX]; /* what it lacked or withheld */
    size_t nrefused;
    char fblob[STORE_OID_HEX]; /* the file coming in pieces */
    unsigned char *fbuf;
    size_t flen, fsize;
    /* the files the peer asked for, being sent; its further WANT_FILES
     * waiting, in order */
    int serving;
    char (*wq[WANT_QUEUE_MAX])[STORE_OID_HEX];
    size_t wq_n[WANT_QUEUE_MAX];
    size_t nwq;
    struct file_out *fout;
    size_t nfout, sent_fout;
    /* heads whose packs failed verification: not fetched from this peer
     * again, over any connection (a ring of the last REFUSED_MAX) */
    struct refused_head refused[REFUSED_MAX];
    size_t nrefused_heads;
    struct speer *next;
};

/* The document count of a catalogue's head, for HEADS. */
struct tally_memo {
    char origin[NAME_CAP];
    char head[STORE_OID_HEX]; /* the head counted ("" before the first) */
    size_t count;
    int counting; /* a count_job for it is on a worker */
};

struct session {
    uv_loop_t *loop;
    struct session_options opt;
    struct policy *policy;
    struct identity_pub own; /* this node's key, when the hook gave it */
    int has_own;
    struct tally_memo *tallies;
    size_t ntallies;
    struct peer_table *peers;
    struct store *store; /* the loop thread's */
    uv_timer_t poll;
    uv_timer_t drain;
    int handles;
    int jobs;
    int stopping;
    struct speer *list;
};

/* ---- small helpers ---- */

static void hex_of(char out[STORE_OID_HEX], const struct message_oid *oid)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < LIMIT_OID; i++) {
        out[2 * i] = digits[oid->id[i] >> 4];
        out[2 * i + 1] = digits[oid->id[i] & 15];
    }
    out[2 * LIMIT_OID] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void oid_of(struct message_oid *out, const char *hex)
{
    for (size_t i = 0; i < LIMIT_OID; i++)
        out->id[i] =
            (unsigned char)(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* Whether policy offers origin's catalogue to peer. */
static int offers_to(const struct session *s, const char *peer,
                     const char *origin)
{
    return policy_offers(s->policy, peer, origin);
}

static int send_msg(struct speer *p, const struct message *m)
{
    int r = peer_table_send(p->s->peers, p->id, m);

    if (r >= 0)
        log_debug(MOD, "message sent", "peer", p->id, "type",
                  message_type_name(m->type), NULL);
    return r;
}

static struct speer *speer_of(struct session *s, const char *id)
{
    struct speer *p;

    for (p = s->list; p != NULL; p = p->next) {
        if (strcmp(p->id, id) == 0)
            return p;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->s = s;
    copy(p->id, sizeof(p->id), id);
    p->next = s->list;
    s->list = p;
    return p;
}

static void free_out(struct speer *p)
{
    for (size_t i = 0; i < p->nout; i++)
        free(p->out[i].data);
    free(p->out);
    p->out = NULL;
    p->nout = p->sent_out = 0;
}

static void free_request(struct request *r)
{
    free(r->haves);
    r->haves = NULL;
}

/* Forget everything of the connection that ended. */
static void drop_spec(struct speer *p);

static void reset(struct speer *p)
{
    p->gen++;
    p->heads_seen = 0;
    free(p->offers);
    p->offers = NULL;
    p->noffers = 0;
    free(p->sent);
    p->sent = NULL;
    p->nsent = 0;
    free(p->pack);
    p->pack = NULL;
    p->pack_len = p->pack_cap = 0;
    p->fetching = p->verifying = p->pack_last = 0;
    p->chain_fresh = p->files_dropped = 0;
    for (size_t i = 0; i < p->nqueue; i++)
        free_request(&p->queue[i]);
    p->nqueue = 0;
    p->packing = 0;
    drop_spec(p);
    free_out(p);
    free(p->w_blobs);
    p->w_blobs = NULL;
    p->nw = p->nw_done = 0;
    p->w_msgs = 0;
    p->wanting = 0;
    for (size_t i = 0; i < p->nwq; i++)
        free(p->wq[i]);
    p->nwq = 0;
    free(p->w_refused);
    p->w_refused = NULL;
    p->nrefused = 0;
    free(p->fbuf);
    p->fbuf = NULL;
    p->flen = p->fsize = 0;
    for (size_t i = 0; i < p->nfout; i++)
        free(p->fout[i].offset == 0 ? p->fout[i].data : NULL);
    free(p->fout);
    p->fout = NULL;
    p->nfout = p->sent_fout = 0;
    p->serving = 0;
}

static void maybe_free(struct session *s)
{
    struct speer *next;

    if (!s->stopping || s->jobs > 0 || s->handles > 0)
        return;
    for (struct speer *p = s->list; p != NULL; p = next) {
        next = p->next;
        reset(p);
        free(p);
    }
    store_free(s->store);
    policy_free(s->policy);
    free(s->tallies);
    free(s);
}

/* ---- keys ---- */

/* The origin's key, whichever peer relays its catalogue: the key of the
 * origin itself when it is a connected peer, else its file. */
static int origin_key(struct identity_pub *out, const struct speer *p,
                      const char *origin)
{
    if (strcmp(origin, p->s->opt.config->node_id) == 0) {
        if (!p->s->has_own)
            return OER_ENOTFOUND;
        *out = p->s->own;
        return 0;
    }
    if (peer_table_key(out, p->s->peers, origin) == 0)
        return 0;
    return keyring_find(out, p->s->opt.config, origin);
}

/* The key line of origin sent with its HEADS entry, "" when none. */
static void key_line(char out[KEY_CAP], const struct speer *p,
                     const char *origin)
{
    struct identity_pub key;

    out[0] = '\0';
    if (strcmp(origin, p->s->opt.config->node_id) == 0) {
        if (p->s->has_own)
            identity_ssh_public(out, KEY_CAP, &p->s->own);
    } else if (origin_key(&key, p, origin) == 0) {
        identity_ssh_public(out, KEY_CAP, &key);
    }
}

/* Take the key o came with as its origin's, when the peer may introduce
 * keys and no key of that origin is known (the caller checked). */
static int introduce(struct speer *p, const struct offer *o)
{
    const struct config *c = p->s->opt.config;
    const struct config_peer *pinned = config_peer_find(c, o->origin);
    struct identity_pub key;
    char fp[64];
    int r;

    if (o->key[0] == '\0')
        return OER_ENOTFOUND;
    if (!policy_introduces(p->s->policy, p->id)) {
        log_warn(MOD, "origin key refused: the peer may not introduce keys",
                 "peer", p->id, "origin", o->origin, NULL);
        return OER_EINVAL;
    }
    r = identity_pub_parse(&key, o->key);
    if (r == 0)
        identity_fingerprint(fp, sizeof(fp), &key);
    if (r == 0 && pinned != NULL && strcmp(pinned->fingerprint, fp) != 0)
        r = OER_ECRYPTO;
    if (r == 0)
        r = keyring_introduce(c, o->origin, &key, p->id);
    if (r == 0)
        log_info(MOD, "origin key introduced", "peer", p->id, "origin",
                 o->origin, "fingerprint", fp, NULL);
    else
        log_warn(MOD, "origin key refused", "peer", p->id, "origin",
                 o->origin, "err", error_name(r), NULL);
    return r;
}

/* A known key is never replaced: a different one offered is logged. */
static void check_offered(const struct speer *p, const struct offer *o,
                          const struct identity_pub *known)
{
    struct identity_pub key;

    if (o->key[0] != '\0' &&
        (identity_pub_parse(&key, o->key) != 0 ||
         memcmp(key.key, known->key, sizeof(key.key)) != 0))
        log_warn(MOD, "origin key refused: it differs from the key known here",
                 "peer", p->id, "origin", o->origin, NULL);
}

/* ---- offering: HEADS ---- */

struct heads_walk {
    struct speer *p;
    struct message_head *heads;
    size_t n;
    char (*hex)[STORE_OID_HEX];
};

/* A count of a catalogue's documents, on a worker thread. */
struct count_job {
    uv_work_t req;
    struct session *s;
    char repo[4096];
    char origin[NAME_CAP];
    char head[STORE_OID_HEX];
    char base[STORE_OID_HEX]; /* the last head counted, or "" */
    size_t base_count, n;
    int err;
};

static void count_work(uv_work_t *req)
{
    struct count_job *j = req->data;
    struct store *st = NULL;
    const char *base = NULL;

    j->err = store_open(&st, j->repo);
    if (j->err == 0 && j->base[0] != '\0' &&
        store_descends(st, j->head, j->base) == 1)
        base = j->base;
    if (j->err == 0)
        j->err = tally_documents(&j->n, st, j->head, base, j->base_count);
    store_free(st);
}

static struct tally_memo *tally_of(struct session *s, const char *origin)
{
    for (size_t i = 0; i < s->ntallies; i++) {
        if (strcmp(s->tallies[i].origin, origin) == 0)
            return &s->tallies[i];
    }
    return NULL;
}

/* The count is in: every peer is offered that catalogue again (with it)
 * at the next poll. */
static void after_count(uv_work_t *req, int status)
{
    struct count_job *j = req->data;
    struct session *s = j->s;
    struct tally_memo *t = tally_of(s, j->origin);

    s->jobs--;
    if (t != NULL) {
        t->counting = 0;
        if (!s->stopping && status == 0 && j->err == 0) {
            copy(t->head, sizeof(t->head), j->head);
            t->count = j->n;
            for (struct speer *p = s->list; p != NULL; p = p->next) {
                for (size_t i = 0; i < p->nsent; i++) {
                    if (strcmp(p->sent[i].origin, j->origin) == 0)
                        p->sent[i].head[0] = '\0';
                }
            }
        }
    }
    free(j);
    maybe_free(s);
}

/*
 * The documents at head of origin as last counted: the count of head
 * when it is the one counted; else the last count (0 before the first)
 * while a worker counts head, from the last head counted when head
 * descends from it (tally_documents reads git trees: never on the loop).
 */
static uint64_t count_of(struct session *s, const char *origin,
                         const char *head)
{
    struct tally_memo *t = tally_of(s, origin), *grown;
    struct count_job *j;

    if (t != NULL && (strcmp(t->head, head) == 0 || t->counting))
        return t->count;
    if (t == NULL) {
        grown = realloc(s->tallies, (s->ntallies + 1) * sizeof(*grown));
        if (grown == NULL)
            return 0;
        s->tallies = grown;
        t = &grown[s->ntallies++];
        memset(t, 0, sizeof(*t));
        copy(t->origin, sizeof(t->origin), origin);
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return t->count;
    j->req.data = j;
    j->s = s;
    copy(j->repo, sizeof(j->repo), s->opt.repo_path);
    copy(j->origin, sizeof(j->origin), origin);
    copy(j->head, sizeof(j->head), head);
    copy(j->base, sizeof(j->base), t->head);
    j->base_count = t->count;
    if (uv_queue_work(s->loop, &j->req, count_work, after_count) != 0) {
        free(j);
        return t->count;
    }
    s->jobs++;
    t->counting = 1;
    return t->count;
}

static struct sent *sent_of(struct speer *p, const char *origin)
{
    for (size_t i = 0; i < p->nsent; i++) {
        if (strcmp(p->sent[i].origin, origin) == 0)
            return &p->sent[i];
    }
    return NULL;
}

static int on_origin_head(const char *origin, const char *head, void *arg)
{
    struct heads_walk *w = arg;
    struct sent *was = sent_of(w->p, origin);
    struct message_head *grown;
    char line[KEY_CAP];

    if (!offers_to(w->p->s, w->p->id, origin) ||
        (was != NULL && strcmp(was->head, head) == 0) || w->n >= LIMIT_HEADS)
        return 0;
    grown = realloc(w->heads, (w->n + 1) * sizeof(*grown));
    if (grown == NULL)
        return OER_ENOMEM;
    w->heads = grown;
    grown = &w->heads[w->n++];
    memset(grown, 0, sizeof(*grown));
    grown->origin = strdup(origin);
    oid_of(&grown->head, head);
    grown->count = count_of(w->p->s, origin, head);
    key_line(line, w->p, origin);
    grown->key = line[0] != '\0' ? strdup(line) : NULL;
    return grown->origin == NULL || (line[0] != '\0' && grown->key == NULL)
               ? OER_ENOMEM
               : 0;
}

static void note_sent(struct speer *p, const struct message_head *h)
{
    struct sent *e = sent_of(p, h->origin), *grown;

    if (e == NULL) {
        grown = realloc(p->sent, (p->nsent + 1) * sizeof(*grown));
        if (grown == NULL)
            return;
        p->sent = grown;
        e = &p->sent[p->nsent++];
        copy(e->origin, sizeof(e->origin), h->origin);
    }
    hex_of(e->head, &h->head);
}

/* Send HEADS with what moved since the last offer; always when force. */
static void offer_heads(struct speer *p, int force)
{
    struct heads_walk w = {.p = p};
    struct message m = {.type = MESSAGE_HEADS};
    int r;

    r = store_origins(p->s->store, on_origin_head, &w);
    if (r == 0 && (w.n > 0 || force)) {
        m.u.heads.heads = w.heads;
        m.u.heads.nheads = w.n;
        r = send_msg(p, &m);
        for (size_t i = 0; r >= 0 && i < w.n; i++)
            note_sent(p, &w.heads[i]);
    }
    for (size_t i = 0; i < w.n; i++) {
        free((char *)w.heads[i].origin);
        free((char *)w.heads[i].key);
    }
    free(w.heads);
}

static void on_poll(uv_timer_t *timer)
{
    struct session *s = timer->data;

    for (struct speer *p = s->list; p != NULL; p = p->next) {
        if (p->up)
            offer_heads(p, 0);
    }
}

/* ---- fetching: FETCH, PACK, FETCH_END, then verification ---- */

struct verify_job {
    uv_work_t req;
    struct speer *p;
    unsigned gen;
    char repo[4096];
    char origin[NAME_CAP];
    char want[STORE_OID_HEX];
    struct identity_pub key;
    int walk;         /* the last pack looks through the whole catalogue */
    int own;          /* this node's own catalogue (replica_rx_own) */
    struct store *st; /* the worker's, while it runs */
    unsigned char *pack;
    size_t len;
    int err;
    struct replica_result result;
    char (*missing)[STORE_OID_HEX]; /* file blobs named but not held */
    size_t nmissing;
};

static void pump_fetch(struct speer *p);
static int want_files(struct speer *p, const char *origin,
                      char (*blobs)[STORE_OID_HEX], size_t n, int fresh);
static void send_files_out(struct speer *p);
static void serve_next_files(struct speer *p);

static struct offer *offer_of(struct speer *p, const char *origin)
{
    for (size_t i = 0; i < p->noffers; i++) {
        if (strcmp(p->offers[i].origin, origin) == 0)
            return &p->offers[i];
    }
    return NULL;
}

/* Whether origin's head was refused from this peer before. */
static int was_refused(const struct speer *p, const char *origin,
                       const char *head)
{
    size_t n = p->nrefused_heads < REFUSED_MAX ? p->nrefused_heads
                                               : REFUSED_MAX;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(p->refused[i].origin, origin) == 0 &&
            strcmp(p->refused[i].head, head) == 0)
            return 1;
    }
    return 0;
}

/* Remember a refused head of this peer, the oldest making way. */
static void remember_refused(struct speer *p, const char *origin,
                             const char *head)
{
    struct refused_head *r = &p->refused[p->nrefused_heads++ % REFUSED_MAX];

    copy(r->origin, sizeof(r->origin), origin);
    copy(r->head, sizeof(r->head), head);
}

/* Whether this node wants the offered head; settles it when it never
 * will (policy, already here, refused before, no key). */
static int wanted(struct speer *p, struct offer *o, char local[STORE_OID_HEX])
{
    struct identity_pub key;
    int r;

    if (strcmp(o->head, o->settled) == 0)
        return 0;
    copy(o->settled, sizeof(o->settled), o->head);
    if (!policy_accepts(p->s->policy, p->id, o->origin)) {
        log_debug(MOD, "offer not accepted by policy", "peer", p->id, "origin",
                  o->origin, NULL);
        return 0;
    }
    if (was_refused(p, o->origin, o->head)) {
        log_debug(MOD, "offer refused before: not fetched again", "peer",
                  p->id, "origin", o->origin, "head", o->head, NULL);
        return 0;
    }
    r = store_head(local, p->s->store, o->origin);
    if (r == OER_ENOTFOUND)
        local[0] = '\0';
    else if (r != 0 || strcmp(local, o->head) == 0 ||
             store_descends(p->s->store, local, o->head) == 1)
        return 0;
    if (origin_key(&key, p, o->origin) == 0) {
        check_offered(p, o, &key);
    } else if (introduce(p, o) != 0) {
        log_warn(MOD, "offer ignored: the origin's key is not known here",
                 "peer", p->id, "origin", o->origin, NULL);
        return 0;
    }
    return 1;
}

static void send_fetch(struct speer *p, const char *origin, const char *want,
                       const char *have)
{
    struct message m = {.type = MESSAGE_FETCH};
    struct message_oid h;

    m.u.fetch.origin = origin;
    oid_of(&m.u.fetch.want, want);
    if (have[0] != '\0') {
        oid_of(&h, have);
        m.u.fetch.haves = &h;
        m.u.fetch.nhaves = 1;
    }
    if (send_msg(p, &m) < 0)
        return;
    if (have[0] == '\0') {
        p->chain_fresh = 1;
        copy(p->chain_origin, sizeof(p->chain_origin), origin);
    } else if (strcmp(origin, p->chain_origin) != 0) {
        p->chain_fresh = 0;
    }
    p->fetching = 1;
    p->pack_last = 0;
    p->next_seq = 0;
    p->pack_len = 0;
    copy(p->f_origin, sizeof(p->f_origin), origin);
    copy(p->f_want, sizeof(p->f_want), want);
    log_info(MOD, "fetching", "peer", p->id, "origin", origin, "want", want,
             "have", have, NULL);
}

/* Fetch the next offered head this node lacks, one at a time. */
static void pump_fetch(struct speer *p)
{
    char local[STORE_OID_HEX];

    if (!p->up || p->fetching || p->s->stopping)
        return;
    for (size_t i = 0; i < p->noffers; i++) {
        struct offer *o = &p->offers[i];

        if (wanted(p, o, local)) {
            send_fetch(p, o->origin, o->head, local);
            return;
        }
    }
}

static void on_heads(struct speer *p, const struct message *m)
{
    char n[24];

    metrics_sync_round();
    for (size_t i = 0; i < m->u.heads.nheads; i++) {
        const struct message_head *h = &m->u.heads.heads[i];
        struct offer *o = offer_of(p, h->origin), *grown;

        if (strlen(h->origin) >= NAME_CAP)
            continue;
        if (o == NULL) {
            grown = realloc(p->offers, (p->noffers + 1) * sizeof(*grown));
            if (grown == NULL)
                return;
            p->offers = grown;
            o = &p->offers[p->noffers++];
            memset(o, 0, sizeof(*o));
            copy(o->origin, sizeof(o->origin), h->origin);
        }
        hex_of(o->head, &h->head);
        copy(o->key, sizeof(o->key),
             h->key != NULL && strlen(h->key) < KEY_CAP ? h->key : "");
        log_debug(MOD, "head offered", "peer", p->id, "origin", o->origin,
                  "head", o->head, "count", log_num(n, (long long)h->count),
                  "key", o->key[0] != '\0' ? "yes" : "no", NULL);
    }
    pump_fetch(p);
}

static void fail_peer(struct speer *p, const char *code, const char *reason)
{
    log_warn(MOD, "peer broke the sync protocol", "peer", p->id, "reason",
             reason, NULL);
    peer_table_fail(p->s->peers, p->id, code, reason);
}

static void on_pack(struct speer *p, const struct message *m)
{
    const struct message_pack *pk = &m->u.pack;
    size_t need = p->pack_len + pk->len;

    if (!p->fetching || p->verifying || p->pack_last ||
        strcmp(pk->origin, p->f_origin) != 0 || pk->seq != p->next_seq) {
        fail_peer(p, "proto", "PACK not part of the fetch in progress");
        return;
    }
    if (need > REPLICA_RECEIVE_MAX) {
        fail_peer(p, "limit", "PACK larger than 256 MiB");
        return;
    }
    if (need > p->pack_cap) {
        size_t cap = p->pack_cap ? p->pack_cap : (1u << 16);
        unsigned char *grown;

        while (cap < need)
            cap *= 2;
        grown = realloc(p->pack, cap);
        if (grown == NULL) {
            fail_peer(p, "limit", "out of memory for the pack");
            return;
        }
        p->pack = grown;
        p->pack_cap = cap;
    }
    memcpy(p->pack + p->pack_len, pk->data, pk->len);
    p->pack_len = need;
    p->next_seq++;
    p->pack_last = pk->last;
}

/* Collect the file blobs doc names that the store lacks (at most
 * LIMIT_BLOBS a pack). */
static int on_missing_files(const json_t *doc, void *arg)
{
    struct verify_job *j = arg;
    struct store *st = j->st;
    const json_t *files = json_object_get(doc, "files");
    size_t i;
    json_t *f;

    /* files of records outside the filters are not asked for */
    if (!policy_record_passes(j->p->s->policy, j->p->id, j->origin, doc))
        return 0;
    json_array_foreach(files, i, f)
    {
        const char *blob = json_string_value(json_object_get(f, "blob"));
        char(*grown)[STORE_OID_HEX];

        if (blob == NULL || strlen(blob) != 40 || store_has_blob(st, blob) ||
            j->nmissing == LIMIT_BLOBS)
            continue;
        grown = realloc(j->missing, (j->nmissing + 1) * sizeof(*grown));
        if (grown == NULL)
            return 0;
        j->missing = grown;
        copy(grown[j->nmissing++], STORE_OID_HEX, blob);
    }
    return 0;
}

static void verify_work(uv_work_t *req)
{
    struct verify_job *j = req->data;
    struct replica_rx *rx = NULL;
    struct store *st = NULL;

    j->err = store_open(&st, j->repo);
    j->st = st;
    if (j->err == 0)
        j->err = replica_rx_new(&rx, st, j->origin);
    if (j->err == 0 && j->own)
        replica_rx_own(rx);
    for (size_t at = 0; j->err == 0 && at < j->len; at += LIMIT_CHUNK) {
        size_t n = j->len - at < LIMIT_CHUNK ? j->len - at : LIMIT_CHUNK;

        j->err = replica_rx_write(rx, j->pack + at, n);
    }
    if (j->err == 0)
        j->err = replica_rx_finish(&j->result, rx, &j->key);
    /* a pack the fetch goes on from asks for its own documents' files; the
     * last looks through the catalogue for any still missing, unless no
     * ask can have been missed (walk 0) */
    if (j->err == 0 && j->result.moved &&
        (strcmp(j->result.reaches, j->want) != 0 || !j->walk))
        replica_rx_named(rx, on_missing_files, j);
    else if (j->err == 0 && j->result.moved)
        store_foreach(st, j->origin, on_missing_files, j);
    replica_rx_free(rx);
    store_free(st);
}

static void report_verified(struct speer *p, const struct verify_job *j)
{
    char n[24];

    metrics_sync_pack(j->err, j->result.moved);
    if (j->err != 0) {
        log_warn(MOD, "pack rejected", "peer", p->id, "origin", j->origin,
                 "err", error_name(j->err), "reason", j->result.reason, NULL);
        if (j->err == OER_EPROTO) {
            fail_peer(p, "proto",
                      j->result.reason[0] ? j->result.reason
                                          : "pack malformed");
        } else if (j->err == OER_ECRYPTO || j->err == OER_EINVAL) {
            /* A relay must verify what it offers: this one did not.  It
             * is told why (after_verify remembers its head). */
            peer_table_fail(p->s->peers, p->id, "refused", j->result.reason);
        }
    } else if (j->result.moved) {
        log_info(MOD, "catalogue updated", "peer", p->id, "origin", j->origin,
                 "head", j->result.reaches, "commits",
                 log_num(n, (long long)j->result.commits), NULL);
    } else {
        log_info(MOD, "pack verified, nothing new", "peer", p->id, "origin",
                 j->origin, NULL);
    }
}

static void after_verify(uv_work_t *req, int status)
{
    struct verify_job *j = req->data;
    struct speer *p = j->p;
    struct session *s = p->s;
    struct offer *o;

    s->jobs--;
    /* A head that failed verification is not asked of this peer again,
     * even when the connection it came on is gone. */
    if (!s->stopping && (j->err == OER_ECRYPTO || j->err == OER_EINVAL ||
                         j->err == OER_EFORK))
        remember_refused(p, j->origin, j->want);
    if (!s->stopping && j->gen == p->gen) {
        p->fetching = p->verifying = 0;
        report_verified(p, j);
        o = offer_of(p, j->origin);
        /* a cut pack that moved the ref is fetched on from there */
        if (o != NULL && j->err == 0 && j->result.moved &&
            strcmp(j->result.reaches, j->want) != 0)
            o->settled[0] = '\0';
        else if (o != NULL && j->err == OER_ECONFLICT)
            o->settled[0] = '\0';
        if (j->err == 0 && j->result.moved &&
            strcmp(j->result.reaches, j->want) == 0)
            p->chain_fresh = p->files_dropped = 0; /* the fetch is done */
        if (j->nmissing > 0 &&
            want_files(p, j->origin, j->missing, j->nmissing, 1) != 0)
            p->files_dropped = 1;
        pump_fetch(p);
    }
    free(j->missing);
    free(j->pack);
    free(j);
    maybe_free(s);
}

static void start_verify(struct speer *p)
{
    struct verify_job *j = calloc(1, sizeof(*j));

    if (j == NULL || origin_key(&j->key, p, p->f_origin) != 0) {
        free(j);
        p->fetching = 0;
        pump_fetch(p);
        return;
    }
    j->req.data = j;
    j->p = p;
    j->gen = p->gen;
    copy(j->repo, sizeof(j->repo), p->s->opt.repo_path);
    copy(j->origin, sizeof(j->origin), p->f_origin);
    copy(j->want, sizeof(j->want), p->f_want);
    j->own = strcmp(j->origin, p->s->opt.config->node_id) == 0;
    j->walk = !p->chain_fresh || p->files_dropped ||
              strcmp(p->chain_origin, p->f_origin) != 0;
    j->pack = p->pack;
    j->len = p->pack_len;
    p->pack = NULL;
    p->pack_len = p->pack_cap = 0;
    p->verifying = 1;
    p->s->jobs++;
    uv_queue_work(p->s->loop, &j->req, verify_work, after_verify);
}

static void on_fetch_end(struct speer *p, const struct message *m)
{
    const struct message_fetch_end *e = &m->u.fetch_end;

    if (!p->fetching || p->verifying || strcmp(e->origin, p->f_origin) != 0) {
        fail_peer(p, "proto", "FETCH_END without a fetch in progress");
        return;
    }
    if (e->result == MESSAGE_RESULT_OK && p->pack_last) {
        start_verify(p);
        return;
    }
    if (e->result != MESSAGE_RESULT_UP_TO_DATE)
        log_warn(MOD, "fetch answered without a pack", "peer", p->id, "origin",
                 e->origin, "result", message_result_name(e->result), "reason",
                 e->reason, NULL);
    p->fetching = 0;
    pump_fetch(p);
}

/* ---- serving the peer's fetches: pack on a worker, then PACK chunks ---- */

struct pack_job {
    uv_work_t req;
    struct speer *p;
    unsigned gen;
    char repo[4096];
    struct request rq;
    struct chunk *chunks;
    size_t nchunks;
    int err;
    int orphan; /* a speculative pack no longer wanted: freed when made */
    struct replica_pack_info info;
};

static void pump_send(struct speer *p);

static int on_chunk(const void *data, size_t len, int last, void *arg)
{
    struct pack_job *j = arg;
    struct chunk *grown = realloc(j->chunks, (j->nchunks + 1) * sizeof(*grown));

    if (grown == NULL)
        return OER_ENOMEM;
    j->chunks = grown;
    grown[j->nchunks].data = malloc(len ? len : 1);
    if (grown[j->nchunks].data == NULL)
        return OER_ENOMEM;
    memcpy(grown[j->nchunks].data, data, len);
    grown[j->nchunks++].len = len;
    return 0;
}

/* The newest of the asker's haves that want descends from, or "". */
static const char *usable_have(struct store *st, const struct request *rq)
{
    for (size_t i = 0; i < rq->nhaves; i++) {
        if (store_descends(st, rq->want, rq->haves[i]) == 1)
            return rq->haves[i];
    }
    return NULL;
}

static void pack_work(uv_work_t *req)
{
    struct pack_job *j = req->data;
    struct store *st = NULL;

    j->err = store_open(&st, j->repo);
    if (j->err == 0)
        j->err = replica_pack(&j->info, st, j->rq.origin, j->rq.want,
                              usable_have(st, &j->rq), NULL, on_chunk, j);
    store_free(st);
}

static void free_pack_job(struct pack_job *j)
{
    for (size_t i = 0; i < j->nchunks; i++)
        free(j->chunks[i].data);
    free(j->chunks);
    free_request(&j->rq);
    free(j);
}

/* Send the chunks of the pack ready, as far as the queue takes them;
 * then FETCH_END. */
static void send_out(struct speer *p)
{
    struct message m = {.type = MESSAGE_PACK};
    int r = 0;

    while (p->sent_out < p->nout && r == 0) {
        if (peer_table_stalled(p->s->peers, p->id))
            return;
        m.u.pack.origin = p->o_origin;
        m.u.pack.seq = p->sent_out;
        m.u.pack.data = p->out[p->sent_out].data;
        m.u.pack.len = p->out[p->sent_out].len;
        m.u.pack.last = p->sent_out + 1 == p->nout;
        r = send_msg(p, &m);
        if (r >= 0)
            p->sent_out++;
        if (r > 0)
            return;
    }
    if (r < 0) {
        p->o_result = MESSAGE_RESULT_FAILED;
        copy(p->o_reason, sizeof(p->o_reason), "the pack could not be sent");
    }
    m.type = MESSAGE_FETCH_END;
    m.u.fetch_end.origin = p->o_origin;
    m.u.fetch_end.result = p->o_result;
    m.u.fetch_end.reason = p->o_reason;
    send_msg(p, &m);
    free_out(p);
    p->packing = 0;
    pump_send(p);
}

static void on_drain(uv_timer_t *timer)
{
    struct session *s = timer->data;
    int waiting = 0;

    for (struct speer *p = s->list; p != NULL; p = p->next) {
        if (p->up && p->packing && p->out != NULL)
            send_out(p);
        if (p->up && p->serving)
            send_files_out(p);
        waiting |= p->up && ((p->packing && p->out != NULL) || p->serving);
    }
    if (!waiting)
        uv_timer_stop(&s->drain);
}

static enum message_result result_of(const struct pack_job *j)
{
    if (j->err == OER_ENOTFOUND)
        return MESSAGE_RESULT_NOT_FOUND;
    if (j->err != 0)
        return MESSAGE_RESULT_FAILED;
    return j->info.commits == 0 ? MESSAGE_RESULT_UP_TO_DATE : MESSAGE_RESULT_OK;
}

static void start_spec(struct speer *p, const struct pack_job *done);

/* Send the pack j made (or its refusal), then make the next one ahead
 * when the fetch goes on. */
static void deliver(struct speer *p, struct pack_job *j)
{
    struct session *s = p->s;
    char n[24];

    p->o_result = result_of(j);
    copy(p->o_reason, sizeof(p->o_reason), j->info.reason);
    copy(p->o_origin, sizeof(p->o_origin), j->rq.origin);
    log_info(MOD, "pack for peer", "peer", p->id, "origin", j->rq.origin,
             "result", message_result_name(p->o_result), "commits",
             log_num(n, (long long)j->info.commits), "reason", j->info.reason,
             NULL);
    if (p->o_result == MESSAGE_RESULT_OK) {
        p->out = j->chunks;
        p->nout = j->nchunks;
        j->chunks = NULL;
        j->nchunks = 0;
    }
    p->sent_out = 0;
    if (p->o_result == MESSAGE_RESULT_OK && !j->info.complete)
        start_spec(p, j);
    free_pack_job(j);
    send_out(p);
    if (p->packing && p->out != NULL)
        uv_timer_start(&s->drain, on_drain, DRAIN_MS, DRAIN_MS);
}

static void after_pack(uv_work_t *req, int status)
{
    struct pack_job *j = req->data;
    struct speer *p = j->p;
    struct session *s = p->s;

    s->jobs--;
    if (s->stopping || j->gen != p->gen) {
        free_pack_job(j);
        maybe_free(s);
        return;
    }
    deliver(p, j);
}

/* ---- the next pack of a cut fetch, made ahead ---- */

/* Forget the pack made ahead: freed when made, else when it is. */
static void drop_spec(struct speer *p)
{
    if (p->spec != NULL && p->spec_ready)
        free_pack_job(p->spec);
    else if (p->spec != NULL)
        p->spec->orphan = 1;
    p->spec = NULL;
    p->spec_ready = p->spec_taken = 0;
}

static void after_spec(uv_work_t *req, int status)
{
    struct pack_job *j = req->data;
    struct speer *p = j->p;
    struct session *s = p->s;

    s->jobs--;
    if (s->stopping || j->orphan || j->gen != p->gen || p->spec != j) {
        free_pack_job(j);
        maybe_free(s);
        return;
    }
    p->spec_ready = 1;
    if (p->spec_taken) { /* its FETCH came while it was made */
        p->spec = NULL;
        p->spec_ready = p->spec_taken = 0;
        deliver(p, j);
    }
}

/* The peer will ask for the rest of done's fetch with done's newest
 * commit as its have (docs/SYNC.md): make that pack now, on a worker,
 * while the peer verifies done's. */
static void start_spec(struct speer *p, const struct pack_job *done)
{
    struct pack_job *j;

    if (p->spec != NULL || done->info.reaches[0] == '\0' || p->s->stopping)
        return;
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->rq.haves = calloc(1, sizeof(*j->rq.haves));
    if (j->rq.haves == NULL) {
        free(j);
        return;
    }
    copy(j->rq.origin, sizeof(j->rq.origin), done->rq.origin);
    copy(j->rq.want, sizeof(j->rq.want), done->rq.want);
    copy(j->rq.haves[0], STORE_OID_HEX, done->info.reaches);
    j->rq.nhaves = 1;
    j->req.data = j;
    j->p = p;
    j->gen = p->gen;
    copy(j->repo, sizeof(j->repo), p->s->opt.repo_path);
    if (uv_queue_work(p->s->loop, &j->req, pack_work, after_spec) != 0) {
        free_pack_job(j);
        return;
    }
    p->s->jobs++;
    p->spec = j;
}

/* Whether rq asks for the pack made ahead: same origin and want, and its
 * first have the commit that pack starts after. */
static int spec_matches(const struct speer *p, const struct request *rq)
{
    const struct request *sp = &p->spec->rq;

    return strcmp(rq->origin, sp->origin) == 0 &&
           strcmp(rq->want, sp->want) == 0 && rq->nhaves > 0 &&
           strcmp(rq->haves[0], sp->haves[0]) == 0;
}

static void pump_send(struct speer *p)
{
    struct pack_job *j;

    if (!p->up || p->packing || p->nqueue == 0 || p->s->stopping)
        return;
    if (p->spec != NULL && spec_matches(p, &p->queue[0])) {
        free_request(&p->queue[0]);
        memmove(&p->queue[0], &p->queue[1], --p->nqueue * sizeof(p->queue[0]));
        p->packing = 1;
        if (!p->spec_ready) { /* after_spec delivers it */
            p->spec_taken = 1;
            return;
        }
        j = p->spec;
        p->spec = NULL;
        p->spec_ready = 0;
        deliver(p, j);
        return;
    }
    drop_spec(p);
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->rq = p->queue[0];
    memmove(&p->queue[0], &p->queue[1], --p->nqueue * sizeof(p->queue[0]));
    j->req.data = j;
    j->p = p;
    j->gen = p->gen;
    copy(j->repo, sizeof(j->repo), p->s->opt.repo_path);
    p->packing = 1;
    p->s->jobs++;
    uv_queue_work(p->s->loop, &j->req, pack_work, after_pack);
}

static void refuse_fetch(struct speer *p, const char *origin)
{
    struct message m = {.type = MESSAGE_FETCH_END};

    log_info(MOD, "fetch refused by policy", "peer", p->id, "origin", origin,
             NULL);
    m.u.fetch_end.origin = origin;
    m.u.fetch_end.result = MESSAGE_RESULT_REFUSED;
    m.u.fetch_end.reason = "this node does not offer that catalogue to you";
    send_msg(p, &m);
}

static void on_fetch(struct speer *p, const struct message *m)
{
    const struct message_fetch *f = &m->u.fetch;
    struct request *rq;

    if (strlen(f->origin) >= NAME_CAP || !offers_to(p->s, p->id, f->origin)) {
        refuse_fetch(p, f->origin);
        return;
    }
    if (p->nqueue == QUEUE_MAX) {
        fail_peer(p, "limit", "too many FETCH waiting");
        return;
    }
    rq = &p->queue[p->nqueue];
    memset(rq, 0, sizeof(*rq));
    rq->haves = calloc(f->nhaves ? f->nhaves : 1, sizeof(*rq->haves));
    if (rq->haves == NULL)
        return;
    copy(rq->origin, sizeof(rq->origin), f->origin);
    hex_of(rq->want, &f->want);
    for (size_t i = 0; i < f->nhaves; i++)
        hex_of(rq->haves[i], &f->haves[i]);
    rq->nhaves = f->nhaves;
    p->nqueue++;
    pump_send(p);
}

/* ---- files: WANT_FILES, FILES, through the licence gate ---- */

/* The largest file taken from a peer. */
#define FILE_MAX (1024u << 20)

struct store_job {
    uv_work_t req;
    struct speer *p;
    char repo[4096];
    char origin[NAME_CAP];
    char blob[STORE_OID_HEX];
    unsigned char *data;
    size_t len;
    int err;
    char reason[REPLICA_REASON];
};

/* Ask peer p for n file blobs of origin in one WANT_FILES; 0 when sent.
 * fresh: asks of a verified pack (not another peer's leftovers), which
 * may join the ones outstanding (pipelined); else only when none are. */
static int want_files(struct speer *p, const char *origin,
                      char (*blobs)[STORE_OID_HEX], size_t n, int fresh)
{
    struct message m = {.type = MESSAGE_WANT_FILES};
    struct message_oid *oids;
    char (*grown)[STORE_OID_HEX];
    /* pipelined: a fresh ask of the same origin joins the outstanding
     * ones, up to WANT_PIPELINE WANT_FILES */
    int join = p->wanting && fresh && strcmp(p->w_origin, origin) == 0 &&
               strcmp(p->w_first, p->id) == 0 && p->w_msgs < WANT_PIPELINE;
    size_t at = join ? p->nw : 0;

    if (n == 0 || (p->wanting && !join))
        return -1;
    grown = realloc(join ? p->w_blobs : NULL, (at + n) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    p->w_blobs = grown;
    oids = calloc(n, sizeof(*oids));
    if (oids == NULL) {
        if (!join) {
            free(p->w_blobs);
            p->w_blobs = NULL;
        }
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        oid_of(&oids[i], blobs[i]);
        copy(p->w_blobs[at + i], STORE_OID_HEX, blobs[i]);
    }
    m.u.want_files.blobs = oids;
    m.u.want_files.nblobs = n;
    if (send_msg(p, &m) >= 0) {
        if (!join) {
            p->wanting = 1;
            p->nw_done = 0;
            p->w_msgs = 0;
            copy(p->w_origin, sizeof(p->w_origin), origin);
            copy(p->w_first, sizeof(p->w_first), p->id);
        } else {
            log_debug(MOD, "files asked, pipelined", "peer", p->id, "origin",
                      origin, NULL);
        }
        p->nw = at + n;
        p->w_msgs++;
        free(oids);
        return 0;
    }
    if (!join) {
        free(p->w_blobs);
        p->w_blobs = NULL;
    }
    free(oids);
    return -1;
}

static void store_work(uv_work_t *req)
{
    struct store_job *j = req->data;
    struct store *st = NULL;

    j->err = store_open(&st, j->repo);
    if (j->err == 0)
        j->err = replica_file_store(j->reason, st, j->origin, j->blob, j->data,
                                    j->len);
    store_free(st);
}

static void after_store(uv_work_t *req, int status)
{
    struct store_job *j = req->data;
    struct session *s = j->p->s;

    s->jobs--;
    if (j->err == 0)
        log_info(MOD, "file received", "peer", j->p->id, "origin", j->origin,
                 "blob", j->blob, NULL);
    else
        log_warn(MOD, "file rejected", "peer", j->p->id, "origin", j->origin,
                 "blob", j->blob, "err", error_name(j->err), "reason",
                 j->reason, NULL);
    free(j->data);
    free(j);
    maybe_free(s);
}

static void store_file(struct speer *p)
{
    struct store_job *j = calloc(1, sizeof(*j));

    if (j == NULL)
        return;
    j->req.data = j;
    j->p = p;
    copy(j->repo, sizeof(j->repo), p->s->opt.repo_path);
    copy(j->origin, sizeof(j->origin), p->w_origin);
    copy(j->blob, sizeof(j->blob), p->fblob);
    j->data = p->fbuf;
    j->len = p->flen;
    p->fbuf = NULL;
    p->flen = p->fsize = 0;
    p->s->jobs++;
    uv_queue_work(p->s->loop, &j->req, store_work, after_store);
}

static int wanted_blob(const struct speer *p, const char *blob)
{
    for (size_t i = 0; i < p->nw; i++) {
        if (strcmp(p->w_blobs[i], blob) == 0)
            return 1;
    }
    return 0;
}

/* A piece of a sent file: pieces come in order; 0 or a violation. */
static int file_piece(struct speer *p, const struct message_file *f,
                      const char *blob)
{
    if (f->offset == 0) {
        if (f->size > FILE_MAX)
            return -1;
        free(p->fbuf);
        p->fbuf = malloc(f->size ? f->size : 1);
        if (p->fbuf == NULL)
            return -1;
        p->fsize = f->size;
        p->flen = 0;
        copy(p->fblob, sizeof(p->fblob), blob);
    }
    if (p->fbuf == NULL || strcmp(p->fblob, blob) != 0 ||
        f->offset != p->flen || f->size != p->fsize ||
        f->len > p->fsize - p->flen)
        return -1;
    memcpy(p->fbuf + p->flen, f->data, f->len);
    p->flen += f->len;
    if (p->flen == p->fsize) {
        store_file(p);
        p->nw_done++;
    }
    return 0;
}

/* Keep a blob the peer lacks or withholds by policy, to ask another
 * (a licence denial would be the same anywhere). */
static void note_refused(struct speer *p, const char *blob,
                         enum message_file_status status)
{
    char (*grown)[STORE_OID_HEX];

    if (status == MESSAGE_FILE_DENIED_LICENCE)
        return;
    grown = realloc(p->w_refused, (p->nrefused + 1) * sizeof(*grown));
    if (grown == NULL)
        return;
    p->w_refused = grown;
    copy(grown[p->nrefused++], STORE_OID_HEX, blob);
}

/* The next connected peer after p, round the list and never back to the
 * peer asked first, that offers origin and has no WANT_FILES out. */
static struct speer *next_offering(struct speer *p, const char *origin)
{
    struct speer *q = p;

    for (;;) {
        q = q->next != NULL ? q->next : p->s->list;
        if (q == p || strcmp(q->id, p->w_first) == 0)
            return NULL;
        if (q->up && q->heads_seen && !q->wanting &&
            offer_of(q, origin) != NULL)
            return q;
    }
}

/* Ask another peer offering the origin for what p lacked or withheld:
 * each peer of the list once, in turn. */
static void ask_elsewhere(struct speer *p)
{
    struct speer *q = NULL;
    char n[24];

    if (p->nrefused > 0)
        q = next_offering(p, p->w_origin);
    if (q != NULL &&
        want_files(q, p->w_origin, p->w_refused, p->nrefused, 0) == 0) {
        copy(q->w_first, sizeof(q->w_first), p->w_first);
        log_info(MOD, "files asked of another peer", "peer", q->id, "origin",
                 p->w_origin, "instead-of", p->id, "files",
                 log_num(n, (long long)p->nrefused), NULL);
    }
    free(p->w_refused);
    p->w_refused = NULL;
    p->nrefused = 0;
}

static void on_files(struct speer *p, const struct message *m)
{
    char blob[STORE_OID_HEX];

    for (size_t i = 0; i < m->u.files.nfiles; i++) {
        const struct message_file *f = &m->u.files.files[i];

        hex_of(blob, &f->blob);
        if (!p->wanting || !wanted_blob(p, blob)) {
            fail_peer(p, "proto", "FILES names a blob not asked for");
            return;
        }
        if (f->status != MESSAGE_FILE_SENT) {
            log_info(MOD, "file withheld by the peer", "peer", p->id, "blob",
                     blob, "status", message_file_status_name(f->status), NULL);
            note_refused(p, blob, f->status);
            p->nw_done++;
        } else if (file_piece(p, f, blob) != 0) {
            fail_peer(p, "proto", "FILES piece out of order or too large");
            return;
        }
    }
    if (p->nw_done >= p->nw) {
        p->wanting = 0;
        free(p->w_blobs);
        p->w_blobs = NULL;
        p->nw = p->nw_done = 0;
        p->w_msgs = 0;
        ask_elsewhere(p);
    }
}

/* ---- serving files ---- */

struct files_job {
    uv_work_t req;
    struct speer *p;
    unsigned gen;
    char repo[4096];
    const struct session *s;
    char id[NAME_CAP];
    int commercial, adapts;
    char (*blobs)[STORE_OID_HEX];
    size_t n;
    struct replica_file_answer *answers;
    unsigned char **data;
    size_t *len;
    int err;
};

static int on_policy(const char *origin, const json_t *doc, void *arg)
{
    const struct files_job *j = arg;

    return offers_to(j->s, j->id, origin) &&
           policy_record_passes(j->s->policy, j->id, origin, doc);
}

/* The pipelining test's hook: OERNODE_FAULT=files-slow makes each file
 * answer take four seconds, as a slow link would (node/fault.h: in the
 * test build only). */
static void fault_slow_files(void)
{
    if (fault_is("files-slow"))
        uv_sleep(4000);
}

static void files_work(uv_work_t *req)
{
    struct files_job *j = req->data;
    const char **ids = calloc(j->n, sizeof(*ids));
    struct store *st = NULL;

    fault_slow_files();

    j->err = ids == NULL ? OER_ENOMEM : store_open(&st, j->repo);
    for (size_t i = 0; j->err == 0 && i < j->n; i++)
        ids[i] = j->blobs[i];
    if (j->err == 0)
        j->err = replica_files_answer(j->answers, st, ids, j->n, j->commercial,
                                      j->adapts, on_policy, j);
    for (size_t i = 0; j->err == 0 && i < j->n; i++) {
        if (j->answers[i].status != MESSAGE_FILE_SENT)
            continue;
        if (replica_file_read((void **)&j->data[i], &j->len[i], st,
                              j->blobs[i]) != 0)
            j->answers[i].status = MESSAGE_FILE_MISSING;
    }
    free(ids);
    store_free(st);
}

static void free_files_job(struct files_job *j)
{
    for (size_t i = 0; j->data != NULL && i < j->n; i++)
        free(j->data[i]);
    free(j->data);
    free(j->len);
    free(j->answers);
    free(j->blobs);
    free(j);
}

/* One piece a FILES entry, LIMIT_CHUNK at most. */
static int queue_file(struct speer *p, const struct replica_file_answer *a,
                      unsigned char *data, size_t len)
{
    size_t pieces = a->status == MESSAGE_FILE_SENT && len > 0
                        ? (len + LIMIT_CHUNK - 1) / LIMIT_CHUNK
                        : 1;
    struct file_out *grown =
        realloc(p->fout, (p->nfout + pieces) * sizeof(*grown));

    if (grown == NULL)
        return OER_ENOMEM;
    p->fout = grown;
    for (size_t k = 0; k < pieces; k++) {
        struct file_out *o = &p->fout[p->nfout++];

        copy(o->blob, sizeof(o->blob), a->blob);
        o->status = a->status;
        o->data = data;
        o->offset = k * LIMIT_CHUNK;
        o->size = len;
        o->len = len - o->offset < LIMIT_CHUNK ? len - o->offset : LIMIT_CHUNK;
    }
    return 0;
}

static void send_files_out(struct speer *p)
{
    struct message m = {.type = MESSAGE_FILES};
    struct message_file f;
    int r = 0;

    while (p->sent_fout < p->nfout && r == 0) {
        const struct file_out *o = &p->fout[p->sent_fout];

        if (peer_table_stalled(p->s->peers, p->id))
            return;
        memset(&f, 0, sizeof(f));
        oid_of(&f.blob, o->blob);
        f.status = o->status;
        if (o->status == MESSAGE_FILE_SENT) {
            f.data = o->data + o->offset;
            f.len = o->len;
            f.offset = o->offset;
            f.size = o->size;
        }
        m.u.files.files = &f;
        m.u.files.nfiles = 1;
        r = send_msg(p, &m);
        if (r >= 0)
            p->sent_fout++;
    }
    if (p->sent_fout < p->nfout && r >= 0)
        return;
    for (size_t i = 0; i < p->nfout; i++)
        free(p->fout[i].offset == 0 ? p->fout[i].data : NULL);
    free(p->fout);
    p->fout = NULL;
    p->nfout = p->sent_fout = 0;
    p->serving = 0;
    serve_next_files(p);
}

static void after_files(uv_work_t *req, int status)
{
    struct files_job *j = req->data;
    struct speer *p = j->p;
    struct session *s = p->s;

    s->jobs--;
    if (!s->stopping && j->gen == p->gen) {
        for (size_t i = 0; i < j->n; i++) {
            const struct replica_file_answer *a = &j->answers[i];

            if (j->err != 0)
                j->answers[i].status = MESSAGE_FILE_MISSING;
            if (a->status != MESSAGE_FILE_SENT)
                log_info(MOD, "file withheld", "peer", p->id, "blob", a->blob,
                         "status", message_file_status_name(a->status),
                         "licence", a->licence, NULL);
            if (queue_file(p, a, j->data[i], j->len[i]) == 0)
                j->data[i] = NULL;
        }
        send_files_out(p);
        if (p->serving)
            uv_timer_start(&s->drain, on_drain, DRAIN_MS, DRAIN_MS);
    }
    free_files_job(j);
    maybe_free(s);
}

/* Answer one WANT_FILES: the n blobs (hex, taken) on a worker. */
static void serve_files(struct speer *p, char (*blobs)[STORE_OID_HEX],
                        size_t n)
{
    struct files_job *j = calloc(1, sizeof(*j));

    if (j == NULL) {
        free(blobs);
        return;
    }
    j->blobs = blobs;
    j->answers = calloc(n, sizeof(*j->answers));
    j->data = calloc(n, sizeof(*j->data));
    j->len = calloc(n, sizeof(*j->len));
    if (j->answers == NULL || j->data == NULL || j->len == NULL ||
        peer_table_use(&j->commercial, &j->adapts, p->s->peers, p->id) != 0) {
        free_files_job(j);
        return;
    }
    j->n = n;
    j->req.data = j;
    j->p = p;
    j->gen = p->gen;
    j->s = p->s;
    copy(j->id, sizeof(j->id), p->id);
    copy(j->repo, sizeof(j->repo), p->s->opt.repo_path);
    if (uv_queue_work(p->s->loop, &j->req, files_work, after_files) != 0) {
        free_files_job(j);
        return;
    }
    p->serving = 1;
    p->s->jobs++;
}

/* The next waiting WANT_FILES, once the last is answered. */
static void serve_next_files(struct speer *p)
{
    char (*blobs)[STORE_OID_HEX];
    size_t n;

    if (p->serving || p->nwq == 0 || !p->up || p->s->stopping)
        return;
    blobs = p->wq[0];
    n = p->wq_n[0];
    p->nwq--;
    memmove(&p->wq[0], &p->wq[1], p->nwq * sizeof(p->wq[0]));
    memmove(&p->wq_n[0], &p->wq_n[1], p->nwq * sizeof(p->wq_n[0]));
    serve_files(p, blobs, n);
}

/* WANT_FILES: answered at once, or after the ones before it (a peer may
 * send up to WANT_QUEUE_MAX ahead: pipelined). */
static void on_want_files(struct speer *p, const struct message *m)
{
    const struct message_want_files *w = &m->u.want_files;
    char (*blobs)[STORE_OID_HEX];

    if (w->nblobs == 0)
        return;
    if (p->nwq == WANT_QUEUE_MAX) {
        fail_peer(p, "limit", "too many WANT_FILES waiting");
        return;
    }
    blobs = calloc(w->nblobs, sizeof(*blobs));
    if (blobs == NULL)
        return;
    for (size_t i = 0; i < w->nblobs; i++)
        hex_of(blobs[i], &w->blobs[i]);
    p->wq[p->nwq] = blobs;
    p->wq_n[p->nwq++] = w->nblobs;
    if (p->serving)
        log_debug(MOD, "WANT_FILES waits for the last one", "peer", p->id,
                  NULL);
    serve_next_files(p);
}

/* ---- the peer table's hooks ---- */

typedef void (*handler_fn)(struct speer *p, const struct message *m);

static const struct {
    enum message_type type;
    handler_fn fn;
} handlers[] = {
    {MESSAGE_HEADS, on_heads},
    {MESSAGE_FETCH, on_fetch},
    {MESSAGE_PACK, on_pack},
    {MESSAGE_FETCH_END, on_fetch_end},
    {MESSAGE_WANT_FILES, on_want_files},
    {MESSAGE_FILES, on_files},
};

/*
 * Record a connected peer's key (pinned by its configured fingerprint) as
 * the key of its own catalogue, when none is known: `oernode fsck` and
 * this node, later relayed that catalogue by another peer, can verify it
 * without the peer connected.
 */
static void record_peer_key(struct speer *p)
{
    const struct config *c = p->s->opt.config;
    struct identity_pub pinned, known;
    int r;

    if (peer_table_key(&pinned, p->s->peers, p->id) != 0)
        return;
    r = keyring_find(&known, c, p->id);
    if (r == 0) {
        if (memcmp(known.key, pinned.key, sizeof(known.key)) != 0)
            log_warn(MOD,
                     "the peer's key differs from the origin key known "
                     "here; its catalogue is checked with its pinned key",
                     "peer", p->id, NULL);
        return;
    }
    if (r != OER_ENOTFOUND)
        return;
    if (keyring_introduce(c, p->id, &pinned, p->id) == 0)
        log_info(MOD, "origin key recorded: the peer's pinned key", "peer",
                 p->id, NULL);
}

static void on_up(const char *id, void *arg)
{
    struct session *s = arg;
    struct speer *p = speer_of(s, id);

    if (p == NULL || s->peers == NULL)
        return;
    reset(p);
    p->up = 1;
    record_peer_key(p);
    offer_heads(p, 1);
}

static void on_down(const char *id, void *arg)
{
    struct speer *p = speer_of(arg, id);

    if (p == NULL)
        return;
    reset(p);
    p->up = 0;
}

static void on_message(const char *id, const struct message *m, void *arg)
{
    struct session *s = arg;
    struct speer *p = speer_of(s, id);

    if (p == NULL || !p->up || s->stopping)
        return;
    log_debug(MOD, "message received", "peer", id, "type",
              message_type_name(m->type), NULL);
    p->last_rx = uv_now(s->loop);
    p->heads_seen |= m->type == MESSAGE_HEADS;
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
        if (handlers[i].type == m->type) {
            handlers[i].fn(p, m);
            return;
        }
    }
}

/* ---- the session ---- */

int session_new(struct session **out, uv_loop_t *loop,
                const struct session_options *opt)
{
    struct session *s = calloc(1, sizeof(*s));
    char *vocab;
    int err;

    *out = NULL;
    if (s == NULL)
        return OER_ENOMEM;
    s->loop = loop;
    s->opt = *opt;
    if (s->opt.poll_ms == 0)
        s->opt.poll_ms = SESSION_POLL_MS;
    vocab = api_search_vocab_dir(opt->config);
    err = vocab == NULL ? OER_ENOMEM
                        : policy_new(&s->policy, opt->config, vocab);
    free(vocab);
    if (err == 0)
        err = store_open(&s->store, opt->repo_path);
    if (err != 0) {
        policy_free(s->policy);
        free(s);
        return err;
    }
    uv_timer_init(loop, &s->poll);
    uv_timer_init(loop, &s->drain);
    s->poll.data = s;
    s->drain.data = s;
    s->handles = 2;
    *out = s;
    return 0;
}

void session_hook(struct peer_options *o, struct session *s)
{
    o->on_up = on_up;
    o->on_message = on_message;
    o->on_down = on_down;
    o->arg = s;
    if (o->key != NULL) {
        identity_public(&s->own, o->key);
        s->has_own = 1;
    }
}

int session_settled(const struct session *s, const char *id, unsigned quiet_ms)
{
    const struct speer *p;

    for (p = s->list; p != NULL; p = p->next) {
        if (strcmp(p->id, id) == 0)
            break;
    }
    if (p == NULL || !p->up || !p->heads_seen || p->fetching || p->verifying ||
        p->packing || p->wanting || p->serving || s->jobs > 0)
        return 0;
    return uv_now(s->loop) - p->last_rx >= quiet_ms;
}

void session_attach(struct session *s, struct peer_table *t)
{
    s->peers = t;
    uv_timer_start(&s->poll, on_poll, s->opt.poll_ms, s->opt.poll_ms);
}

static void on_closed(uv_handle_t *h)
{
    struct session *s = h->data;

    s->handles--;
    maybe_free(s);
}

void session_stop(struct session *s)
{
    if (s == NULL)
        return;
    s->stopping = 1;
    s->peers = NULL;
    uv_close((uv_handle_t *)&s->poll, on_closed);
    uv_close((uv_handle_t *)&s->drain, on_closed);
}
