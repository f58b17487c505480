/*
 * wholefile: one bounded read of a whole input file; one whole write.
 */
#include "node/wholefile.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/error.h"

int wholefile_read(char **out, size_t *len, const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    int err = OER_EIO;

    *out = NULL;
    *len = 0;
    if (f == NULL)
        return OER_EIO;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
        (unsigned long long)st.st_size > max) {
        err = OER_EINVAL;
        goto out;
    }
    *out = malloc((size_t)st.st_size + 1);
    if (*out == NULL) {
        err = OER_ENOMEM;
        goto out;
    }
    *len = fread(*out, 1, (size_t)st.st_size, f);
    (*out)[*len] = '\0';
    err = ferror(f) || *len != (size_t)st.st_size ? OER_EIO : 0;

out:
    fclose(f);
    if (err < 0) {
        free(*out);
        *out = NULL;
        *len = 0;
    }
    return err;
}

int wholefile_write_fd(int fd, const void *buf, size_t len)
{
    const char *at = buf;

    while (len > 0) {
        ssize_t n = write(fd, at, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return OER_EIO;
        at += n;
        len -= (size_t)n;
    }
    return 0;
}
