/*
 * web: the search page's files, read whole per request from one folder
 * (they are small, and a page is a handful of requests).
 */
#include "node/web.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/error.h"
#include "node/log.h"

#define WEB_NAME_MAX 128

#ifndef OERNODE_SOURCE_DIR /* set by the build; this keeps lone checks */
#define OERNODE_SOURCE_DIR "."
#endif

/* Scripts, styles, images and connections only from the node itself; no
 * inline script, no plugins, no framing. */
#define WEB_CSP                                                             \
    "default-src 'none'; script-src 'self'; style-src 'self'; "             \
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "           \
    "form-action 'self'; frame-ancestors 'none'"

static const struct {
    const char *ext;
    const char *type;
} media_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".json", "application/json; charset=utf-8" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" },
    { ".woff2", "font/woff2" },
};

const char *web_media_type(const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(media_types) / sizeof(media_types[0]);
         i++) {
        size_t e = strlen(media_types[i].ext);

        if (n > e && strcmp(name + n - e, media_types[i].ext) == 0)
            return media_types[i].type;
    }
    return NULL;
}

int web_name_ok(const char *name)
{
    size_t n = strlen(name);
    int start = 1;

    if (n == 0 || n > WEB_NAME_MAX || web_media_type(name) == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        if (c == '/') {
            if (start)
                return 0; /* an empty segment, or a leading slash */
            start = 1;
            continue;
        }
        if (start && c == '.')
            return 0; /* "..", and hidden files */
        start = 0;
        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
            !(c >= '0' && c <= '9') && c != '-' && c != '_' && c != '.')
            return 0;
    }
    return !start;
}

/* Whether dir holds index.html; then *out is a copy of dir. */
static int try_root(char **out, const char *dir)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf(path, sizeof(path), "%s/index.html", dir) >=
            (int)sizeof(path) ||
        stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return OER_ENOTFOUND;
    *out = strdup(dir);
    return *out != NULL ? 0 : OER_ENOMEM;
}

/* share/oernode/web beside the folder of the running binary. */
static int try_installed(char **out)
{
    char exe[PATH_MAX], dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (n <= 0)
        return OER_ENOTFOUND;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash == NULL)
        return OER_ENOTFOUND;
    *slash = '\0';
    if (snprintf(dir, sizeof(dir), "%s/../share/oernode/web", exe) >=
        (int)sizeof(dir))
        return OER_ENOTFOUND;
    return try_root(out, dir);
}

int web_root_find(char **out, const char *configured, const char *data_dir)
{
    char dir[PATH_MAX];
    int err;

    *out = NULL;
    if (configured != NULL) {
        if (configured[0] == '/' || data_dir == NULL)
            snprintf(dir, sizeof(dir), "%s", configured);
        else
            snprintf(dir, sizeof(dir), "%s/%s", data_dir, configured);
        err = try_root(out, dir);
        if (err == OER_ENOTFOUND)
            log_warn("web", "web.root holds no index.html", "path", dir,
                     NULL);
        return err;
    }
    err = try_installed(out);
    if (err == OER_ENOTFOUND)
        err = try_root(out, OERNODE_SOURCE_DIR "/web");
    if (err == OER_ENOTFOUND)
        log_warn("web", "no web folder: the search page is not served",
                 "source", OERNODE_SOURCE_DIR "/web", NULL);
    return err;
}

/* Read the regular file at path (not through a symbolic link). */
static int read_file(char **out, size_t *len, const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int err = OER_ENOTFOUND;

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > WEB_FILE_MAX)
        goto out;
    buf = malloc((size_t)st.st_size + 1);
    err = buf == NULL ? OER_ENOMEM : 0;
    while (err == 0 && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            err = OER_EIO;
        else
            got += (size_t)n;
    }
    if (err == 0) {
        *out = buf;
        *len = got;
        buf = NULL;
    }
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return err;
}

void web_serve(struct http_response *res, const char *root,
               const char *name)
{
    char path[PATH_MAX];
    int html = strcmp(name, "index.html") == 0;
    int err;

    if (root == NULL || !web_name_ok(name) ||
        snprintf(path, sizeof(path), "%s/%s", root, name) >=
            (int)sizeof(path)) {
        http_response_error(res, 404, "not_found", "no such file");
        return;
    }
    err = read_file(&res->body, &res->len, path);
    if (err == OER_EIO)
        log_warn("web", "cannot read", "path", path, NULL);
    if (err != 0) {
        http_response_error(res, err == OER_ENOMEM ? 500 : 404,
                            err == OER_ENOMEM ? "no_memory" : "not_found",
                            "no such file");
        return;
    }
    res->status = 200;
    snprintf(res->content_type, sizeof(res->content_type), "%s",
             web_media_type(name));
    /* The page is checked each time, so a new version shows at once; its
     * assets may be kept a few minutes. */
    snprintf(res->cache_control, sizeof(res->cache_control), "%s",
             html ? "no-cache" : "public, max-age=300");
    snprintf(res->csp, sizeof(res->csp), "%s", WEB_CSP);
}
