/*
 * api_files: the routes under /api/resources/ORIGIN/LOCAL/ that are not
 * the record itself: GET .../files/NAME, the download of one of the
 * record's files, and POST .../rating, a user's rating (node/paradata.h).
 * Errors are JSON with stable codes: bad_id, bad_name, bad_rating (400),
 * not_found, file_not_held (404), store_unavailable, paradata_unavailable
 * (503).
 */
#ifndef OERNODE_API_FILES_H
#define OERNODE_API_FILES_H

#include "node/http.h"

/* Whether rest (the path after /api/resources/) names a file download
 * (ORIGIN/LOCAL/files/...) or a rating (ORIGIN/LOCAL/rating). */
int api_files_is_file(const char *rest);
int api_files_is_rating(const char *rest);

/*
 * Answer GET /api/resources/ORIGIN/LOCAL/files/NAME: the file's bytes
 * with its media type and a Content-Disposition naming it, and one more
 * download counted; a 302 to the record's source_url when the blob is
 * not held here (404 file_not_held without one); 400 bad_name for a NAME
 * with '/', '\', a control character, or "." or ".."; 404 not_found for
 * an unknown record or file.  The whole blob is read into memory.
 */
void api_files_serve(struct http_response *res,
                     const struct http_request *req, const char *repo_path);

/*
 * Answer POST /api/resources/ORIGIN/LOCAL/rating with body {"rating": N},
 * N 1 to 5: records the rating of rater (replacing its earlier one) and
 * answers {"id", "rating": {"average", "count"}, "downloads"}.  rater is
 * who rates: the server passes "account:NAME" of the request's token.
 */
void api_files_rate(struct http_response *res, const struct http_request *req,
                    const char *repo_path, const char *rater);

#endif
