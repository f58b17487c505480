/*
 * paradata: what users do with the resources, kept beside the search
 * index in DATA/paradata.sqlite: ratings of 1 to 5, one per rater and
 * resource, and download counts.  The index attaches the file to show
 * them in search hits and to lean its ranking on them (node/index.h).
 *
 * Threads: a struct paradata is one SQLite connection, used on the
 * thread that opened it.
 */
#ifndef OERNODE_PARADATA_H
#define OERNODE_PARADATA_H

#include <stddef.h>

struct paradata;
struct sqlite3;

#define PARADATA_RATER_MAX 128 /* bytes of a rater key */

/* The paradata file of the data folder whose repository is repo_path
 * (DATA/repo.git gives DATA/paradata.sqlite), or beside the index file
 * index_path; malloc'd (the caller's), NULL when out of memory. */
char *paradata_path(const char *repo_or_index_path);

/* Open (and create) the file at path.  *out is the caller's
 * (paradata_free).  OER_EIO or OER_ENOMEM. */
int paradata_open(struct paradata **out, const char *path);

/* Accepts NULL. */
void paradata_free(struct paradata *pd);

/*
 * Record rating (1 to 5) of the resource id by rater, replacing the
 * rater's earlier rating of it.  rater is an opaque key of who rates.
 * OER_EINVAL for a rating out of
 * range or an empty or overlong rater; OER_EIO.  The HTTP API passes
 * "account:NAME" (one rating per account).
 */
int paradata_rate(struct paradata *pd, const char *id, const char *rater,
                  int rating);

/* Count one download of the resource id.  OER_EIO. */
int paradata_download(struct paradata *pd, const char *id);

/* What is known of id: *average (0 when unrated), *ratings, *downloads;
 * any may be NULL.  OER_EIO. */
int paradata_get(struct paradata *pd, const char *id, double *average,
                 long long *ratings, long long *downloads);

/* Attach the file at path to db as schema "para" (its tables created when
 * missing), for the search index.  0 or OER_EIO (nothing is logged). */
int paradata_attach(struct sqlite3 *db, const char *path);

#endif
