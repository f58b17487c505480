/*
 * api_moderation: contribution and moderation over HTTP.  A contributor
 * submits a metadata document into the node's moderation queue (a local
 * SQLite table beside the accounts, never federated), then its files
 * (kept in DATA/queue/ID/, never federated either), and reads what
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
#include "node/account.h"
#include "node/http.h"

/* The largest file a contributor may upload to a submission. */
#define API_MODERATION_UPLOAD_MAX ((size_t)100 * 1024 * 1024)

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

/*
 * The account whose bearer token req carries, into *who (any role; its
 * last activity is recorded).  Returns 0; else answers res (401
 * missing_token, invalid_token or expired_token; 503) and returns the
 * error.
 */
int api_moderation_account(struct account *who, struct http_response *res,
                           const struct http_request *req,
                           const struct api_moderation *m);

/* DATA/accounts.sqlite for DATA/repo.git; malloc'd, NULL when out of
 * memory. */
char *api_moderation_db_path(const char *repo_path);

/* DATA/queue/ID, the folder of the files uploaded to submission id,
 * for DATA/repo.git; malloc'd, NULL when out of memory. */
char *api_moderation_queue_path(const char *repo_path, long long id);

/* Delete the accounts idle more than days (the daemon's start and daily
 * timer).  Logs and returns an error when the database fails. */
int api_moderation_expire(const char *repo_path, unsigned days);

/*
 * Answer one request of the routes POST and GET /api/submissions, PUT
 * /api/submissions/ID/files/NAME (the body is the file; the route takes
 * bodies up to API_MODERATION_UPLOAD_MAX), GET /api/moderation/queue, PUT
 * /api/moderation/submissions/ID and POST
 * /api/moderation/submissions/ID/publish or .../reject.  A submission
 * lists its uploaded files in "files" (name, media_type, size, sha256);
 * publishing stores them and adds them to the record, rejecting deletes
 * them.  Runs on a worker thread with its own SQLite connections and
 * store.
 */
void api_moderation_serve(struct http_response *res,
                          const struct http_request *req,
                          const struct api_moderation *m);

#endif
