/*
 * api_search: GET /api/search, the search of the node's index over HTTP,
 * and the reading of search parameters that `oernode search` shares.
 * The answer is index_search's JSON (node/index.h); errors are JSON with
 * the stable codes bad_parameter, unknown_parameter (400) and
 * index_unavailable (503).
 */
#ifndef OERNODE_API_SEARCH_H
#define OERNODE_API_SEARCH_H

#include "config/config.h"
#include "node/http.h"
#include "node/index.h"

/*
 * Read one search parameter into q: q (the text), level, subject,
 * language, licence, type, audience, origin (repeatable, any of the
 * values), lang, system, limit, offset.  value is borrowed by q.  Returns 0,
 * OER_ENOTFOUND for an unknown key, or OER_EINVAL for a bad value, with
 * *msg (static) saying what is wrong.
 */
int api_search_arg(struct index_query *q, const char *key, const char *value,
                   const char **msg);

/*
 * Whether q's system (none, or one the vocabularies of ix know) can be
 * searched in: 0, or OER_EINVAL with the reason in msg (cap bytes),
 * naming the systems there are.  An index without vocabularies takes
 * any system (its terms are plain values).
 */
int api_search_system_check(const struct index *ix,
                            const struct index_query *q, char *msg,
                            size_t cap);

/*
 * The vocabulary folder of configuration c (may be NULL): vocab.root,
 * relative to the data folder unless absolute, else INDEX_VOCAB_DIR.
 * malloc'd (the caller's); NULL when out of memory.
 */
char *api_search_vocab_dir(const struct config *c);

/*
 * index_open, then index_use_vocab with the vocabularies of vocab_dir;
 * when they cannot be loaded (logged), the index serves plain values.
 * *out as for index_open.
 */
int api_search_open(struct index **out, const char *path,
                    const char *vocab_dir);

/* The index file of the data folder whose repository is repo_path
 * (DATA/repo.git gives DATA/index.sqlite); malloc'd, NULL when out of
 * memory. */
char *api_search_index_path(const char *repo_path);

/*
 * An index of repo_path's data folder from the pool (index_pool_take),
 * caught up with the store for a search: the store is opened only when
 * its catalogue heads (store_heads, kept in memory while the refs do not
 * change) are not the ones the index holds.  It waits at most 500 ms for
 * another writer and never rebuilds for changed vocabularies
 * (index_catch_up_within): then the index is read as it is, and the
 * daemon's indexer (api_search_catch_up) rebuilds it.  Give *out back
 * with index_pool_give.  On an error *out is NULL.
 */
int api_search_take(struct index **out, const char *repo_path,
                    const char *vocab_dir);

/*
 * Bring the index of repo_path's data folder up to the store's heads and
 * the vocabularies, rebuilding it when they changed, on the calling
 * thread (the daemon does it at start and then once a second on a
 * worker).  Returns an error when the store or the index cannot be
 * opened or written; logs nothing of its own.
 */
int api_search_catch_up(const char *repo_path, const char *vocab_dir);

struct fedsearch;

/* Give each hit of a search answer (index_search) the canonical URL of
 * its licence, "licence_url", when it has one (licence_url); returns
 * answer.  The API and `oernode search --json` both do. */
json_t *api_search_licence_urls(json_t *answer);

/*
 * Answer GET /api/search: catch up (cheap when nothing moved), then search
 * with the request's parameters.  Runs on a worker thread with its own
 * store and SQLite connection.  With fed (sync/fedsearch.h; may be NULL)
 * and unless peers=0, the first page also asks the connected peers and
 * waits for them up to wait_ms (default 300, at most 2000), without
 * holding the worker (http_response.later): their hits follow the local
 * ones, each hit has "source" ("local" or a peer id), and "peers" says
 * which peers answered (fedsearch_merge).
 */
void api_search_serve(struct http_response *res,
                      const struct http_request *req, const char *repo_path,
                      const char *vocab_dir, struct fedsearch *fed);

#endif
