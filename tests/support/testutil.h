/*
 * testutil: what unit tests share: temporary folders, the shared sample
 * folder, running a command and reading a file.
 */
#ifndef OERNODE_TESTUTIL_H
#define OERNODE_TESTUTIL_H

#include <stddef.h>

/* A new empty folder under $TMPDIR (or /tmp); the caller frees the path.
 * The folder is left behind for inspection when a test fails. */
char *testutil_tmpdir(const char *name);

/* Path of a file in ../shared/data, or NULL when the shared folder is
 * absent (a user's clone); the caller frees it. */
char *testutil_shared(const char *rel);

/* Exit with 77 (ctest: skipped) and a message when ../shared is absent:
 * for a program whose every test reads it. */
void testutil_require_shared(void);

/* Path of a file in ../shared/data (caller frees); when the folder is
 * absent, say so and skip the running cmocka test. */
char *testutil_shared_or_skip(const char *rel);

/* Source tree root (for demo records and vocabularies). */
const char *testutil_srcdir(void);

/* Run a shell command; its stdout (and stderr when merge is set) goes to
 * *out when out is not NULL (caller frees).  Returns the exit status, or
 * -1 when it could not run or was killed by a signal. */
int testutil_run(char **out, int merge, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whole contents of a file, NUL-terminated; NULL on error.  Caller frees. */
char *testutil_read(const char *path, size_t *len);

/* Write a whole file; aborts the test on failure. */
void testutil_write(const char *path, const char *data, size_t len);

#endif
