/*
 * log: the one log of the node.  One event a line on stderr (or a stream
 * set for tests), as key=value pairs with a level and a module:
 *
 *   ts=2026-12-03T12:00:00.000Z level=warn mod=sync msg="pack rejected"
 *   peer=nl-edurep err=proto
 *
 * Values are escaped, so that no value from a peer or a file can forge a
 * line or a key.  Safe to call from any thread.
 */
#ifndef OERNODE_LOG_H
#define OERNODE_LOG_H

#include <stdio.h>

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3
};

/* Events above level are dropped.  The default is info. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parse "error", "warn", "info" or "debug".  Returns 0 or OER_EINVAL. */
int log_level_parse(enum log_level *out, const char *name);

/* Where lines go; NULL restores stderr.  The stream stays the caller's. */
void log_set_stream(FILE *stream);

/*
 * Write one event: mod names the module, msg says what happened, then
 * key, value pairs of strings, ending with NULL.  A NULL value is written
 * as an empty string.  Never fails visibly; a line that does not fit in
 * 4 KiB is cut and ends with truncated=1.
 */
void log_event(enum log_level level, const char *mod, const char *msg, ...)
    __attribute__((sentinel));

#define log_error(...) log_event(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_event(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_event(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_event(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Format n in buf (at least 24 bytes) and return buf, for log values. */
const char *log_num(char *buf, long long n);

/*
 * Append value to the line buffer dst of size cap at *len, escaped as a
 * log value (quoted when it holds anything but [A-Za-z0-9._/:@+-], with
 * control characters and invalid UTF-8 as \xNN).  Exposed for tests.
 */
void log_escape(char *dst, size_t cap, size_t *len, const char *value);

#endif
