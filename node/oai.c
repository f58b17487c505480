/*
 * oai: OAI-PMH 2.0 over the signed catalogues.  A record's datestamp is
 * the committer time of the catalogue commit that last changed its
 * document; lists walk each catalogue's commits oldest first up to the
 * head it had when the list began, so a resumption token is a position
 * in that history and nothing is kept between requests.
 */
#include "node/oai.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/tree.h>
#include <openssl/evp.h>

#include "federation/vocab.h"
#include "node/crosswalk.h"
#include "node/error.h"
#include "node/index.h"
#include "node/log.h"
#include "node/metadata.h"

#define NS_OAI "http://www.openarchives.org/OAI/2.0/"
#define SCHEMA_OAI "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
#define TIME_MIN (-(1LL << 40))
#define TIME_MAX (1LL << 40)
#define TOKEN_CHECK 16 /* hex digits of SHA-256 that end a token */

/* ---- arguments ------------------------------------------------------- */

void oai_args_release(struct oai_args *args)
{
    if (args == NULL)
        return;
    for (size_t i = 0; i < args->n; i++) {
        free(args->keys[i]);
        free(args->values[i]);
    }
    memset(args, 0, sizeof(*args));
}

int oai_args_add(struct oai_args *args, const char *key, const char *value)
{
    if (args->n == OAI_MAX_ARGS) {
        args->overflow = 1;
        return 0;
    }
    args->keys[args->n] = strdup(key != NULL ? key : "");
    args->values[args->n] = strdup(value != NULL ? value : "");
    if (args->keys[args->n] == NULL || args->values[args->n] == NULL) {
        free(args->keys[args->n]);
        free(args->values[args->n]);
        return OER_ENOMEM;
    }
    args->n++;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode one form component of len bytes into a new string. */
static int form_decode(char **out, const char *s, size_t len)
{
    char *d = malloc(len + 1);
    size_t n = 0;

    *out = d;
    if (d == NULL)
        return OER_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            d[n++] = ' ';
        } else if (s[i] != '%') {
            d[n++] = s[i];
        } else if (i + 2 < len && hex_value(s[i + 1]) >= 0 &&
                   hex_value(s[i + 2]) >= 0 &&
                   (hex_value(s[i + 1]) | hex_value(s[i + 2])) != 0) {
            d[n++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            return OER_EINVAL;
        }
    }
    d[n] = '\0';
    return 0;
}

int oai_args_form(struct oai_args *args, const char *body, size_t len)
{
    size_t start = 0;
    int err = 0;

    while (err == 0 && start < len) {
        const char *pair = body + start;
        const char *amp = memchr(pair, '&', len - start);
        size_t plen = amp != NULL ? (size_t)(amp - pair) : len - start;
        const char *eq = memchr(pair, '=', plen);
        size_t klen = eq != NULL ? (size_t)(eq - pair) : plen;
        char *key = NULL, *value = NULL;

        start += plen + 1;
        if (plen == 0)
            continue;
        err = form_decode(&key, pair, klen);
        if (err == 0)
            err = form_decode(&value, eq != NULL ? eq + 1 : "",
                              eq != NULL ? plen - klen - 1 : 0);
        if (err == 0)
            err = oai_args_add(args, key, value);
        free(key);
        free(value);
    }
    return err;
}

/* ---- dates ----------------------------------------------------------- */

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

enum oai_granularity oai_parse_date(long long *out, const char *text, int end)
{
    size_t len = text != NULL ? strlen(text) : 0;
    int y, mo, d, h = 0, mi = 0, s = 0;

    if ((len != 10 && len != 20) || text[4] != '-' || text[7] != '-')
        return OAI_NO_DATE;
    y = digits(text, 4);
    mo = digits(text + 5, 2);
    d = digits(text + 8, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return OAI_NO_DATE;
    if (len == 20) {
        h = digits(text + 11, 2);
        mi = digits(text + 14, 2);
        s = digits(text + 17, 2);
        if (text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
            text[19] != 'Z' || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
            s > 59)
            return OAI_NO_DATE;
    } else if (end) {
        h = 23;
        mi = 59;
        s = 59;
    }
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL +
           h * 3600LL + mi * 60LL + s;
    return len == 20 ? OAI_SECOND : OAI_DAY;
}

/* "YYYY-MM-DDThh:mm:ssZ" of t, UTC; out of at least 21 bytes. */
static void format_date(char *out, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
        strcpy(out, "1970-01-01T00:00:00Z");
}

/* ---- the rules of each verb ------------------------------------------ */

enum {
    ARG_IDENTIFIER = 1 << 0,
    ARG_PREFIX = 1 << 1,
    ARG_FROM = 1 << 2,
    ARG_UNTIL = 1 << 3,
    ARG_SET = 1 << 4,
    ARG_TOKEN = 1 << 5
};

static const struct {
    const char *name;
    unsigned bit;
} arg_names[] = {
    {"identifier", ARG_IDENTIFIER},
    {"metadataPrefix", ARG_PREFIX},
    {"from", ARG_FROM},
    {"until", ARG_UNTIL},
    {"set", ARG_SET},
    {"resumptionToken", ARG_TOKEN},
};

#define LIST_ARGS (ARG_PREFIX | ARG_FROM | ARG_UNTIL | ARG_SET | ARG_TOKEN)

static const struct {
    const char *name;
    enum oai_verb verb;
    unsigned allowed;
    unsigned required; /* unless a resumptionToken is given */
} verbs[] = {
    {"Identify", OAI_IDENTIFY, 0, 0},
    {"ListMetadataFormats", OAI_LIST_METADATA_FORMATS, ARG_IDENTIFIER, 0},
    {"ListSets", OAI_LIST_SETS, ARG_TOKEN, 0},
    {"ListIdentifiers", OAI_LIST_IDENTIFIERS, LIST_ARGS, ARG_PREFIX},
    {"ListRecords", OAI_LIST_RECORDS, LIST_ARGS, ARG_PREFIX},
    {"GetRecord", OAI_GET_RECORD, ARG_IDENTIFIER | ARG_PREFIX,
     ARG_IDENTIFIER | ARG_PREFIX},
};

static const char *const format_names[] = {"", "oai_dc", "lom"};

static enum oai_format format_parse(const char *prefix)
{
    if (strcmp(prefix, "oai_dc") == 0)
        return OAI_FORMAT_DC;
    if (strcmp(prefix, "lom") == 0)
        return OAI_FORMAT_LOM;
    return OAI_FORMAT_NONE;
}

/* The verb: given once and known. */
static enum oai_error parse_verb(struct oai_request *out, const char **msg,
                                 const struct oai_args *args, size_t *rule)
{
    const char *verb = NULL;

    for (size_t i = 0; i < args->n; i++) {
        if (strcmp(args->keys[i], "verb") != 0)
            continue;
        if (verb != NULL) {
            *msg = "the verb argument is repeated";
            return OAI_BAD_VERB;
        }
        verb = args->values[i];
    }
    if (verb == NULL) {
        *msg = "the verb argument is missing";
        return OAI_BAD_VERB;
    }
    for (*rule = 0; *rule < sizeof(verbs) / sizeof(verbs[0]); (*rule)++) {
        if (strcmp(verbs[*rule].name, verb) == 0) {
            out->verb = verbs[*rule].verb;
            return OAI_OK;
        }
    }
    *msg = "the value of the verb argument is not a legal OAI-PMH verb";
    return OAI_BAD_VERB;
}

/* Store one argument other than verb in out; its bit, or 0 when the
 * verb does not take it. */
static unsigned take_arg(struct oai_request *out, const char *key,
                         const char *value, unsigned allowed)
{
    for (size_t i = 0; i < sizeof(arg_names) / sizeof(arg_names[0]); i++) {
        const char **field[] = {&out->identifier, &out->prefix, &out->from,
                                &out->until,      &out->set,    &out->token};

        if (strcmp(arg_names[i].name, key) != 0)
            continue;
        if ((allowed & arg_names[i].bit) == 0)
            return 0;
        *field[i] = value;
        return arg_names[i].bit;
    }
    return 0;
}

/* Every argument but verb: known to the verb, once, not empty. */
static enum oai_error parse_args(struct oai_request *out, const char **msg,
                                 const struct oai_args *args, size_t rule,
                                 unsigned *given)
{
    *given = 0;
    for (size_t i = 0; i < args->n; i++) {
        unsigned bit;

        if (strcmp(args->keys[i], "verb") == 0)
            continue;
        bit =
            take_arg(out, args->keys[i], args->values[i], verbs[rule].allowed);
        if (bit == 0) {
            *msg = "the request includes an argument this verb does not "
                   "take";
            return OAI_BAD_ARGUMENT;
        }
        if (*given & bit) {
            *msg = "the request repeats an argument";
            return OAI_BAD_ARGUMENT;
        }
        if (args->values[i][0] == '\0') {
            *msg = "an argument has an empty value";
            return OAI_BAD_ARGUMENT;
        }
        *given |= bit;
    }
    if ((*given & ARG_TOKEN) && *given != ARG_TOKEN) {
        *msg = "resumptionToken is an exclusive argument";
        return OAI_BAD_ARGUMENT;
    }
    if (!(*given & ARG_TOKEN) &&
        (*given & verbs[rule].required) != verbs[rule].required) {
        *msg = "the request lacks a required argument";
        return OAI_BAD_ARGUMENT;
    }
    return OAI_OK;
}

/* from and until: legal forms, one granularity, from <= until. */
static enum oai_error parse_dates(struct oai_request *out, const char **msg)
{
    enum oai_granularity gf = OAI_NO_DATE, gu = OAI_NO_DATE;

    out->from_time = TIME_MIN;
    out->until_time = TIME_MAX;
    if (out->from != NULL)
        gf = oai_parse_date(&out->from_time, out->from, 0);
    if (out->until != NULL)
        gu = oai_parse_date(&out->until_time, out->until, 1);
    if ((out->from != NULL && gf == OAI_NO_DATE) ||
        (out->until != NULL && gu == OAI_NO_DATE)) {
        *msg = "from and until are YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ";
        return OAI_BAD_ARGUMENT;
    }
    if (gf != OAI_NO_DATE && gu != OAI_NO_DATE && gf != gu) {
        *msg = "from and until have different granularities";
        return OAI_BAD_ARGUMENT;
    }
    if (out->from_time > out->until_time) {
        *msg = "from is later than until";
        return OAI_BAD_ARGUMENT;
    }
    return OAI_OK;
}

enum oai_error oai_parse(struct oai_request *out, const char **msg,
                         const struct oai_args *args)
{
    enum oai_error e;
    unsigned given;
    size_t rule;

    memset(out, 0, sizeof(*out));
    *msg = "";
    e = parse_verb(out, msg, args, &rule);
    if (e != OAI_OK)
        return e;
    if (args->overflow) {
        *msg = "the arguments are malformed or too many";
        return OAI_BAD_ARGUMENT;
    }
    e = parse_args(out, msg, args, rule, &given);
    if (e == OAI_OK)
        e = parse_dates(out, msg);
    if (e != OAI_OK)
        return e;
    if (out->set != NULL && !crosswalk_spec_valid(out->set)) {
        *msg = "set is not a valid setSpec";
        return OAI_BAD_ARGUMENT;
    }
    if (out->prefix != NULL) {
        out->format = format_parse(out->prefix);
        if (out->format == OAI_FORMAT_NONE) {
            *msg = "the metadata format is not one this repository "
                   "disseminates (oai_dc, lom)";
            return OAI_CANNOT_DISSEMINATE_FORMAT;
        }
    }
    return OAI_OK;
}

/* ---- resumption tokens ----------------------------------------------- */

/* SHA-256 of the token's text, the first TOKEN_CHECK hex digits. */
static void token_check(char out[TOKEN_CHECK + 1], const char *text, size_t len)
{
    static const char hexd[] = "0123456789abcdef";
    static const char domain[] = "oernode oai resumption token\n";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    memset(md, 0, sizeof(md));
    if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, domain, sizeof(domain) - 1) == 1 &&
        EVP_DigestUpdate(ctx, text, len) == 1)
        EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < TOKEN_CHECK / 2; i++) {
        out[2 * i] = hexd[md[i] >> 4];
        out[2 * i + 1] = hexd[md[i] & 15];
    }
    out[TOKEN_CHECK] = '\0';
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded URL-safe base64 of len bytes; malloc'd. */
static char *base64url(const unsigned char *in, size_t len)
{
    char *out = malloc(len / 3 * 4 + 5);
    size_t n = 0, i;

    if (out == NULL)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        unsigned v =
            (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

        out[n++] = b64url[v >> 18];
        out[n++] = b64url[(v >> 12) & 63];
        out[n++] = b64url[(v >> 6) & 63];
        out[n++] = b64url[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)in[i] << 16 |
                     (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);

        out[n++] = b64url[v >> 18];
        out[n++] = b64url[(v >> 12) & 63];
        if (i + 1 < len)
            out[n++] = b64url[(v >> 6) & 63];
    }
    out[n] = '\0';
    return out;
}

/* Decode unpadded URL-safe base64 into a new NUL-terminated string;
 * NULL when malformed (or out of memory). */
static char *unbase64url(const char *in)
{
    size_t len = strlen(in), n = 0;
    unsigned v = 0, bits = 0;
    char *out;

    if (len % 4 == 1)
        return NULL;
    out = malloc(len / 4 * 3 + 3);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        const char *p = memchr(b64url, in[i], 64);

        if (p == NULL || in[i] == '\0') {
            free(out);
            return NULL;
        }
        v = (v << 6 | (unsigned)(p - b64url)) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)((v >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    if ((v & ((1u << bits) - 1)) != 0 || memchr(out, '\0', n) != NULL) {
        free(out);
        return NULL;
    }
    return out;
}

int oai_token_encode(char **out, const struct oai_token *t)
{
    size_t cap = 1024 + t->count * (65 + STORE_OID_HEX + 2), len;
    char *text = malloc(cap), check[TOKEN_CHECK + 1];
    int n;

    *out = NULL;
    if (text == NULL)
        return OER_ENOMEM;
    n = snprintf(text, cap, "1|%s|%s|%s|%s|%lld|%zu|%s|%s|",
                 format_names[t->format], t->set[0] ? t->set : "-",
                 t->from[0] ? t->from : "-", t->until[0] ? t->until : "-",
                 t->cursor, t->position, t->after[0] ? t->after : "-",
                 t->path[0] ? t->path : "-");
    len = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < t->count && len < cap; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s%s=%s",
                                i > 0 ? "," : "", t->origins[i], t->heads[i]);
    if (len + TOKEN_CHECK + 2 >= cap) {
        free(text);
        return OER_ENOMEM;
    }
    token_check(check, text, len);
    snprintf(text + len, cap - len, "|%s", check);
    *out = base64url((const unsigned char *)text, strlen(text));
    free(text);
    return *out != NULL ? 0 : OER_ENOMEM;
}

static int is_hex40(const char *s)
{
    return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* A number of at most 15 digits. */
static int parse_count(long long *out, const char *s)
{
    size_t n = strlen(s);
    long long v = 0;

    if (n == 0 || n > 15 || strspn(s, "0123456789") != n)
        return OER_EINVAL;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    *out = v;
    return 0;
}

/* A document path "<shard>/<local-id>.json" as the store names it. */
static int valid_doc_path(const char *path, char *local, size_t cap)
{
    size_t n = strlen(path);
    const char *slash = strchr(path, '/');

    if (slash == NULL || n < 8 || n - 1 >= cap ||
        strcmp(path + n - 5, ".json") != 0)
        return 0;
    memcpy(local, slash + 1, n - 5 - (size_t)(slash + 1 - path));
    local[n - 5 - (size_t)(slash + 1 - path)] = '\0';
    if (!metadata_valid_local_id(local))
        return 0;
    return (size_t)(slash - path) == (strlen(local) < 2 ? strlen(local) : 2) &&
           strncmp(path, local, (size_t)(slash - path)) == 0;
}

/* "-" or a string that fits in cap: copied, "" for "-". */
static int copy_field(char *out, size_t cap, const char *field)
{
    if (strcmp(field, "-") == 0) {
        out[0] = '\0';
        return 0;
    }
    if (field[0] == '\0' || strlen(field) >= cap)
        return OER_EINVAL;
    strcpy(out, field);
    return 0;
}

/* The catalogues "origin=head,origin=head", in strictly rising order. */
static int parse_heads(struct oai_token *t, char *list)
{
    char *item;

    t->count = 0;
    while ((item = strsep(&list, ",")) != NULL) {
        char *eq = strchr(item, '=');

        if (eq == NULL || t->count == OAI_TOKEN_ORIGINS)
            return OER_EINVAL;
        *eq = '\0';
        if (!metadata_valid_origin(item) || !is_hex40(eq + 1) ||
            (t->count > 0 && strcmp(t->origins[t->count - 1], item) >= 0))
            return OER_EINVAL;
        strcpy(t->origins[t->count], item);
        strcpy(t->heads[t->count], eq + 1);
        t->count++;
    }
    return t->count > 0 ? 0 : OER_EINVAL;
}

/* The fields of a token whose check value matched. */
static int parse_fields(struct oai_token *t, char *text)
{
    char *f[10], local[72];
    long long v;
    size_t n = 0;

    while (n < 10 && (f[n] = strsep(&text, "|")) != NULL)
        n++;
    if (n != 10 || text != NULL || strcmp(f[0], "1") != 0)
        return OER_EINVAL;
    t->format = format_parse(f[1]);
    if (t->format == OAI_FORMAT_NONE ||
        copy_field(t->set, sizeof(t->set), f[2]) != 0 ||
        (t->set[0] && !crosswalk_spec_valid(t->set)) ||
        copy_field(t->from, sizeof(t->from), f[3]) != 0 ||
        copy_field(t->until, sizeof(t->until), f[4]) != 0 ||
        parse_count(&t->cursor, f[5]) != 0 || parse_count(&v, f[6]) != 0 ||
        copy_field(t->after, sizeof(t->after), f[7]) != 0 ||
        (t->after[0] && !is_hex40(t->after)) ||
        copy_field(t->path, sizeof(t->path), f[8]) != 0 ||
        (t->path[0] && !valid_doc_path(t->path, local, sizeof(local))) ||
        parse_heads(t, f[9]) != 0 || (unsigned long long)v >= t->count)
        return OER_EINVAL;
    t->position = (size_t)v;
    return 0;
}

/* The dates of a token make a valid request, as they did at first. */
static int check_token_dates(const struct oai_token *t)
{
    struct oai_request req = {.from = t->from[0] ? t->from : NULL,
                              .until = t->until[0] ? t->until : NULL};
    const char *msg;

    return parse_dates(&req, &msg) == OAI_OK ? 0 : OER_EINVAL;
}

int oai_token_decode(struct oai_token *out, const char *text)
{
    char check[TOKEN_CHECK + 1], *plain, *bar;
    int err = OER_EINVAL;

    memset(out, 0, sizeof(*out));
    if (text == NULL || strlen(text) > OAI_TOKEN_MAX)
        return OER_EINVAL;
    plain = unbase64url(text);
    if (plain == NULL)
        return OER_EINVAL;
    bar = strrchr(plain, '|');
    if (bar != NULL && strlen(bar + 1) == TOKEN_CHECK) {
        token_check(check, plain, (size_t)(bar - plain));
        if (strcmp(check, bar + 1) == 0) {
            *bar = '\0';
            err = parse_fields(out, plain);
        }
    }
    if (err == 0)
        err = check_token_dates(out);
    free(plain);
    return err;
}

/* ---- the response ---------------------------------------------------- */

/* One response being built. */
struct reply {
    struct store *s;
    const struct oai_options *opt;
    const struct oai_args *args;
    struct oai_request req;
    xmlDocPtr doc;
    xmlNodePtr root;
    xmlNsPtr ns;
    int nomem;
};

static xmlNodePtr add(struct reply *r, xmlNodePtr parent, const char *name,
                      const char *text)
{
    xmlNodePtr n;

    if (parent == NULL)
        return NULL;
    if (text != NULL && !crosswalk_text_ok(text))
        text = NULL;
    n = xmlNewTextChild(parent, r->ns, (const xmlChar *)name,
                        (const xmlChar *)text);
    r->nomem |= n == NULL;
    return n;
}

static void attr(struct reply *r, xmlNodePtr n, const char *name,
                 const char *value)
{
    if (n != NULL && crosswalk_text_ok(value) &&
        xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)value) == NULL)
        r->nomem = 1;
}

/* The OAI-PMH element, its namespace and schema, and responseDate. */
static int envelope(struct reply *r)
{
    char now[21];
    xmlNsPtr xsi;

    r->doc = xmlNewDoc((const xmlChar *)"1.0");
    if (r->doc == NULL)
        return OER_ENOMEM;
    r->root = xmlNewDocNode(r->doc, NULL, (const xmlChar *)"OAI-PMH", NULL);
    if (r->root == NULL)
        return OER_ENOMEM;
    xmlDocSetRootElement(r->doc, r->root);
    r->ns = xmlNewNs(r->root, (const xmlChar *)NS_OAI, NULL);
    xsi = xmlNewNs(r->root, (const xmlChar *)CROSSWALK_NS_XSI,
                   (const xmlChar *)"xsi");
    if (r->ns == NULL || xsi == NULL ||
        xmlNewNsProp(r->root, xsi, (const xmlChar *)"schemaLocation",
                     (const xmlChar *)NS_OAI " " SCHEMA_OAI) == NULL)
        return OER_ENOMEM;
    xmlSetNs(r->root, r->ns);
    format_date(now, (long long)time(NULL));
    add(r, r->root, "responseDate", now);
    return r->nomem ? OER_ENOMEM : 0;
}

/* The request element: the base URL, and the arguments as attributes
 * unless the verb or an argument was bad. */
static void request_element(struct reply *r, int echo)
{
    xmlNodePtr n = add(r, r->root, "request", r->opt->base_url);

    for (size_t i = 0; echo && i < r->args->n; i++)
        attr(r, n, r->args->keys[i], r->args->values[i]);
}

static void error_element(struct reply *r, enum oai_error e, const char *msg)
{
    static const char *const codes[] = {
        "",
        "badArgument",
        "badResumptionToken",
        "badVerb",
        "cannotDisseminateFormat",
        "idDoesNotExist",
        "noRecordsMatch",
        "noMetadataFormats",
    };

    attr(r, add(r, r->root, "error", msg), "code", codes[e]);
}

/* ---- records ---------------------------------------------------------- */

/* origin and local id of an identifier "oai:<node>:<origin>/<local>";
 * 0 when it is not one of this node's. */
static int parse_identifier(char origin[72], char local[72],
                            const struct oai_options *opt, const char *id)
{
    size_t nlen = strlen(opt->node_id);
    const char *rest, *slash;

    if (strncmp(id, "oai:", 4) != 0 || strncmp(id + 4, opt->node_id, nlen) ||
        id[4 + nlen] != ':')
        return 0;
    rest = id + 5 + nlen;
    slash = strchr(rest, '/');
    if (slash == NULL || (size_t)(slash - rest) >= 72 || strlen(slash) > 72)
        return 0;
    memcpy(origin, rest, (size_t)(slash - rest));
    origin[slash - rest] = '\0';
    strcpy(local, slash + 1);
    return metadata_valid_origin(origin) && metadata_valid_local_id(local);
}

static void doc_path(char out[80], const char *local)
{
    snprintf(out, 80, "%.2s/%s.json", local, local);
}

static void make_identifier(char out[160], const struct oai_options *opt,
                            const char *origin, const char *local)
{
    snprintf(out, 160, "oai:%s:%s/%s", opt->node_id, origin, local);
}

/* One record as it is listed: the document at the head, its version
 * before it was withdrawn (tombstones only; may be NULL), when it last
 * changed. */
struct item {
    const json_t *doc;
    const json_t *former;
    long long stamp;
    char identifier[160];
};

static int on_header_set(const char *spec, const char *name, void *arg)
{
    void **ctx = arg;

    add(ctx[0], ctx[1], "setSpec", spec);
    return 0;
}

static xmlNodePtr add_header(struct reply *r, xmlNodePtr parent,
                             const struct item *it)
{
    xmlNodePtr h = add(r, parent, "header", NULL);
    void *ctx[2] = {r, h};
    char stamp[21];

    if (metadata_is_tombstone(it->doc))
        attr(r, h, "status", "deleted");
    format_date(stamp, it->stamp);
    add(r, h, "identifier", it->identifier);
    add(r, h, "datestamp", stamp);
    if (h != NULL && crosswalk_sets(it->former != NULL ? it->former : it->doc,
                                    r->opt->vocab, on_header_set,
                                    ctx) == OER_ENOMEM)
        r->nomem = 1;
    return h;
}

/* A record: its header and, unless deleted, its metadata. */
static void add_record(struct reply *r, xmlNodePtr parent,
                       const struct item *it, enum oai_format format)
{
    xmlNodePtr rec = add(r, parent, "record", NULL), md;
    int err;

    add_header(r, rec, it);
    if (rec == NULL || metadata_is_tombstone(it->doc))
        return;
    md = add(r, rec, "metadata", NULL);
    if (md == NULL)
        return;
    err = format == OAI_FORMAT_LOM ? crosswalk_lom(md, it->doc, it->identifier)
                                   : crosswalk_dc(md, it->doc, it->identifier);
    r->nomem |= err == OER_ENOMEM;
}

/* The document before the commit that made it a tombstone, or NULL. */
static json_t *former_version(struct store *s, const json_t *doc,
                              const char *parent, const char *path)
{
    json_t *former = NULL;

    if (!metadata_is_tombstone(doc) || parent[0] == '\0')
        return NULL;
    if (store_get_at(&former, NULL, s, parent, path) != 0 ||
        metadata_is_tombstone(former)) {
        json_decref(former);
        return NULL;
    }
    return former;
}

/* ---- Identify, ListMetadataFormats, ListSets, GetRecord ---------------- */

/* The oldest commit time of all catalogues: earliestDatestamp. */
struct earliest {
    struct store *s;
    long long time;
};

static int on_first_commit(const struct store_change *c, void *arg)
{
    struct earliest *e = arg;

    if (c->time < e->time)
        e->time = c->time;
    return 1; /* the first commit is enough */
}

static int on_origin_earliest(const char *origin, const char *head, void *arg)
{
    struct earliest *e = arg;
    int err =
        store_changes(e->s, head, NULL, TIME_MIN, TIME_MAX, on_first_commit, e);

    return err == 1 ? 0 : err;
}

static int identify(struct reply *r)
{
    struct earliest e = {r->s, (long long)time(NULL)};
    char name[160], stamp[21];
    xmlNodePtr id;
    int err;

    err = store_origins(r->s, on_origin_earliest, &e);
    if (err < 0)
        return err;
    format_date(stamp, e.time);
    snprintf(name, sizeof(name), "oernode node %s", r->opt->node_id);
    id = add(r, r->root, "Identify", NULL);
    add(r, id, "repositoryName", name);
    add(r, id, "baseURL", r->opt->base_url);
    add(r, id, "protocolVersion", "2.0");
    add(r, id, "adminEmail", r->opt->admin_email);
    add(r, id, "earliestDatestamp", stamp);
    add(r, id, "deletedRecord", "persistent");
    add(r, id, "granularity", "YYYY-MM-DDThh:mm:ssZ");
    return 0;
}

/* Where the document of an identifier last changed; 0, or
 * OER_ENOTFOUND when it is not a record of this node (never was). */
static int find_record(struct store_change_point *at, char path[80],
                       char origin[72], char local[72], struct reply *r)
{
    char head[STORE_OID_HEX];
    int err;

    if (!parse_identifier(origin, local, r->opt, r->req.identifier))
        return OER_ENOTFOUND;
    err = store_head(head, r->s, origin);
    doc_path(path, local);
    if (err == 0)
        err = store_last_change(at, r->s, head, path);
    return err;
}

static int list_formats(struct reply *r)
{
    static const char *const formats[][3] = {
        {"oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
         CROSSWALK_NS_OAI_DC},
        {"lom", "http://ltsc.ieee.org/xsd/lomv1.0/lom.xsd", CROSSWALK_NS_LOM},
    };
    struct store_change_point at;
    char path[80], origin[72], local[72];
    xmlNodePtr list;
    int err;

    if (r->req.identifier != NULL) {
        err = find_record(&at, path, origin, local, r);
        if (err == OER_ENOTFOUND) {
            error_element(r, OAI_ID_DOES_NOT_EXIST, "no such record");
            return 0;
        }
        if (err < 0)
            return err;
    }
    list = add(r, r->root, "ListMetadataFormats", NULL);
    for (size_t i = 0; i < 2; i++) {
        xmlNodePtr f = add(r, list, "metadataFormat", NULL);

        add(r, f, "metadataPrefix", formats[i][0]);
        add(r, f, "schema", formats[i][1]);
        add(r, f, "metadataNamespace", formats[i][2]);
    }
    return 0;
}

static int get_record(struct reply *r)
{
    struct store_change_point at;
    char path[80], origin[72], local[72];
    struct item it = {0};
    json_t *doc = NULL, *former = NULL;
    int err;

    err = find_record(&at, path, origin, local, r);
    if (err == OER_ENOTFOUND) {
        error_element(r, OAI_ID_DOES_NOT_EXIST, "no such record");
        return 0;
    }
    if (err == 0)
        err = store_get_at(&doc, NULL, r->s, at.id, path);
    if (err < 0)
        return err;
    former = former_version(r->s, doc, at.parent, path);
    it.doc = doc;
    it.former = former;
    it.stamp = at.time;
    make_identifier(it.identifier, r->opt, origin, local);
    add_record(r, add(r, r->root, "GetRecord", NULL), &it, r->req.format);
    json_decref(former);
    json_decref(doc);
    return 0;
}

/* ListSets: the top sets, then each set of a current record. */
struct sets {
    struct store *s;
    const struct vocab *v;
    json_t *names; /* spec -> name */
};

static int on_set(const char *spec, const char *name, void *arg)
{
    return json_object_set_new(arg, spec, json_string(name)) != 0 ? OER_ENOMEM
                                                                  : 0;
}

static int on_set_doc(const json_t *doc, void *arg)
{
    struct sets *st = arg;

    return crosswalk_sets(doc, st->v, on_set, st->names);
}

static int on_set_origin(const char *origin, const char *head, void *arg)
{
    struct sets *st = arg;

    return store_foreach(st->s, origin, on_set_doc, st);
}

/* origin, level and subject; with vocabularies, the parents of the
 * pivot sets too. */
static json_t *top_sets(const struct vocab *v)
{
    json_t *names = json_pack("{s:s,s:s,s:s}", "origin",
                              "Records by origin node", "level",
                              "Records by education level", "subject",
                              "Records by subject");

    if (names != NULL && v != NULL &&
        (on_set(CROSSWALK_SET_ISCED, "Level: by ISCED 2011 level", names) ||
         on_set(CROSSWALK_SET_PIVOT, "Subject: by shared subject", names))) {
        json_decref(names);
        return NULL;
    }
    return names;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int list_sets(struct reply *r)
{
    struct sets st = {r->s, r->opt->vocab, top_sets(r->opt->vocab)};
    const char **keys = NULL, *key;
    xmlNodePtr list;
    size_t n = 0;
    json_t *v;
    int err;

    if (st.names == NULL)
        return OER_ENOMEM;
    if (r->req.token != NULL) {
        error_element(r, OAI_BAD_RESUMPTION_TOKEN,
                      "ListSets answers in one response; no token is valid");
        json_decref(st.names);
        return 0;
    }
    err = store_origins(r->s, on_set_origin, &st);
    keys = calloc(json_object_size(st.names), sizeof(*keys));
    if (err == 0 && keys == NULL)
        err = OER_ENOMEM;
    if (err == 0) {
        json_object_foreach(st.names, key, v) keys[n++] = key;
        qsort(keys, n, sizeof(*keys), cmp_key);
        list = add(r, r->root, "ListSets", NULL);
        for (size_t i = 0; i < n; i++) {
            xmlNodePtr set = add(r, list, "set", NULL);

            add(r, set, "setSpec", keys[i]);
            add(r, set, "setName",
                json_string_value(json_object_get(st.names, keys[i])));
        }
    }
    free(keys);
    json_decref(st.names);
    return err;
}

/* ---- ListIdentifiers and ListRecords ----------------------------------- */

/* One page of a list being walked. */
struct list {
    struct reply *r;
    struct oai_token *t; /* the list and where this page starts */
    int resumed;         /* the request gave a token */
    xmlNodePtr parent;   /* ListIdentifiers or ListRecords */
    long long min, max;  /* datestamp bounds, inclusive */
    size_t origin;       /* index of the catalogue being walked */
    size_t listed;       /* records on this page */
    int more;            /* a record beyond this page exists */
    /* the last record listed: where the next page starts */
    char after[STORE_OID_HEX];
    char path[80];
    size_t at;
};

static int on_member(const char *spec, const char *name, void *arg)
{
    const char *set = arg;
    size_t n = strlen(set);

    return strncmp(spec, set, n) == 0 && (spec[n] == '\0' || spec[n] == ':');
}

/* Whether the record is in the list's set (for a tombstone: the sets of
 * the version it withdrew). */
static int in_set(const struct list *l, const json_t *doc, const json_t *former)
{
    if (l->t->set[0] == '\0')
        return 1;
    return crosswalk_sets(former != NULL ? former : doc, l->r->opt->vocab,
                          on_member, l->t->set) == 1;
}

/* List the record at path if commit c is where it last changed (its
 * blob at the frozen head is the one c wrote) and it is in the set.
 * Returns 0 to go on, 1 when the page is full and another record
 * waits, or an error. */
static int consider(struct list *l, const struct store_change *c,
                    const char *path)
{
    const char *head = l->t->heads[l->origin];
    char local[72], blob_head[STORE_OID_HEX], blob_c[STORE_OID_HEX];
    json_t *doc = NULL, *former = NULL;
    struct item it = {0};
    int err;

    if (!valid_doc_path(path, local, sizeof(local)))
        return 0;
    err = store_get_at(NULL, blob_c, l->r->s, c->id, path);
    if (err == 0)
        err = store_get_at(&doc, blob_head, l->r->s, head, path);
    if (err == OER_ENOTFOUND || (err == 0 && strcmp(blob_c, blob_head)))
        err = 0; /* changed again later, or gone: listed there */
    else if (err == 0) {
        former = former_version(l->r->s, doc, c->parent, path);
        if (!in_set(l, doc, former))
            err = 0;
        else if (l->listed == l->r->opt->page_size)
            err = l->more = 1;
        else {
            it.doc = doc;
            it.former = former;
            it.stamp = c->time;
            make_identifier(it.identifier, l->r->opt, l->t->origins[l->origin],
                            local);
            if (l->r->req.verb == OAI_LIST_RECORDS)
                add_record(l->r, l->parent, &it, l->t->format);
            else
                add_header(l->r, l->parent, &it);
            l->listed++;
            l->at = l->origin;
            snprintf(l->after, sizeof(l->after), "%s", c->parent);
            snprintf(l->path, sizeof(l->path), "%s", path);
        }
    }
    json_decref(former);
    json_decref(doc);
    return err;
}

static int on_list_change(const struct store_change *c, void *arg)
{
    struct list *l = arg;
    int skip = l->resumed && l->origin == l->t->position &&
               l->t->path[0] != '\0' && strcmp(c->parent, l->t->after) == 0;
    int err = 0;

    for (size_t i = 0; i < c->count && err == 0; i++) {
        if (skip && strcmp(c->paths[i], l->t->path) <= 0)
            continue; /* listed on an earlier page */
        err = consider(l, c, c->paths[i]);
    }
    return err;
}

/* Walk the catalogues from the token's position until the page is full
 * or the list ends. */
static int walk(struct list *l)
{
    int err = 0;

    for (l->origin = l->t->position; l->origin < l->t->count && err == 0;
         l->origin++) {
        const char *after = NULL;

        if (l->resumed && l->origin == l->t->position && l->t->after[0])
            after = l->t->after;
        err = store_changes(l->r->s, l->t->heads[l->origin], after, l->min,
                            l->max, on_list_change, l);
        if (err == 1)
            return 0;
    }
    return err;
}

/* Freeze the catalogues a new list walks: every one, or the one its
 * origin set names. */
struct freeze {
    struct oai_token *t;
    const char *only; /* origin, or NULL */
};

static int on_freeze(const char *origin, const char *head, void *arg)
{
    struct freeze *f = arg;
    struct oai_token *t = f->t;

    if (f->only != NULL && strcmp(f->only, origin) != 0)
        return 0;
    if (t->count == OAI_TOKEN_ORIGINS) {
        log_warn("oai", "too many catalogues for one list", "origin", origin,
                 NULL);
        return OER_EUNSUPPORTED;
    }
    snprintf(t->origins[t->count], sizeof(t->origins[0]), "%s", origin);
    snprintf(t->heads[t->count], sizeof(t->heads[0]), "%s", head);
    t->count++;
    return 0;
}

static int start_list(struct oai_token *t, struct reply *r)
{
    struct freeze f = {t, NULL};
    char only[80];

    memset(t, 0, sizeof(*t));
    t->format = r->req.format;
    snprintf(t->set, sizeof(t->set), "%s", r->req.set ? r->req.set : "");
    snprintf(t->from, sizeof(t->from), "%s", r->req.from ? r->req.from : "");
    snprintf(t->until, sizeof(t->until), "%s",
             r->req.until ? r->req.until : "");
    if (strncmp(t->set, "origin:", 7) == 0) {
        snprintf(only, sizeof(only), "%s", t->set + 7);
        only[strcspn(only, ":")] = '\0';
        f.only = only;
    }
    return store_origins(r->s, on_freeze, &f);
}

/* A token still points into data that exists: every frozen head is in
 * its catalogue's history, the position in the frozen history. */
static int token_current(const struct oai_token *t, struct reply *r)
{
    char head[STORE_OID_HEX];

    for (size_t i = 0; i < t->count; i++) {
        int err = store_head(head, r->s, t->origins[i]);

        if (err == 0)
            err = store_descends(r->s, head, t->heads[i]);
        if (err != 1)
            return err < 0 && err != OER_ENOTFOUND && err != OER_EINVAL
                       ? err
                       : OER_EINVAL;
    }
    if (t->after[0] != '\0') {
        int err = store_descends(r->s, t->heads[t->position], t->after);

        if (err != 1)
            return err < 0 && err != OER_ENOTFOUND ? err : OER_EINVAL;
    }
    return 0;
}

/* The resumptionToken element: the next position, or empty on the last
 * page of a list that had more than one. */
static int end_page(struct list *l)
{
    struct oai_token *t = l->t;
    long long cursor = t->cursor;
    xmlNodePtr n;
    char num[24], *text = NULL;
    int err = 0;

    if (!l->more && !l->resumed)
        return 0;
    if (l->more) {
        t->cursor += (long long)l->listed;
        t->position = l->at;
        snprintf(t->after, sizeof(t->after), "%s", l->after);
        snprintf(t->path, sizeof(t->path), "%s", l->path);
        err = oai_token_encode(&text, t);
        if (err < 0)
            return err;
    }
    n = add(l->r, l->parent, "resumptionToken", text);
    snprintf(num, sizeof(num), "%lld", cursor);
    attr(l->r, n, "cursor", num);
    if (!l->more) {
        snprintf(num, sizeof(num), "%lld", cursor + (long long)l->listed);
        attr(l->r, n, "completeListSize", num);
    }
    free(text);
    return 0;
}

static int list_records(struct reply *r)
{
    struct list l = {.r = r};
    const char *name =
        r->req.verb == OAI_LIST_RECORDS ? "ListRecords" : "ListIdentifiers";
    struct oai_request dates = {0};
    const char *msg;
    int err;

    l.t = calloc(1, sizeof(*l.t));
    if (l.t == NULL)
        return OER_ENOMEM;
    l.resumed = r->req.token != NULL;
    err = l.resumed ? oai_token_decode(l.t, r->req.token) : start_list(l.t, r);
    if (err == 0 && l.resumed)
        err = token_current(l.t, r);
    if (err == OER_EINVAL) {
        error_element(r, OAI_BAD_RESUMPTION_TOKEN,
                      "the resumption token is malformed or points at data "
                      "that no longer exists");
        err = 0;
        goto out;
    }
    if (err < 0)
        goto out;

    dates.from = l.t->from[0] ? l.t->from : NULL;
    dates.until = l.t->until[0] ? l.t->until : NULL;
    parse_dates(&dates, &msg);
    l.min = dates.from_time;
    l.max = dates.until_time;
    l.parent = add(r, r->root, name, NULL);
    if (l.parent == NULL) {
        err = OER_ENOMEM;
        goto out;
    }
    err = walk(&l);
    if (err == 0 && l.listed == 0 && !l.resumed) {
        xmlUnlinkNode(l.parent);
        xmlFreeNode(l.parent);
        error_element(r, OAI_NO_RECORDS_MATCH,
                      "no record matches the arguments");
    } else if (err == 0) {
        err = end_page(&l);
    }

out:
    free(l.t);
    return err;
}

/* ---- answering --------------------------------------------------------- */

static int (*const handlers[])(struct reply *r) = {
    [OAI_IDENTIFY] = identify,
    [OAI_LIST_METADATA_FORMATS] = list_formats,
    [OAI_LIST_SETS] = list_sets,
    [OAI_LIST_IDENTIFIERS] = list_records,
    [OAI_LIST_RECORDS] = list_records,
    [OAI_GET_RECORD] = get_record,
};

/* The verb's answer, or the error the arguments deserve. */
static int answer(struct reply *r)
{
    const char *msg;
    enum oai_error e = oai_parse(&r->req, &msg, r->args);

    request_element(r, e != OAI_BAD_VERB && e != OAI_BAD_ARGUMENT);
    if (e != OAI_OK) {
        error_element(r, e, msg);
        return 0;
    }
    return handlers[r->req.verb](r);
}

int oai_respond(char **out, size_t *len, struct store *s,
                const struct oai_options *opt, const struct oai_args *args)
{
    struct reply r = {.s = s, .opt = opt, .args = args};
    xmlChar *mem = NULL;
    int size = 0, err;

    *out = NULL;
    *len = 0;
    err = envelope(&r);
    if (err == 0)
        err = answer(&r);
    if (err == 0 && r.nomem)
        err = OER_ENOMEM;
    if (err == 0) {
        xmlDocDumpMemoryEnc(r.doc, &mem, &size, "UTF-8");
        if (mem == NULL)
            err = OER_ENOMEM;
    }
    if (err == 0) {
        *out = malloc((size_t)size + 1);
        if (*out == NULL)
            err = OER_ENOMEM;
        else {
            memcpy(*out, mem, (size_t)size);
            (*out)[size] = '\0';
            *len = (size_t)size;
        }
    }
    xmlFree(mem);
    xmlFreeDoc(r.doc);
    return err;
}

/* "http://<host>/oai" from the Host header, when it is a plausible host
 * name or address and port; else the loopback name. */
static void base_url(char *out, size_t cap, const char *host)
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz0123456789.-:[]";
    size_t n = host != NULL ? strlen(host) : 0;

    if (n == 0 || n > 255 || strspn(host, ok) != n)
        host = "localhost";
    snprintf(out, cap, "http://%s/oai", host);
}

static int is_form(const char *type)
{
    static const char form[] = "application/x-www-form-urlencoded";

    return strncasecmp(type, form, sizeof(form) - 1) == 0 &&
           (type[sizeof(form) - 1] == '\0' || type[sizeof(form) - 1] == ';');
}

/* The arguments of the query and, for a POST, its form body. */
static int request_args(struct oai_args *args, const struct http_request *req)
{
    int err = 0;

    for (size_t i = 0; i < req->nargs && err == 0; i++)
        err = oai_args_add(args, req->keys[i], req->values[i]);
    if (req->nargs == HTTP_MAX_ARGS)
        args->overflow = 1;
    if (err == 0 && strcmp(req->method, "POST") == 0 &&
        is_form(req->content_type))
        err = oai_args_form(args, req->body, req->body_len);
    return err;
}

/* The vocabularies of opt->vocab_dir (else INDEX_VOCAB_DIR) for one
 * request; NULL, logged, when they cannot be loaded. */
static struct vocab *request_vocab(const struct oai_options *opt)
{
    const char *dir = opt->vocab_dir;
    struct vocab *v = NULL;

    if (dir == NULL)
        dir = INDEX_VOCAB_DIR;

    if (vocab_load(&v, dir) != 0)
        log_warn("oai", "sets without vocabularies", "dir", dir, NULL);
    return v;
}

void oai_serve(struct http_response *res, const struct http_request *req,
               struct store *s, const struct oai_options *opt)
{
    struct oai_options o = *opt;
    struct oai_args args = {0};
    struct vocab *v = NULL;
    char url[300];
    int err;

    if (o.base_url == NULL) {
        base_url(url, sizeof(url), req->host);
        o.base_url = url;
    }
    if (o.page_size == 0)
        o.page_size = OAI_PAGE_DEFAULT;
    if (o.vocab == NULL)
        o.vocab = v = request_vocab(opt);
    err = request_args(&args, req);
    if (err == OER_EINVAL) {
        /* a malformed form body: answered as an illegal argument */
        args.overflow = 1;
        err = 0;
    }
    if (err == 0)
        err = oai_respond(&res->body, &res->len, s, &o, &args);
    oai_args_release(&args);
    vocab_free(v);
    if (err < 0) {
        http_response_error(res, err == OER_ENOMEM ? 503 : 500, "oai_error",
                            "the OAI-PMH response cannot be built");
        return;
    }
    res->status = 200;
    snprintf(res->content_type, sizeof(res->content_type), "%s",
             "text/xml; charset=utf-8");
}
