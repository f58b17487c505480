/*
 * wholefile: reading an input file whole, with a size limit, for the
 * readers of records (LOM, Dublin Core, tables, JSON); writing a buffer
 * whole to a file descriptor.
 */
#ifndef OERNODE_WHOLEFILE_H
#define OERNODE_WHOLEFILE_H

#include <stddef.h>

/*
 * Read the regular file at path, of at most max bytes.  Returns 0 with
 * *out (malloc'd, the caller's, NUL-terminated after *len bytes);
 * OER_EIO when it cannot be opened or read (errno tells why);
 * OER_EINVAL when it is not a regular file or is larger than max;
 * OER_ENOMEM.  Logs nothing: the reader says what it was reading.
 */
int wholefile_read(char **out, size_t *len, const char *path, size_t max);

/*
 * Write the len bytes of buf to fd, again after a short write or EINTR.
 * Returns 0, or OER_EIO (errno tells why).  Logs nothing.
 */
int wholefile_write_fd(int fd, const void *buf, size_t len);

#endif
