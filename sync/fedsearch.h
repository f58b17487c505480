/*
 * fedsearch: federated search over the peer table, on the daemon's loop.
 * Answering: a peer's SEARCH is checked on the loop, run on a worker
 * thread against the local index, restricted to the catalogues policy
 * offers that peer, and answered with RESULTS within the asker's
 * deadline.  Asking: the worker thread that serves GET /api/search sends
 * SEARCH to every connected peer through the loop (uv_async) and waits,
 * up to a deadline, for their RESULTS.  docs/SYNC.md ("Federated search")
 * describes it.
 */
#ifndef OERNODE_FEDSEARCH_H
#define OERNODE_FEDSEARCH_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "config/config.h"
#include "federation/peer.h"
#include "node/index.h"
#include "protocol/message.h"

#define FEDSEARCH_WAIT_DEFAULT 300 /* ms an asker waits for its peers */
#define FEDSEARCH_WAIT_MAX 2000    /* the longest wait asked or answered */
#define FEDSEARCH_HITS 100         /* hits in one RESULTS */
#define FEDSEARCH_SCAN 1000        /* local hits looked at for one answer */
#define FEDSEARCH_TITLE_MAX 256    /* bytes of a title in RESULTS */
#define FEDSEARCH_BUSY 4           /* SEARCHes of one peer answered at once */
#define FEDSEARCH_BURST_S 2 /* seconds of search.peer-rate spent at once */

/*
 * The searches a second of one peer, asked or answered: a bucket that
 * holds FEDSEARCH_BURST_S seconds' worth and fills at rate a second.
 * Zeroed, it starts full.
 */
struct fedsearch_rate {
    uint64_t credit; /* thousandths of a search */
    uint64_t at;     /* ms of the last fill */
    int started;
};

/* Whether one more search fits r at now_ms (a monotonic clock), taking
 * it when so. */
int fedsearch_rate_take(struct fedsearch_rate *r, unsigned rate,
                        uint64_t now_ms);

/* What the module needs; borrowed for its life. */
struct fedsearch_options {
    const struct config *config; /* node id, policy */
    const char *repo_path;       /* the store's repository */
    const char *vocab_dir;       /* the index's vocabularies */
};

struct fedsearch;

/* One question to the peers, from its start to its answer. */
struct fedsearch_ask;

/*
 * A federated search on loop.  Returns 0 with *out the caller's (stop it
 * with fedsearch_stop, then free it with fedsearch_free once the loop has
 * returned), or OER_ENOMEM.  It does nothing until attached.
 */
int fedsearch_new(struct fedsearch **out, uv_loop_t *loop,
                  const struct fedsearch_options *opt);

/*
 * Put f in front of the hooks already in o (the session's): SEARCH and
 * RESULTS come to f, every other message and each on_up and on_down go
 * on to the hooks that were there.  Call it before peer_table_start.
 */
void fedsearch_hook(struct peer_options *o, struct fedsearch *f);

/* The table to send through (started with fedsearch_hook's options). */
void fedsearch_attach(struct fedsearch *f, struct peer_table *t);

/*
 * Stop on the loop thread: no more sending or answering, and every asker
 * still waiting returns at once with what it has.  Accepts NULL.
 */
void fedsearch_stop(struct fedsearch *f);

/* Free f once its loop has returned (no worker uses it any more).
 * Accepts NULL. */
void fedsearch_free(struct fedsearch *f);

/*
 * Asking, on a worker thread.  Start: q (its strings are copied) goes to
 * every peer connected when the loop picks it up, as SEARCH with
 * wait_ms (at most FEDSEARCH_WAIT_MAX) as its deadline.  Returns 0 with
 * *out to be given to fedsearch_ask_finish, or OER_ENOMEM.  When f is
 * stopping, wait_ms is 0 or no peer is connected, *out asks nobody (and
 * the loop is not woken for it).
 */
int fedsearch_ask_start(struct fedsearch_ask **out, struct fedsearch *f,
                        const struct index_query *q, unsigned wait_ms);

/*
 * Wait until every peer asked has answered or wait_ms from the start has
 * passed, and give up a: the answer is a new JSON object (the caller's;
 * NULL when out of memory)
 *   {"hits": [{"id", "title", "score", "source": PEER}],
 *    "peers": [{"id", "status": "answered"|"refused"|"timeout"|"down",
 *               "hits": N, "ms": N[, "error": TEXT]}]}
 * with the hits of catalogues this node holds left out (the local index
 * answers for those).  Late RESULTS are dropped on the loop.
 */
json_t *fedsearch_ask_finish(struct fedsearch_ask *a);

/* The peers' answer to an awaited question: remote as
 * fedsearch_ask_finish returns it (the callee's; NULL when out of
 * memory). */
typedef void (*fedsearch_done_cb)(json_t *remote, void *arg);

/*
 * Instead of fedsearch_ask_finish, on the loop thread: give up a, and
 * call cb(remote, arg) on the loop thread once every peer asked has
 * answered or a's wait has passed, or f stops: at once when a asks
 * nobody.  Nothing waits meanwhile, so no worker is held.
 */
void fedsearch_ask_await(struct fedsearch_ask *a, fedsearch_done_cb cb,
                         void *arg);

/* How many of the first held origins a SEARCH names: at most
 * LIMIT_HELD, and no more than 32 KiB of names, so that the SEARCH fits
 * the smallest frame limit a peer may advertise (LIMIT_FRAME_MIN) with
 * a query of any length the API takes. */
size_t fedsearch_held_fitting(const char *const *held, size_t nheld);

/* Instead of fedsearch_ask_finish: give up a without waiting for its
 * answers (the local search failed). */
void fedsearch_ask_drop(struct fedsearch_ask *a);

/* Whether a asks any peer (else fedsearch_ask_finish returns at once). */
int fedsearch_ask_waits(const struct fedsearch_ask *a);

/*
 * Merge remote (fedsearch_ask_finish's answer, or NULL) into answer
 * (index_search's): each local hit gets "source": "local"; then remote's
 * hits, best score first, each id only once and never one of a local
 * hit, at most limit of them; answer gets remote's "peers" (or []).
 * Returns 0 or OER_ENOMEM.
 */
int fedsearch_merge(json_t *answer, const json_t *remote, long limit);

/*
 * Read a peer's SEARCH into q, through the same checks as the API's
 * parameters (node/api_search.h): the query at most INDEX_QUERY_MAX
 * bytes of UTF-8, which index_search quotes word by word, so no FTS5
 * syntax of the peer's means anything; filter keys among the facets;
 * at most INDEX_FILTER_VALUES values of one; system and lang, when
 * given, as the API's parameters of those names.  q borrows m's
 * strings.
 * Returns 0, or OER_EINVAL with *why (static) for the RESULTS error.
 */
int fedsearch_query(struct index_query *q, const struct message_search *m,
                    const char **why);

/* Whether c's policy offers origin's catalogue to peer, as the session
 * decides HEADS (policy_config_offers: per-peer offer and relay first),
 * but never the peer's own: it holds it. */
int fedsearch_offers(const struct config *c, const char *peer,
                     const char *origin);

/*
 * Answer q for peer from ix: hits of catalogues c offers peer and that
 * are not among the nheld origins of held (the peer holds those; SEARCH
 * held), best first, at most FEDSEARCH_HITS of the first FEDSEARCH_SCAN
 * local ones,
 * titles cut to FEDSEARCH_TITLE_MAX bytes, score 1,000,000 less 1,000 a
 * place.  q's limit and offset are used as it pages.  out's hits and
 * their strings are malloc'd (fedsearch_results_clear).  Returns 0,
 * OER_ENOMEM, or index_search's error.
 */
int fedsearch_answer(struct message_results *out, struct index *ix,
                     struct index_query *q, const struct config *c,
                     const char *peer, const char *const *held, size_t nheld);

/* Free what fedsearch_answer put in r; accepts an empty r. */
void fedsearch_results_clear(struct message_results *r);

#endif
