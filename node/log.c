/*
 * log: key=value event lines with escaping, levels and one write a line.
 */
#include "node/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "node/error.h"
#include "node/metrics.h"

#define LOG_LINE_MAX 4096

static _Atomic int log_level = LOG_LEVEL_INFO;
static FILE *_Atomic log_stream;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&log_level);
}

int log_level_parse(enum log_level *out, const char *name)
{
    for (int i = 0; i <= LOG_LEVEL_DEBUG; i++) {
        if (name != NULL && strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return OER_EINVAL;
}

void log_set_stream(FILE *stream)
{
    atomic_store(&log_stream, stream);
}

const char *log_num(char *buf, long long n)
{
    snprintf(buf, 24, "%lld", n);
    return buf;
}

static void put(char *dst, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len >= cap)
        return;
    if (n > cap - *len)
        n = cap - *len;
    memcpy(dst + *len, s, n);
    *len += n;
}

static bool is_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("._/:@+-", c) != NULL;
}

/* Length of the valid UTF-8 sequence at s (at least 2 bytes), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    size_t n;
    unsigned int cp;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void log_escape(char *dst, size_t cap, size_t *len, const char *value)
{
    const unsigned char *s = (const unsigned char *)(value ? value : "");
    bool plain = *s != '\0';

    for (const unsigned char *p = s; *p != '\0'; p++)
        if (!is_plain(*p))
            plain = false;
    if (plain) {
        put(dst, cap, len, value, strlen(value));
        return;
    }

    put(dst, cap, len, "\"", 1);
    while (*s != '\0') {
        size_t n = *s >= 0x80 ? utf8_seq(s) : 0;
        char esc[8];

        if (n > 0) {
            put(dst, cap, len, (const char *)s, n);
            s += n;
            continue;
        }
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*s;
            put(dst, cap, len, esc, 2);
        } else if (*s < 0x20 || *s >= 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", *s);
            put(dst, cap, len, esc, 4);
        } else {
            put(dst, cap, len, (const char *)s, 1);
        }
        s++;
    }
    put(dst, cap, len, "\"", 1);
}

static void put_pair(char *line, size_t cap, size_t *len, const char *key,
                     const char *value)
{
    put(line, cap, len, " ", 1);
    put(line, cap, len, key, strlen(key));
    put(line, cap, len, "=", 1);
    log_escape(line, cap, len, value);
}

static size_t put_time(char *line, size_t cap)
{
    struct timeval tv;
    struct tm tm;
    char stamp[40];

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    return (size_t)snprintf(line, cap, "ts=%s.%03dZ", stamp,
                            (int)(tv.tv_usec / 1000));
}

void log_event(enum log_level level, const char *mod, const char *msg, ...)
{
    char line[LOG_LINE_MAX + 32];
    size_t len;
    va_list ap;
    const char *key;
    FILE *out;

    /* counted whether or not the line is written */
    metrics_log_event(level, mod);
    if ((int)level > atomic_load(&log_level))
        return;

    len = put_time(line, LOG_LINE_MAX);
    put_pair(line, LOG_LINE_MAX, &len, "level", level_names[level]);
    put_pair(line, LOG_LINE_MAX, &len, "mod", mod);
    put_pair(line, LOG_LINE_MAX, &len, "msg", msg);
    va_start(ap, msg);
    while ((key = va_arg(ap, const char *)) != NULL)
        put_pair(line, LOG_LINE_MAX, &len, key, va_arg(ap, const char *));
    va_end(ap);

    /* A cut line still ends in one piece, with the fact that it was cut. */
    if (len >= LOG_LINE_MAX)
        len = (size_t)snprintf(line + LOG_LINE_MAX - 13, 14, " truncated=1") +
              LOG_LINE_MAX - 13;
    line[len++] = '\n';
    out = atomic_load(&log_stream);
    fwrite(line, 1, len, out ? out : stderr);
    fflush(out ? out : stderr);
}
