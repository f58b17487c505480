/*
 * xmldoc: strict, safe XML parsing with the repairs real exports need.
 */
#include "node/xmldoc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <utf8proc.h>

#include "node/error.h"
#include "node/log.h"

static int is_space(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* A DOCTYPE could declare entities to load or expand: stop at once. */
static void on_internal_subset(void *ctx, const xmlChar *name,
                               const xmlChar *external_id,
                               const xmlChar *system_id)
{
    xmlStopParser((xmlParserCtxt *)ctx);
}

int xmldoc_parse(xmlDoc **out, const char *buf, size_t len, const char *name,
                 const char *encoding, int options, char *why, size_t cap)
{
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    const xmlError *e;

    *out = NULL;
    if (ctxt == NULL)
        return OER_ENOMEM;
    ctxt->sax->internalSubset = on_internal_subset;
    if (len > INT_MAX) {
        xmlFreeParserCtxt(ctxt);
        snprintf(why, cap, "input too large");
        return OER_EINVAL;
    }
    *out = xmlCtxtReadMemory(ctxt, buf, (int)len, name, encoding,
                             options | XML_PARSE_NONET | XML_PARSE_NOERROR |
                                 XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    e = xmlCtxtGetLastError(ctxt);
    if (ctxt->errNo == XML_ERR_USER_STOP) {
        /* stopped at the DOCTYPE: whatever was built is not the input */
        xmlFreeDoc(*out);
        *out = NULL;
        snprintf(why, cap, "a DOCTYPE is not allowed");
    } else if (*out == NULL || (!(options & XML_PARSE_RECOVER) && e != NULL &&
                                e->level >= XML_ERR_ERROR)) {
        const char *msg =
            e != NULL && e->message != NULL ? e->message : "not well-formed";

        snprintf(why, cap, "line %d: %.*s", e != NULL ? e->line : 0,
                 (int)strcspn(msg, "\n"), msg);
        xmlFreeDoc(*out);
        *out = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    return *out != NULL ? 0 : OER_EINVAL;
}

/* Whether the input is (declared or taken as) UTF-8. */
static int is_utf8_input(const char *buf, size_t len)
{
    char decl[256], quote;
    const char *end, *enc;

    if (len >= 2 &&
        (buf[0] == '\0' || buf[1] == '\0' || (unsigned char)buf[0] == 0xfe ||
         (unsigned char)buf[0] == 0xff))
        return 0;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        return 1;
    if (len < 5 || memcmp(buf, "<?xml", 5) != 0)
        return 1;

    /* the declaration alone, as a string */
    end = memchr(buf, '>', len < sizeof(decl) ? len : sizeof(decl) - 1);
    if (end == NULL)
        return 1;
    memcpy(decl, buf, (size_t)(end - buf));
    decl[end - buf] = '\0';
    enc = strstr(decl, "encoding");
    if (enc == NULL)
        return 1;
    enc += 8;
    while (is_space((unsigned char)*enc) || *enc == '=')
        enc++;
    quote = *enc++;
    if (quote != '"' && quote != '\'')
        return 0;
    return (strncasecmp(enc, "utf-8", 5) == 0 && enc[5] == quote) ||
           (strncasecmp(enc, "utf8", 4) == 0 && enc[4] == quote);
}

/* Copy src to dst without XML declarations past the start; returns the
 * new length and counts the declarations removed. */
static size_t strip_inner_decls(char *dst, const char *src, size_t len,
                                size_t *count)
{
    size_t n = 0, i = 0;

    *count = 0;
    while (i < len) {
        const char *end;

        if (i > 0 && !(i == 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0) &&
            src[i] == '<' && len - i > 6 && memcmp(src + i, "<?xml", 5) == 0 &&
            is_space((unsigned char)src[i + 5])) {
            end = memchr(src + i, '>', len - i);
            if (end != NULL && end[-1] == '?') {
                i = (size_t)(end - src) + 1;
                (*count)++;
                continue;
            }
        }
        dst[n++] = src[i++];
    }
    return n;
}

/* Copy src to dst (3 * len bytes) with each invalid UTF-8 byte replaced
 * by U+FFFD; returns the new length and counts the replacements. */
static size_t utf8_repair(char *dst, const char *src, size_t len, size_t *count)
{
    size_t n = 0, i = 0;

    *count = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t step =
            utf8proc_iterate((const utf8proc_uint8_t *)src + i,
                             (utf8proc_ssize_t)(len - i), &cp);

        if (step > 0) {
            memcpy(dst + n, src + i, (size_t)step);
            n += (size_t)step;
            i += (size_t)step;
        } else {
            memcpy(dst + n, XMLDOC_REPLACEMENT, 3);
            n += 3;
            i++;
            (*count)++;
        }
    }
    return n;
}

/*
 * The second chance of an input a strict parse refused: XML declarations
 * pasted inside it are stripped and, in UTF-8 input, invalid bytes become
 * U+FFFD (*repaired set).  Nothing else is changed; text is never
 * decoded.  Returns 0 and *out (malloc'd, or NULL when there was nothing
 * to repair), or OER_ENOMEM.
 */
static int xml_repair(char **out, size_t *out_len, int *repaired,
                      const char *buf, size_t len, const char *name, int utf8)
{
    char *stripped = malloc(len + 1), *fixed = NULL;
    size_t n, decls = 0, bad = 0;
    char num[24];

    *out = NULL;
    if (stripped == NULL)
        return OER_ENOMEM;
    n = strip_inner_decls(stripped, buf, len, &decls);
    if (decls > 0)
        log_warn("xml", "xml declarations inside the document stripped", "file",
                 name, "count", log_num(num, (long long)decls), NULL);

    if (utf8 || is_utf8_input(buf, len)) {
        fixed = malloc(3 * n + 1);
        if (fixed == NULL) {
            free(stripped);
            return OER_ENOMEM;
        }
        n = utf8_repair(fixed, stripped, n, &bad);
        free(stripped);
        stripped = fixed;
    }
    if (bad > 0)
        log_warn("xml", "invalid utf-8 replaced by U+FFFD", "file", name,
                 "bytes", log_num(num, (long long)bad), NULL);
    *repaired = bad > 0;
    if (decls == 0 && bad == 0) {
        free(stripped);
        return 0;
    }
    *out = stripped;
    *out_len = n;
    return 0;
}

/* Skip a BOM and white space that precede an XML declaration. */
static size_t prolog_skip(const char *buf, size_t len, const char *name)
{
    size_t i = len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    size_t start = i;

    while (i < len && is_space((unsigned char)buf[i]))
        i++;
    if (i == start || len - i < 5 || memcmp(buf + i, "<?xml", 5) != 0)
        return 0;
    log_warn("xml", "white space before the xml declaration stripped", "file",
             name, NULL);
    return i;
}

int xmldoc_load(xmlDoc **out, int *repaired, const char *buf, size_t len,
                const char *name, const char *encoding, char *why, size_t cap)
{
    char again[256] = "", *fixed = NULL;
    size_t skip = prolog_skip(buf, len, name), fixed_len = 0;
    int err;

    *repaired = 0;
    buf += skip;
    len -= skip;
    err = xmldoc_parse(out, buf, len, name, encoding, 0, why, cap);
    if (err == OER_EINVAL && strstr(why, "DOCTYPE") == NULL)
        err =
            xml_repair(&fixed, &fixed_len, repaired, buf, len, name,
                       encoding != NULL && strcasecmp(encoding, "UTF-8") == 0);
    if (err == 0 && fixed != NULL) {
        err = xmldoc_parse(out, fixed, fixed_len, name, encoding, 0, again,
                           sizeof(again));
        if (err == OER_EINVAL)
            snprintf(why, cap, "%s", again);
    } else if (err == 0 && *out == NULL) {
        err = OER_EINVAL;
    }
    free(fixed);
    return err;
}
