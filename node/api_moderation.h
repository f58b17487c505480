/*
 * api_moderation: contribution and moderation over HTTP.  A contributor
 * submits a metadata document into the node's moderation queue (a local
 * SQLite table beside the accounts, never federated) and reads what
 * became of its submissions; a moderator lists the queue, edits a
 * submission, publishes it (a signed commit of the node's catalogue) or
 * rejects it with a reason.  Every request carries
 * "Authorization: Bearer TOKEN" (node/account.h).  Errors are JSON
 * (http_response_error) with the stable codes listed in docs/CLI.md.
 */
#ifndef OERNODE_API_MODERATION_H
#define OERNODE_API_MODERATION_H

#include <stddef.h>

#include "federation/identity.h"
#include "node/http.h"

/* What the handlers need of the daemon; everything is borrowed. */
struct api_moderation {
    const char *repo_path;      /* DATA/repo.git; accounts beside it */
    const char *node_id;        /* origin of published resources */
    const struct identity *key; /* signs the catalogue commits */
    unsigned expire_days;       /* accounts.expire-days */
};

/*
 * The token of an Authorization header value "Bearer TOKEN" (scheme in
 * any case, one or more spaces, trailing spaces ignored), copied into out
 * of cap bytes.  0, or OER_EINVAL when the value is not of that form, the
 * token holds anything but printable ASCII, or it does not fit.
 */
int api_moderation_bearer(char *out, size_t cap, const char *header);

/*
 * The reason of a reject request body {"reason": "..."} (a non-empty
 * string of at most 2,000 bytes, no other key): *out is malloc'd, the
 * caller's.  OER_EINVAL with *code "malformed_json", "unknown_parameter"
 * or "bad_parameter" and a static *msg.
 */
int api_moderation_reason(char **out, const char *body, size_t len,
                          const char **code, const char **msg);

/* DATA/accounts.sqlite for DATA/repo.git; malloc'd, NULL when out of
 * memory. */
char *api_moderation_db_path(const char *repo_path);

/* Delete the accounts idle more than days (the daemon's start and daily
 * timer).  Logs and returns an error when the database fails. */
int api_moderation_expire(const char *repo_path, unsigned days);

/*
 * Answer one request of the routes POST and GET /api/submissions, GET
 * /api/moderation/queue, PUT /api/moderation/submissions/ID and POST
 * /api/moderation/submissions/ID/publish or .../reject.  Runs on a worker
 * thread with its own SQLite connections and store.
 */
void api_moderation_serve(struct http_response *res,
                          const struct http_request *req,
                          const struct api_moderation *m);

#endif
