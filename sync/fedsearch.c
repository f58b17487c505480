/*
 * fedsearch: SEARCH and RESULTS between this node and its connected
 * peers.  The loop thread sends, receives and keeps the table of
 * questions; workers answer peers from the index and wait for peers'
 * answers.  One mutex guards what both touch (the questions and their
 * answers); one condition variable wakes the waiting askers.
 */
#include "sync/fedsearch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/api_search.h"
#include "node/error.h"
#include "node/log.h"
#include "node/store.h"
#include "sync/policy.h"

#define MOD "search"
#define NAME_CAP (LIMIT_NAME + 1)
#define SCORE_MAX 1000000
#define SCORE_STEP 1000
#define NS_PER_MS 1000000ull
/* names of held origins in one SEARCH: half the smallest frame limit,
 * and msgpack's header of a string of up to 255 bytes */
#define HELD_BYTES (LIMIT_FRAME_MIN / 2)
#define HELD_OVERHEAD 2

/* A query whose strings it owns, and the origins its asker holds. */
struct owned_query {
    struct index_query q;
    char *text, *system, *lang;
    char *vals[INDEX_FACETS][INDEX_FILTER_VALUES];
    char **held;
    size_t nheld;
};

/* A connected peer, as the hooks report it (loop thread only). */
struct fpeer {
    char id[NAME_CAP];
    unsigned gen; /* bumped on every up and down: older answers dropped */
    int up;
    int busy; /* its SEARCHes being answered */
    struct fedsearch_rate in, out; /* its SEARCHes; this node's to it */
    int quiet; /* a refusal for its rate logged, none answered since */
    struct fpeer *next;
};

enum ask_state {
    ASK_WAITING,
    ASK_ANSWERED,
    ASK_REFUSED,
    ASK_DOWN,
    ASK_SKIPPED /* not asked: over its rate, or too many unanswered */
};

/* One peer asked, and what it answered. */
struct ask_peer {
    char id[NAME_CAP];
    enum ask_state state;
    uint64_t ms;
    struct message_hit *hits; /* copies, strings owned */
    size_t nhits;
    char *error;
};

struct fedsearch_ask {
    struct fedsearch *f;
    uint64_t id;
    uint64_t start, deadline; /* uv_hrtime */
    unsigned wait_ms;
    int queued; /* in f->asks; else the worker's alone */
    struct owned_query oq;
    /* under f->lock */
    int picked, sent, abandoned;
    struct ask_peer *peers;
    size_t npeers, nwaiting;
    struct fedsearch_ask *next;
    struct fedsearch_ask *send_next; /* the loop's, while it sends */
    /* fedsearch_ask_await's, on the loop thread */
    fedsearch_done_cb done; /* NULL: nobody awaits, or called already */
    void *done_arg;
    uv_timer_t timer; /* the deadline, while timer_open */
    int timer_open;
};

struct fedsearch {
    uv_loop_t *loop;
    struct fedsearch_options opt;
    struct peer_table *peers;
    struct peer_options next; /* the hooks f stands in front of */
    uv_async_t async;
    uv_mutex_t lock;
    uv_cond_t cond;
    int stopping; /* written on the loop, under lock */
    unsigned nup; /* peers up: written on the loop, under lock */
    uint64_t next_id;
    struct fedsearch_ask *asks;
    struct fpeer *list;
};

/* A SEARCH of a peer being answered on a worker. */
struct answer_job {
    uv_work_t req;
    struct fedsearch *f;
    struct fpeer *p;
    unsigned gen;
    uint64_t id;
    uint64_t deadline; /* uv_now */
    struct owned_query oq;
    struct message_results res;
    int err;
};

/* ---- pure parts ---- */

int fedsearch_rate_take(struct fedsearch_rate *r, unsigned rate,
                        uint64_t now_ms)
{
    uint64_t full = (uint64_t)rate * FEDSEARCH_BURST_S * 1000;

    if (!r->started) {
        r->started = 1;
        r->credit = full;
        r->at = now_ms;
    }
    if (now_ms > r->at) {
        /* rate a second is rate thousandths a millisecond: the burst's
         * seconds fill it whatever was left */
        uint64_t ms = now_ms - r->at;
        uint64_t add = ms < FEDSEARCH_BURST_S * 1000ull ? ms * rate : full;

        r->credit = add >= full - r->credit ? full : r->credit + add;
        r->at = now_ms;
    }
    if (r->credit < 1000)
        return 0;
    r->credit -= 1000;
    return 1;
}

static int is_facet(const char *key)
{
    for (int k = 0; k < INDEX_FACETS; k++) {
        if (strcmp(key, index_facet_name((enum index_facet)k)) == 0)
            return 1;
    }
    return 0;
}

int fedsearch_query(struct index_query *q, const struct message_search *m,
                    const char **why)
{
    const char *text = m->query != NULL ? m->query : "";
    char *fts = NULL;
    int err;

    memset(q, 0, sizeof(*q));
    q->limit = INDEX_LIMIT_MAX;
    *why = NULL;
    err = index_query_fts(&fts, text);
    free(fts);
    if (err != 0) {
        *why = err == OER_ENOMEM ? "out of memory"
                                 : "query: at most 1000 bytes of UTF-8 text"
                                   ", and 32 words";
        return err == OER_ENOMEM ? OER_ENOMEM : OER_EINVAL;
    }
    q->text = text;
    /* the asker's system and language, through the API's checks */
    if (m->system != NULL && m->system[0] != '\0' &&
        api_search_arg(q, "system", m->system, why) != 0)
        return OER_EINVAL;
    if (m->lang != NULL && m->lang[0] != '\0' &&
        api_search_arg(q, "lang", m->lang, why) != 0)
        return OER_EINVAL;
    for (size_t i = 0; i < m->nfilters; i++) {
        const struct message_filter *mf = &m->filters[i];

        if (mf->key == NULL || !is_facet(mf->key)) {
            *why = "unknown filter";
            return OER_EINVAL;
        }
        for (size_t j = 0; j < mf->nvalues; j++) {
            if (api_search_arg(q, mf->key, mf->values[j], why) != 0)
                return OER_EINVAL;
        }
    }
    return 0;
}

int fedsearch_offers(const struct config *c, const char *peer,
                     const char *origin)
{
    /* the asker holds its own catalogue: its hits would be dropped */
    return strcmp(origin, peer) != 0 && policy_config_offers(c, peer, origin);
}

/* The origin of a resource id, cut into out (empty when it has none). */
static void origin_of(char out[NAME_CAP], const char *id)
{
    const char *slash = strchr(id, '/');
    size_t n = slash != NULL ? (size_t)(slash - id) : 0;

    if (n >= NAME_CAP)
        n = 0;
    memcpy(out, id, n);
    out[n] = '\0';
}

/* Bytes of s to keep within max, not cutting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* A copy of title within FEDSEARCH_TITLE_MAX bytes; NULL without memory. */
static char *cut_title(const char *title)
{
    size_t n = utf8_cut(title, FEDSEARCH_TITLE_MAX);
    char *t = malloc(n + 1);

    if (t != NULL) {
        memcpy(t, title, n);
        t[n] = '\0';
    }
    return t;
}

static int add_hit(struct message_results *out, const char *id,
                   const char *title, size_t place)
{
    struct message_hit *h = &out->hits[out->nhits];
    char *t = cut_title(title);

    h->id = strdup(id);
    h->title = t;
    h->score = place < SCORE_MAX / SCORE_STEP ? SCORE_MAX - SCORE_STEP * place
                                              : 0;
    out->nhits++;
    return h->id == NULL || t == NULL ? OER_ENOMEM : 0;
}

/* Take the offered hits of one page; the page's hit count, or an error. */
static int among(const char *origin, const char *const *held, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(origin, held[i]) == 0)
            return 1;
    }
    return 0;
}

static long take_page(struct message_results *out, const json_t *page,
                      long offset, const struct config *c, const char *peer,
                      const char *const *held, size_t nheld)
{
    const json_t *hits = json_object_get(page, "hits");
    char origin[NAME_CAP];
    size_t i;
    int err = 0;

    for (i = 0; i < json_array_size(hits) && err == 0; i++) {
        const json_t *h = json_array_get(hits, i);
        const char *id = json_string_value(json_object_get(h, "id"));
        const char *title = json_string_value(json_object_get(h, "title"));

        if (id == NULL || out->nhits >= FEDSEARCH_HITS)
            continue;
        origin_of(origin, id);
        if (origin[0] != '\0' && fedsearch_offers(c, peer, origin) &&
            !among(origin, held, nheld))
            err = add_hit(out, id, title != NULL ? title : "",
                          (size_t)offset + i);
    }
    return err != 0 ? err : (long)json_array_size(hits);
}

int fedsearch_answer(struct message_results *out, struct index *ix,
                     struct index_query *q, const struct config *c,
                     const char *peer, const char *const *held, size_t nheld)
{
    long n = INDEX_LIMIT_MAX;
    int err = 0;

    memset(out, 0, sizeof(*out));
    out->error = "";
    out->hits = calloc(FEDSEARCH_HITS, sizeof(*out->hits));
    if (out->hits == NULL)
        return OER_ENOMEM;
    q->limit = INDEX_LIMIT_MAX;
    q->offset = 0;
    while (err == 0 && n == INDEX_LIMIT_MAX && out->nhits < FEDSEARCH_HITS &&
           q->offset < FEDSEARCH_SCAN) {
        json_t *page = NULL;

        err = index_search(&page, ix, q);
        if (err == 0)
            n = take_page(out, page, q->offset, c, peer, held, nheld);
        if (n < 0)
            err = (int)n;
        json_decref(page);
        q->offset += INDEX_LIMIT_MAX;
    }
    if (err != 0)
        fedsearch_results_clear(out);
    return err;
}

void fedsearch_results_clear(struct message_results *r)
{
    for (size_t i = 0; r->hits != NULL && i < r->nhits; i++) {
        free((char *)r->hits[i].id);
        free((char *)r->hits[i].title);
    }
    free(r->hits);
    r->hits = NULL;
    r->nhits = 0;
}

/* A remote hit and its place, for ordering by score. */
struct ranked {
    const json_t *hit;
    json_int_t score;
    size_t at;
};

static int by_score(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Append remote hits to hits, best first, skipping ids in seen. */
static int merge_remote(json_t *hits, json_t *seen, const json_t *rhits,
                        long limit)
{
    size_t n = json_array_size(rhits), added = 0;
    struct ranked *r = calloc(n + 1, sizeof(*r));
    int err = r == NULL ? OER_ENOMEM : 0;

    for (size_t i = 0; err == 0 && i < n; i++) {
        r[i].hit = json_array_get(rhits, i);
        r[i].score = json_integer_value(json_object_get(r[i].hit, "score"));
        r[i].at = i;
    }
    if (err == 0)
        qsort(r, n, sizeof(*r), by_score);
    for (size_t i = 0; err == 0 && i < n && (long)added < limit; i++) {
        const char *id = json_string_value(json_object_get(r[i].hit, "id"));

        if (id == NULL || json_object_get(seen, id) != NULL)
            continue;
        if (json_object_set_new(seen, id, json_true()) != 0 ||
            json_array_append_new(hits, json_copy((json_t *)r[i].hit)) != 0)
            err = OER_ENOMEM;
        added++;
    }
    free(r);
    return err;
}

int fedsearch_merge(json_t *answer, const json_t *remote, long limit)
{
    json_t *hits = json_object_get(answer, "hits");
    json_t *seen = json_object(), *h, *peers;
    size_t i;
    int err = seen == NULL || !json_is_array(hits) ? OER_ENOMEM : 0;

    json_array_foreach(hits, i, h)
    {
        const char *id = json_string_value(json_object_get(h, "id"));

        if (err == 0 && (json_object_set_new(h, "source",
                                             json_string("local")) != 0 ||
                         (id != NULL &&
                          json_object_set_new(seen, id, json_true()) != 0)))
            err = OER_ENOMEM;
    }
    if (err == 0 && remote != NULL)
        err = merge_remote(hits, seen, json_object_get(remote, "hits"), limit);
    peers = remote != NULL ? json_object_get(remote, "peers") : NULL;
    if (err == 0 && json_object_set_new(answer, "peers",
                                        peers != NULL ? json_deep_copy(peers)
                                                      : json_array()) != 0)
        err = OER_ENOMEM;
    json_decref(seen);
    return err;
}

/* ---- queries that own their strings ---- */

static void owned_clear(struct owned_query *o)
{
    free(o->text);
    free(o->system);
    free(o->lang);
    for (int k = 0; k < INDEX_FACETS; k++) {
        for (size_t i = 0; i < INDEX_FILTER_VALUES; i++)
            free(o->vals[k][i]);
    }
    for (size_t i = 0; i < o->nheld; i++)
        free(o->held[i]);
    free(o->held);
    memset(o, 0, sizeof(*o));
}

/* A copy of s into *out (NULL stays NULL); 0 or OER_ENOMEM. */
static int owned_str(char **out, const char *s)
{
    *out = s != NULL ? strdup(s) : NULL;
    return s != NULL && *out == NULL ? OER_ENOMEM : 0;
}

/* Keep origin among the origins o's asker holds; 0 or OER_ENOMEM. */
static int owned_held(struct owned_query *o, const char *origin)
{
    char **grown = realloc(o->held, (o->nheld + 1) * sizeof(*grown));

    if (grown == NULL)
        return OER_ENOMEM;
    o->held = grown;
    o->held[o->nheld] = strdup(origin);
    if (o->held[o->nheld] == NULL)
        return OER_ENOMEM;
    o->nheld++;
    return 0;
}

static int owned_copy(struct owned_query *o, const struct index_query *q)
{
    int err = 0;

    memset(o, 0, sizeof(*o));
    o->q.limit = q->limit;
    o->text = strdup(q->text != NULL ? q->text : "");
    o->q.text = o->text;
    if (o->text == NULL)
        err = OER_ENOMEM;
    if (err == 0)
        err = owned_str(&o->system, q->system);
    if (err == 0)
        err = owned_str(&o->lang, q->lang);
    o->q.system = o->system;
    o->q.lang = o->lang;
    for (int k = 0; err == 0 && k < INDEX_FACETS; k++) {
        for (size_t i = 0; err == 0 && i < q->nfilters[k] &&
                           i < INDEX_FILTER_VALUES;
             i++) {
            o->vals[k][i] = strdup(q->filters[k][i]);
            o->q.filters[k][i] = o->vals[k][i];
            o->q.nfilters[k]++;
            if (o->vals[k][i] == NULL)
                err = OER_ENOMEM;
        }
    }
    if (err != 0)
        owned_clear(o);
    return err;
}

/* ---- the peers, as the hooks report them ---- */

static struct fpeer *fpeer_of(struct fedsearch *f, const char *id)
{
    struct fpeer *p;

    for (p = f->list; p != NULL; p = p->next) {
        if (strcmp(p->id, id) == 0)
            return p;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->next = f->list;
    f->list = p;
    return p;
}

static int send_msg(struct fedsearch *f, const char *id,
                    const struct message *m)
{
    int r = f->peers != NULL ? peer_table_send(f->peers, id, m)
                             : OER_ENOTFOUND;

    if (r >= 0)
        log_debug(MOD, "message sent", "peer", id, "type",
                  message_type_name(m->type), NULL);
    return r;
}

/* search.peer-rate */
static unsigned rate_of(const struct fedsearch *f)
{
    return f->opt.config != NULL ? f->opt.config->search_peer_rate
                                 : CONFIG_PEER_RATE;
}

/* ---- answering a peer's SEARCH ---- */

static void reply(struct fedsearch *f, struct fpeer *p, uint64_t id,
                  const struct message_results *res)
{
    struct message m = {.type = MESSAGE_RESULTS};

    m.u.results = *res;
    m.u.results.id = id;
    send_msg(f, p->id, &m);
}

static void refuse(struct fedsearch *f, struct fpeer *p, uint64_t id,
                   const char *why)
{
    struct message_results res = {.error = why};

    log_info(MOD, "search refused", "peer", p->id, "reason", why, NULL);
    reply(f, p, id, &res);
}

/* A SEARCH over the peer's rate is refused; logged once until one is
 * answered again, so that a flood does not flood the log. */
static void over_rate(struct fedsearch *f, struct fpeer *p, uint64_t id)
{
    struct message_results res = {.error = "rate"};
    char n[24];

    if (!p->quiet)
        log_warn(MOD, "searches refused: over search.peer-rate", "peer",
                 p->id, "rate", log_num(n, rate_of(f)), NULL);
    p->quiet = 1;
    reply(f, p, id, &res);
}

/* A peer's SEARCH, answered on a worker from a pooled connection to the
 * index, as the API's searches are. */
static void answer_work(uv_work_t *req)
{
    struct answer_job *j = req->data;
    struct index *ix = NULL;

    j->err = api_search_take(&ix, j->f->opt.repo_path, j->f->opt.vocab_dir);
    if (j->err == 0)
        j->err = fedsearch_answer(&j->res, ix, &j->oq.q, j->f->opt.config,
                                  j->p->id, (const char *const *)j->oq.held,
                                  j->oq.nheld);
    if (j->err == 0)
        index_pool_give(ix);
    else
        index_free(ix);
}

static void after_answer(uv_work_t *req, int status)
{
    struct answer_job *j = req->data;
    struct fedsearch *f = j->f;
    char ms[24];

    j->p->busy--;
    if (f->stopping || !j->p->up || j->p->gen != j->gen) {
        /* the connection it came on is gone */
    } else if (uv_now(f->loop) > j->deadline) {
        log_debug(MOD, "search answer too late", "peer", j->p->id, NULL);
    } else if (status != 0 || j->err != 0) {
        log_warn(MOD, "search failed", "peer", j->p->id, "err",
                 error_name(status != 0 ? OER_EIO : j->err), NULL);
        refuse(f, j->p, j->id, "the index cannot be read");
    } else {
        log_debug(MOD, "search answered", "peer", j->p->id, "hits",
                  log_num(ms, (long long)j->res.nhits), NULL);
        reply(f, j->p, j->id, &j->res);
    }
    fedsearch_results_clear(&j->res);
    owned_clear(&j->oq);
    free(j);
}

static void on_search(struct fedsearch *f, struct fpeer *p,
                      const struct message_search *m)
{
    struct index_query q;
    struct answer_job *j;
    const char *why;
    uint64_t wait = m->deadline_ms;
    int err;

    if (wait == 0)
        return; /* nobody waits for the answer */
    if (p->busy >= FEDSEARCH_BUSY) {
        refuse(f, p, m->id, "busy");
        return;
    }
    if (!fedsearch_rate_take(&p->in, rate_of(f), uv_now(f->loop))) {
        over_rate(f, p, m->id);
        return;
    }
    p->quiet = 0;
    if (fedsearch_query(&q, m, &why) != 0) {
        refuse(f, p, m->id, why);
        return;
    }
    j = calloc(1, sizeof(*j));
    err = j != NULL ? owned_copy(&j->oq, &q) : OER_ENOMEM;
    for (size_t i = 0; err == 0 && i < m->nheld; i++)
        err = owned_held(&j->oq, m->held[i]);
    if (err != 0) {
        if (j != NULL)
            owned_clear(&j->oq);
        free(j);
        refuse(f, p, m->id, "out of memory");
        return;
    }
    j->req.data = j;
    j->f = f;
    j->p = p;
    j->gen = p->gen;
    j->id = m->id;
    j->deadline = uv_now(f->loop) +
                  (wait < FEDSEARCH_WAIT_MAX ? wait : FEDSEARCH_WAIT_MAX);
    p->busy++;
    if (uv_queue_work(f->loop, &j->req, answer_work, after_answer) != 0) {
        p->busy--;
        owned_clear(&j->oq);
        free(j);
        refuse(f, p, m->id, "cannot run the search now");
    }
}

/* ---- asking: the loop's side ---- */

static void free_ask(struct fedsearch_ask *a)
{
    for (size_t i = 0; i < a->npeers; i++) {
        struct ask_peer *ap = &a->peers[i];

        for (size_t k = 0; k < ap->nhits; k++) {
            free((char *)ap->hits[k].id);
            free((char *)ap->hits[k].title);
        }
        free(ap->hits);
        free(ap->error);
    }
    free(a->peers);
    owned_clear(&a->oq);
    free(a);
}

size_t fedsearch_held_fitting(const char *const *held, size_t nheld)
{
    size_t n = 0, bytes = 0;

    for (; n < nheld && n < LIMIT_HELD; n++) {
        bytes += strlen(held[n]) + HELD_OVERHEAD;
        if (bytes > HELD_BYTES)
            break;
    }
    return n;
}

/* The SEARCH of a, with what is left of its wait as the deadline. */
static void search_of(struct message *m, struct message_filter *mf,
                      const struct fedsearch_ask *a, uint64_t left)
{
    size_t n = 0;

    m->type = MESSAGE_SEARCH;
    m->u.search.id = a->id;
    m->u.search.query = a->oq.text;
    m->u.search.deadline_ms = left;
    for (int k = 0; k < INDEX_FACETS; k++) {
        if (a->oq.q.nfilters[k] == 0)
            continue;
        mf[n].key = index_facet_name((enum index_facet)k);
        mf[n].values = (const char **)a->oq.q.filters[k];
        mf[n++].nvalues = a->oq.q.nfilters[k];
    }
    m->u.search.filters = mf;
    m->u.search.nfilters = n;
    m->u.search.held = (const char **)a->oq.held;
    m->u.search.nheld =
        fedsearch_held_fitting((const char *const *)a->oq.held, a->oq.nheld);
    m->u.search.system = a->oq.system;
    m->u.search.lang = a->oq.lang;
}

static void await_check(struct fedsearch_ask *a, int force);
static void await_all(struct fedsearch *f, int force);

/* This node's questions that peer id has still to answer; under f->lock. */
static int unanswered(const struct fedsearch *f, const char *id)
{
    int n = 0;

    for (const struct fedsearch_ask *a = f->asks; a != NULL; a = a->next) {
        for (size_t i = 0; !a->abandoned && i < a->npeers; i++)
            n += a->peers[i].state == ASK_WAITING &&
                 strcmp(a->peers[i].id, id) == 0;
    }
    return n;
}

/* Whether p may be asked one more question; else why not in *why. */
static int may_ask(struct fedsearch *f, struct fpeer *p, const char **why)
{
    int waiting;

    uv_mutex_lock(&f->lock);
    waiting = unanswered(f, p->id);
    uv_mutex_unlock(&f->lock);
    /* it would refuse it as busy */
    if (waiting >= FEDSEARCH_BUSY) {
        *why = "busy: as many searches unanswered as it answers at once";
        return 0;
    }
    if (!fedsearch_rate_take(&p->out, rate_of(f), uv_now(f->loop))) {
        *why = "rate: over search.peer-rate searches a second asked";
        return 0;
    }
    return 1;
}

static void send_ask(struct fedsearch *f, struct fedsearch_ask *a)
{
    struct message m;
    struct message_filter mf[INDEX_FACETS];
    uint64_t spent = (uv_hrtime() - a->start) / NS_PER_MS;
    struct ask_peer *list = NULL;
    size_t n = 0, k = 0, waiting = 0;
    const char *why;

    for (struct fpeer *p = f->list; p != NULL; p = p->next)
        n += p->up;
    if (spent < a->wait_ms && n > 0)
        list = calloc(n, sizeof(*list));
    search_of(&m, mf, a, a->wait_ms - (spent < a->wait_ms ? spent : 0));
    for (struct fpeer *p = f->list; list != NULL && p != NULL; p = p->next) {
        if (!p->up)
            continue;
        if (!may_ask(f, p, &why)) {
            log_debug(MOD, "peer not asked", "peer", p->id, "reason", why,
                      NULL);
            list[k].error = strdup(why);
            list[k].state = ASK_SKIPPED;
        } else if (send_msg(f, p->id, &m) >= 0) {
            list[k].state = ASK_WAITING;
            waiting++;
        } else {
            continue;
        }
        snprintf(list[k].id, sizeof(list[k].id), "%s", p->id);
        k++;
    }
    uv_mutex_lock(&f->lock);
    a->peers = list;
    a->npeers = k;
    a->nwaiting = waiting;
    a->sent = 1;
    uv_cond_broadcast(&f->cond);
    uv_mutex_unlock(&f->lock);
    await_check(a, 0);
}

/* New questions go out; questions their askers gave up are freed. */
static void on_async(uv_async_t *h)
{
    struct fedsearch *f = h->data;
    struct fedsearch_ask *dead = NULL, *todo = NULL, *a, **pp;

    uv_mutex_lock(&f->lock);
    for (pp = &f->asks; *pp != NULL;) {
        a = *pp;
        if (a->abandoned) {
            *pp = a->next;
            a->next = dead;
            dead = a;
            continue;
        }
        if (!a->picked) {
            a->picked = 1;
            a->send_next = todo;
            todo = a;
        }
        pp = &a->next;
    }
    uv_mutex_unlock(&f->lock);
    for (; dead != NULL; dead = a) {
        a = dead->next;
        free_ask(dead);
    }
    for (; todo != NULL; todo = todo->send_next) {
        if (!f->stopping)
            send_ask(f, todo);
    }
}

static struct ask_peer *asked(struct fedsearch *f, uint64_t id,
                              const char *peer)
{
    for (struct fedsearch_ask *a = f->asks; a != NULL; a = a->next) {
        if (a->id != id || a->abandoned)
            continue;
        for (size_t i = 0; i < a->npeers; i++) {
            if (strcmp(a->peers[i].id, peer) == 0 &&
                a->peers[i].state == ASK_WAITING)
                return &a->peers[i];
        }
    }
    return NULL;
}

static struct fedsearch_ask *ask_of(struct fedsearch *f, uint64_t id)
{
    struct fedsearch_ask *a;

    for (a = f->asks; a != NULL && a->id != id; a = a->next)
        ;
    return a;
}

/* Copy the hits of r into ap; under f->lock. */
static int keep_hits(struct ask_peer *ap, const struct message_results *r)
{
    /* at most what this node would send: FEDSEARCH_HITS hits, titles
     * cut on a character (a peer may send more, up to the protocol's) */
    size_t n = r->nhits < FEDSEARCH_HITS ? r->nhits : FEDSEARCH_HITS;

    ap->hits = calloc(n + 1, sizeof(*ap->hits));
    if (ap->hits == NULL)
        return OER_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct message_hit *h = &ap->hits[ap->nhits];

        h->id = strdup(r->hits[i].id);
        h->title = cut_title(r->hits[i].title);
        h->score = r->hits[i].score;
        if (h->id == NULL || h->title == NULL) {
            free((char *)h->id);
            free((char *)h->title);
            h->id = h->title = NULL;
            return OER_ENOMEM;
        }
        ap->nhits++;
    }
    return 0;
}

static void on_results(struct fedsearch *f, struct fpeer *p,
                       const struct message_results *r)
{
    struct ask_peer *ap;
    struct fedsearch_ask *a = NULL;
    int err = 0;

    uv_mutex_lock(&f->lock);
    ap = asked(f, r->id, p->id);
    if (ap != NULL) {
        a = ask_of(f, r->id);
        ap->ms = (uv_hrtime() - a->start) / NS_PER_MS;
        if (r->error != NULL && r->error[0] != '\0')
            ap->error = strdup(r->error);
        else
            err = keep_hits(ap, r);
        ap->state = r->error != NULL && r->error[0] != '\0' ? ASK_REFUSED
                                                            : ASK_ANSWERED;
        a->nwaiting--;
        uv_cond_broadcast(&f->cond);
    }
    uv_mutex_unlock(&f->lock);
    if (a != NULL)
        await_check(a, 0);
    if (ap == NULL)
        log_debug(MOD, "results dropped: late or not asked", "peer", p->id,
                  NULL);
    if (err != 0)
        log_warn(MOD, "results cut: out of memory", "peer", p->id, NULL);
}

/* Every question still waiting for peer id stops waiting for it. */
static void peer_gone(struct fedsearch *f, const char *id)
{
    uv_mutex_lock(&f->lock);
    for (struct fedsearch_ask *a = f->asks; a != NULL; a = a->next) {
        for (size_t i = 0; a->sent && i < a->npeers; i++) {
            if (a->peers[i].state != ASK_WAITING ||
                strcmp(a->peers[i].id, id) != 0)
                continue;
            a->peers[i].state = ASK_DOWN;
            a->nwaiting--;
        }
    }
    uv_cond_broadcast(&f->cond);
    uv_mutex_unlock(&f->lock);
    await_all(f, 0);
}

/* ---- the peer table's hooks ---- */

/* Mark p up or down, and count the peers up for the askers. */
static void set_up(struct fedsearch *f, struct fpeer *p, int up)
{
    uv_mutex_lock(&f->lock);
    if (up && !p->up)
        f->nup++;
    else if (!up && p->up)
        f->nup--;
    p->up = up;
    uv_mutex_unlock(&f->lock);
}

static void on_up(const char *id, void *arg)
{
    struct fedsearch *f = arg;
    struct fpeer *p = fpeer_of(f, id);

    if (p != NULL) {
        p->gen++;
        set_up(f, p, 1);
    }
    if (f->next.on_up != NULL)
        f->next.on_up(id, f->next.arg);
}

static void on_down(const char *id, void *arg)
{
    struct fedsearch *f = arg;
    struct fpeer *p = fpeer_of(f, id);

    if (p != NULL) {
        p->gen++;
        set_up(f, p, 0);
    }
    peer_gone(f, id);
    if (f->next.on_down != NULL)
        f->next.on_down(id, f->next.arg);
}

static void on_message(const char *id, const struct message *m, void *arg)
{
    struct fedsearch *f = arg;
    struct fpeer *p;

    if (m->type != MESSAGE_SEARCH && m->type != MESSAGE_RESULTS) {
        if (f->next.on_message != NULL)
            f->next.on_message(id, m, f->next.arg);
        return;
    }
    p = fpeer_of(f, id);
    if (p == NULL || !p->up || f->stopping)
        return;
    log_debug(MOD, "message received", "peer", id, "type",
              message_type_name(m->type), NULL);
    if (m->type == MESSAGE_SEARCH)
        on_search(f, p, &m->u.search);
    else
        on_results(f, p, &m->u.results);
}

/* ---- asking: the worker's side ---- */

static int holds(const struct fedsearch_ask *a, const char *origin)
{
    return among(origin, (const char *const *)a->oq.held, a->oq.nheld);
}

/* The origins held here, which the local index answers for: the peers
 * are told (SEARCH held) and their hits of them dropped on arrival. */
static void note_held(struct fedsearch_ask *a)
{
    json_t *heads = NULL, *head;
    const char *origin;

    if (store_heads(&heads, a->f->opt.repo_path) == 0) {
        json_object_foreach(heads, origin, head) {
            if (owned_held(&a->oq, origin) != 0)
                break;
        }
    }
    json_decref(heads);
}

int fedsearch_ask_start(struct fedsearch_ask **out, struct fedsearch *f,
                        const struct index_query *q, unsigned wait_ms)
{
    struct fedsearch_ask *a = calloc(1, sizeof(*a));
    int up;

    *out = NULL;
    if (a == NULL || owned_copy(&a->oq, q) != 0) {
        free(a);
        return OER_ENOMEM;
    }
    a->f = f;
    a->wait_ms = wait_ms < FEDSEARCH_WAIT_MAX ? wait_ms : FEDSEARCH_WAIT_MAX;
    a->start = uv_hrtime();
    a->deadline = a->start + a->wait_ms * NS_PER_MS;
    /* with no peer up, nobody is asked and the loop is not woken */
    uv_mutex_lock(&f->lock);
    up = !f->stopping && a->wait_ms > 0 && f->nup > 0;
    uv_mutex_unlock(&f->lock);
    if (up)
        note_held(a);
    uv_mutex_lock(&f->lock);
    if (up && !f->stopping) {
        a->id = ++f->next_id;
        a->queued = 1;
        a->next = f->asks;
        f->asks = a;
        uv_async_send(&f->async);
    }
    uv_mutex_unlock(&f->lock);
    *out = a;
    return 0;
}

static const char *state_name(enum ask_state s, int stopping)
{
    static const char *const names[] = {"timeout", "answered", "refused",
                                        "down", "skipped"};

    return s == ASK_WAITING && stopping ? "stopped" : names[s];
}

/* One peer's entry and hits into doc; under f->lock. */
static int report_peer(json_t *doc, const struct fedsearch_ask *a,
                       const struct ask_peer *ap, int stopping)
{
    json_t *hits = json_object_get(doc, "hits");
    json_t *p = json_pack("{s:s,s:s,s:I}", "id", ap->id, "status",
                          state_name(ap->state, stopping), "hits",
                          (json_int_t)ap->nhits);
    char origin[NAME_CAP];
    int err = p == NULL ? OER_ENOMEM : 0;

    if (err == 0 && ap->state != ASK_WAITING && ap->state != ASK_SKIPPED)
        json_object_set_new(p, "ms", json_integer((json_int_t)ap->ms));
    if (err == 0 && ap->error != NULL)
        json_object_set_new(p, "error", json_string(ap->error));
    if (err == 0 && json_array_append_new(json_object_get(doc, "peers"), p))
        err = OER_ENOMEM;
    for (size_t i = 0; err == 0 && i < ap->nhits; i++) {
        const struct message_hit *h = &ap->hits[i];

        origin_of(origin, h->id);
        if (origin[0] == '\0' || holds(a, origin))
            continue;
        if (json_array_append_new(
                hits, json_pack("{s:s,s:s,s:I,s:s}", "id", h->id, "title",
                                h->title, "score", (json_int_t)h->score,
                                "source", ap->id)) != 0)
            err = OER_ENOMEM;
    }
    return err;
}

/* What the peers of a answered, as fedsearch_ask_finish returns it;
 * under f->lock. */
static json_t *report(const struct fedsearch_ask *a)
{
    json_t *doc = json_pack("{s:[],s:[]}", "hits", "peers");

    for (size_t i = 0; doc != NULL && i < a->npeers; i++) {
        if (report_peer(doc, a, &a->peers[i], a->f->stopping) != 0) {
            json_decref(doc);
            doc = NULL;
        }
    }
    return doc;
}

/* Hand a, which nobody waits for any more, to the loop to free; under
 * f->lock. */
static void abandon(struct fedsearch_ask *a)
{
    a->abandoned = 1;
    if (!a->f->stopping)
        uv_async_send(&a->f->async);
}

json_t *fedsearch_ask_finish(struct fedsearch_ask *a)
{
    struct fedsearch *f = a->f;
    json_t *doc;
    uint64_t now;

    if (!a->queued) {
        free_ask(a);
        return json_pack("{s:[],s:[]}", "hits", "peers");
    }
    uv_mutex_lock(&f->lock);
    while (!f->stopping && !(a->sent && a->nwaiting == 0)) {
        now = uv_hrtime();
        if (now >= a->deadline)
            break;
        uv_cond_timedwait(&f->cond, &f->lock, a->deadline - now);
    }
    doc = report(a);
    abandon(a);
    uv_mutex_unlock(&f->lock);
    return doc;
}

void fedsearch_ask_drop(struct fedsearch_ask *a)
{
    if (!a->queued) {
        free_ask(a);
        return;
    }
    uv_mutex_lock(&a->f->lock);
    abandon(a);
    uv_mutex_unlock(&a->f->lock);
}

int fedsearch_ask_waits(const struct fedsearch_ask *a)
{
    return a->queued;
}

/* ---- asking: awaiting on the loop ---- */

static void on_ask_timer_closed(uv_handle_t *h)
{
    struct fedsearch_ask *a = h->data;

    uv_mutex_lock(&a->f->lock);
    a->timer_open = 0;
    abandon(a);
    uv_mutex_unlock(&a->f->lock);
}

/* Call a's awaiter when every peer asked has answered, its wait has
 * passed or f stops (now, with force); loop thread. */
static void await_check(struct fedsearch_ask *a, int force)
{
    struct fedsearch *f = a->f;
    fedsearch_done_cb done = NULL;
    void *arg = NULL;
    json_t *doc = NULL;

    uv_mutex_lock(&f->lock);
    if (a->done != NULL &&
        (force || f->stopping || (a->sent && a->nwaiting == 0) ||
         uv_hrtime() >= a->deadline)) {
        done = a->done;
        arg = a->done_arg;
        a->done = NULL;
        doc = report(a);
        /* freed once its timer is closed */
        if (a->timer_open)
            uv_close((uv_handle_t *)&a->timer, on_ask_timer_closed);
        else
            abandon(a);
    }
    uv_mutex_unlock(&f->lock);
    if (done != NULL)
        done(doc, arg);
}

static void on_ask_deadline(uv_timer_t *t)
{
    await_check(t->data, 1);
}

/* Every awaited question the loop has changed gets looked at. */
static void await_all(struct fedsearch *f, int force)
{
    struct fedsearch_ask *first;

    /* workers add at the head under the lock; only the loop unlinks */
    uv_mutex_lock(&f->lock);
    first = f->asks;
    uv_mutex_unlock(&f->lock);
    for (struct fedsearch_ask *a = first; a != NULL; a = a->next)
        await_check(a, force);
}

void fedsearch_ask_await(struct fedsearch_ask *a, fedsearch_done_cb cb,
                         void *arg)
{
    struct fedsearch *f = a->f;
    uint64_t now = uv_hrtime(), left_ms;

    if (!a->queued) {
        free_ask(a);
        cb(json_pack("{s:[],s:[]}", "hits", "peers"), arg);
        return;
    }
    a->done = cb;
    a->done_arg = arg;
    if (!f->stopping && now < a->deadline) {
        left_ms = (a->deadline - now + NS_PER_MS - 1) / NS_PER_MS;
        uv_timer_init(f->loop, &a->timer);
        a->timer.data = a;
        a->timer_open = 1;
        uv_timer_start(&a->timer, on_ask_deadline, left_ms, 0);
    }
    await_check(a, 0);
}

/* ---- the module ---- */

int fedsearch_new(struct fedsearch **out, uv_loop_t *loop,
                  const struct fedsearch_options *opt)
{
    struct fedsearch *f = calloc(1, sizeof(*f));

    *out = NULL;
    if (f == NULL)
        return OER_ENOMEM;
    if (uv_mutex_init(&f->lock) != 0) {
        free(f);
        return OER_ENOMEM;
    }
    if (uv_cond_init(&f->cond) != 0) {
        uv_mutex_destroy(&f->lock);
        free(f);
        return OER_ENOMEM;
    }
    f->loop = loop;
    f->opt = *opt;
    uv_async_init(loop, &f->async, on_async);
    f->async.data = f;
    *out = f;
    return 0;
}

void fedsearch_hook(struct peer_options *o, struct fedsearch *f)
{
    f->next.on_up = o->on_up;
    f->next.on_message = o->on_message;
    f->next.on_down = o->on_down;
    f->next.arg = o->arg;
    o->on_up = on_up;
    o->on_message = on_message;
    o->on_down = on_down;
    o->arg = f;
}

void fedsearch_attach(struct fedsearch *f, struct peer_table *t)
{
    f->peers = t;
}

void fedsearch_stop(struct fedsearch *f)
{
    if (f == NULL || f->stopping)
        return;
    uv_mutex_lock(&f->lock);
    f->stopping = 1;
    uv_cond_broadcast(&f->cond);
    uv_mutex_unlock(&f->lock);
    f->peers = NULL;
    uv_close((uv_handle_t *)&f->async, NULL);
    await_all(f, 1);
}

void fedsearch_free(struct fedsearch *f)
{
    struct fedsearch_ask *a;
    struct fpeer *p;

    if (f == NULL)
        return;
    while ((a = f->asks) != NULL) {
        f->asks = a->next;
        free_ask(a);
    }
    while ((p = f->list) != NULL) {
        f->list = p->next;
        free(p);
    }
    uv_cond_destroy(&f->cond);
    uv_mutex_destroy(&f->lock);
    free(f);
}
