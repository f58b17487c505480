/*
 * jsonl: JSON arrays and JSON lines through jansson, one line at a time
 * for JSON lines so that an error names its line.
 */
#include "node/jsonl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/error.h"
#include "node/wholefile.h"

static int read_array(const char *buf, size_t len, jsonl_record_cb cb,
                      jsonl_error_cb on_error, void *arg)
{
    json_error_t jerr;
    json_t *all = json_loadb(buf, len, 0, &jerr), *v;
    size_t i;
    int rc = 0;

    if (all == NULL) {
        if (on_error != NULL)
            on_error((size_t)(jerr.line > 0 ? jerr.line : 0),
                     (size_t)(jerr.column > 0 ? jerr.column : 0), jerr.text,
                     arg);
        return json_error_code(&jerr) == json_error_out_of_memory ? OER_ENOMEM
                                                                  : OER_EINVAL;
    }
    json_array_foreach(all, i, v)
    {
        struct jsonl_record rec = {v, i + 1, 0};

        if (!json_is_object(v)) {
            if (on_error != NULL)
                on_error(0, i + 1, "an element that is not an object", arg);
            continue;
        }
        rc = cb(&rec, arg);
        if (rc != 0)
            break;
    }
    json_decref(all);
    return rc;
}

static int blank(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    return s == end;
}

static int read_lines(const char *buf, size_t len, jsonl_record_cb cb,
                      jsonl_error_cb on_error, void *arg)
{
    size_t pos = 0, line = 0, index = 0;
    int rc = 0;

    while (rc == 0 && pos < len) {
        const char *end = memchr(buf + pos, '\n', len - pos);
        size_t next = end != NULL ? (size_t)(end - buf) + 1 : len;
        struct jsonl_record rec = {NULL, 0, 0};
        json_error_t jerr;
        json_t *v;

        line++;
        if (blank(buf + pos, buf + next)) {
            pos = next;
            continue;
        }
        v = json_loadb(buf + pos, next - pos, JSON_DECODE_ANY, &jerr);
        pos = next;
        if (v == NULL && json_error_code(&jerr) == json_error_out_of_memory)
            return OER_ENOMEM;
        if (v == NULL || !json_is_object(v)) {
            if (on_error != NULL)
                on_error(line, v == NULL ? (size_t)jerr.column : 1,
                         v == NULL ? jerr.text : "not a JSON object", arg);
            json_decref(v);
            continue;
        }
        rec.value = v;
        rec.index = ++index;
        rec.line = line;
        rc = cb(&rec, arg);
        json_decref(v);
    }
    return rc;
}

int jsonl_read_memory(const char *buf, size_t len, jsonl_record_cb cb,
                      jsonl_error_cb on_error, void *arg)
{
    size_t i = 0;

    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
                       buf[i] == '\n'))
        i++;
    if (i < len && buf[i] == '[')
        return read_array(buf, len, cb, on_error, arg);
    return read_lines(buf, len, cb, on_error, arg);
}

int jsonl_read_file(const char *path, jsonl_record_cb cb,
                    jsonl_error_cb on_error, void *arg)
{
    char *buf = NULL;
    size_t len;
    int rc = wholefile_read(&buf, &len, path, JSONL_INPUT_MAX);

    if (rc == 0)
        rc = jsonl_read_memory(buf, len, cb, on_error, arg);
    free(buf);
    return rc;
}
