/*
 * wholefile: reading an input file whole, with a size limit, for the
 * readers of records (LOM, Dublin Core, tables, JSON).
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

#endif
