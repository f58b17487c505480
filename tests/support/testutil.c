/*
 * testutil: helpers shared by the unit tests.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

char *testutil_tmpdir(const char *name)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;

    if (base == NULL || *base == '\0')
        base = "/tmp";
    if (asprintf(&path, "%s/oernode-%s-XXXXXX", base, name) < 0)
        abort();
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

static const char *shared_root(void)
{
    const char *root = getenv("OERNODE_SHARED");
    struct stat st;

    if (root == NULL || stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return root;
}

char *testutil_shared(const char *rel)
{
    const char *root = shared_root();
    char *path = NULL;

    if (root == NULL)
        return NULL;
    if (asprintf(&path, "%s/data/%s", root, rel) < 0)
        abort();
    return path;
}

void testutil_require_shared(void)
{
    if (shared_root() != NULL)
        return;
    printf("skipped: ../shared is absent (a user's clone); "
           "these tests read its sample records\n");
    exit(77);
}

char *testutil_shared_or_skip(const char *rel)
{
    char *path = testutil_shared(rel);

    if (path == NULL) {
        printf("skipped: ../shared is absent (a user's clone); this test "
               "reads %s from it\n", rel);
        skip();
    }
    return path;
}

const char *testutil_srcdir(void)
{
    const char *src = getenv("OERNODE_SRC");

    return src != NULL ? src : OERNODE_SOURCE_DIR;
}

int testutil_run(char **out, int merge, const char *fmt, ...)
{
    char *cmd = NULL, *full = NULL, *buf = NULL;
    size_t len = 0, cap = 0;
    va_list ap;
    FILE *p;
    int status;

    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (asprintf(&full, "%s%s", cmd, merge ? " 2>&1" : "") < 0)
        abort();
    p = popen(full, "r");
    free(cmd);
    free(full);
    if (p == NULL)
        return -1;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        size_t n = fread(buf + len, 1, 4096, p);
        if (n == 0)
            break;
        len += n;
    }
    buf[len] = '\0';
    status = pclose(p);
    if (out != NULL)
        *out = buf;
    else
        free(buf);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

char *testutil_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[size] = '\0';
    if (len != NULL)
        *len = (size_t)size;
out:
    fclose(f);
    return buf;
}

void testutil_write(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
}
