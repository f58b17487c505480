/*
 * metrics: the node's counters and gauges, and GET /metrics, which shows
 * them in the Prometheus text exposition format 0.0.4 (docs/CLI.md, "The
 * HTTP API").  The counters live in this process, behind one mutex, so
 * that any thread (libuv's workers, the loop) may bump them; they start at
 * zero with each run of the daemon.
 *
 * Families, with their labels:
 *   oernode_info{version, node}                   gauge, always 1
 *   oernode_resources{origin}                     gauge: live records
 *   oernode_peers_connected                       gauge
 *   oernode_sync_packs_total{result}              counter: applied,
 *                                                 unchanged, rejected
 *   oernode_errors_total{kind, level}             counter: kind is the
 *                                                 module of a warn or
 *                                                 error log line
 *   oernode_http_request_duration_seconds{method, route, status}
 *                                                 histogram: route is
 *                                                 the route's pattern
 */
#ifndef OERNODE_METRICS_H
#define OERNODE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "node/http.h"
#include "node/log.h"

/* Upper bounds of the latency buckets, in seconds (and +Inf). */
#define METRICS_BUCKETS                                                        \
    {                                                                          \
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 \
    }
#define METRICS_NBUCKETS 13

/* Series kept at most: requests by (method, route, status class), and
 * log lines by (module, level).  A new series past the bound is not
 * counted; with the routes of a route table and the modules of the code
 * the bounds are never reached. */
#define METRICS_HTTP_SERIES 256
#define METRICS_ERROR_SERIES 128

/*
 * One answered request: method and route are the matched route's
 * (borrowed, copied; NULL when no route matched, shown as "other"),
 * status the HTTP status, ns the time from its headers to its answer.
 */
void metrics_request(const char *method, const char *route, unsigned status,
                     uint64_t ns);

/* One catalogue pack a peer sent, verified: err is the verification's
 * result (0 or an OER_E* code), moved whether the ref moved. */
void metrics_sync_pack(int err, int moved);

/* One sync round: a peer's HEADS received and compared with ours. */
void metrics_sync_round(void);

/* One log event of module mod (borrowed, copied) at level: warn and
 * error events are counted, others ignored.  Never logs. */
void metrics_log_event(enum log_level level, const char *mod);

/* The number of peers with a connection in use. */
void metrics_peers_connected(long n);

/* Every counter back to zero and the cache of resource counts emptied:
 * for tests. */
void metrics_reset(void);

/* The live records of one catalogue, for metrics_render. */
struct metrics_catalogue {
    const char *origin;
    long long resources;
};

/*
 * The exposition text of every family into *out (malloc'd, the caller's;
 * NUL-terminated, *len bytes without the NUL): node_id for
 * oernode_info, and n catalogues (may be 0).  Label values are escaped
 * (backslash, double quote, newline).  Returns 0 or OER_ENOMEM.
 */
int metrics_render(char **out, size_t *len, const char *node_id,
                   const struct metrics_catalogue *cats, size_t n);

/*
 * Answer GET /metrics on a worker thread: count the live records of each
 * catalogue of repo_path's store through the search index (caught up
 * first; a count is kept until its catalogue's head moves), then render.
 * When the store or the index cannot be read the answer still comes,
 * without oernode_resources samples (the failure is logged).
 */
void metrics_serve(struct http_response *res, const char *repo_path,
                   const char *vocab_dir, const char *node_id);

#endif
