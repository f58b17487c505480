/*
 * web: the node's search page, static files (HTML, CSS, JavaScript) from
 * one folder, served at / and /web/ by the daemon's HTTP server.  The page
 * itself talks to the JSON API; this module only finds the folder and
 * answers for its files, refusing any path that could leave it.
 */
#ifndef OERNODE_WEB_H
#define OERNODE_WEB_H

#include "node/http.h"

#define WEB_FILE_MAX (1024 * 1024) /* larger files are not served */

/*
 * Find the folder of the page: configured (web.root; relative to
 * data_dir when not absolute) when not NULL, else share/oernode/web
 * beside the binary's folder (an installation), else web/ of the source
 * tree the binary was built from (OERNODE_SOURCE_DIR).  A folder counts
 * when it holds index.html.  Returns 0 with *out (malloc'd, the
 * caller's); OER_ENOTFOUND when none does (logged); OER_ENOMEM.
 */
int web_root_find(char **out, const char *configured, const char *data_dir);

/*
 * The media type of a file name by its extension ("text/css;
 * charset=utf-8"), or NULL for a type the page does not use.
 */
const char *web_media_type(const char *name);

/*
 * Whether name is a path the page may ask for: segments of letters,
 * digits, '-', '_' and '.', none empty or starting with '.', at most 128
 * bytes, with a known media type.
 */
int web_name_ok(const char *name);

/*
 * Answer with the file name (relative, as web_name_ok wants) of the
 * folder root (NULL: no folder found), with its media type and cache
 * headers: 404 for a refused name or a missing file.
 */
void web_serve(struct http_response *res, const char *root,
               const char *name);

#endif
