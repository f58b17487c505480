/*
 * jsonl: the reader of JSON record files: one JSON array of objects, or
 * JSON lines (one object a line, as MongoDB and many catalogue exports
 * write them).  A line that is not JSON is reported with its line and
 * column and skipped; the other lines are still read.  Parsing goes
 * through jansson; this module writes nothing anywhere.
 */
#ifndef OERNODE_JSONL_H
#define OERNODE_JSONL_H

#include <stddef.h>

#include <jansson.h>

/* Largest input read, in bytes. */
#define JSONL_INPUT_MAX (1024u * 1024 * 1024)

/* One record: a JSON object, borrowed for the callback; where it is. */
struct jsonl_record {
    const json_t *value;
    size_t index; /* position among the records, from 1 */
    size_t line;  /* its line in JSON lines; 0 inside an array */
};

/* Called for each object in input order; a non-zero return stops the
 * reading, and jsonl_read_* return that value. */
typedef int (*jsonl_record_cb)(const struct jsonl_record *rec, void *arg);

/* Called for each line or element that is skipped: line and column
 * (from 1; line 0 for an array element, whose index is column), and
 * why. */
typedef void (*jsonl_error_cb)(size_t line, size_t column, const char *reason,
                               void *arg);

/*
 * Read the len bytes of buf: an array when its first character (after
 * white space and a UTF-8 BOM) is '[', else JSON lines (blank lines are
 * skipped).  Elements or lines that are not objects are reported and
 * skipped.  Returns 0 when the input was read, even with lines skipped;
 * OER_EINVAL when an array is not well-formed JSON (reported once,
 * nothing handed over); the value of a callback that stopped it;
 * OER_ENOMEM.
 */
int jsonl_read_memory(const char *buf, size_t len, jsonl_record_cb cb,
                      jsonl_error_cb on_error, void *arg);

/* The same for the file at path; OER_EIO when it cannot be read,
 * OER_EINVAL when it is not a regular file or larger than
 * JSONL_INPUT_MAX (nothing is reported then). */
int jsonl_read_file(const char *path, jsonl_record_cb cb,
                    jsonl_error_cb on_error, void *arg);

#endif
