/*
 * harvest: the OAI-PMH harvester over libcurl, feeding the import sink;
 * see harvest.h for what it survives and when it stops.
 */
#include "node/harvest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "node/dc.h"
#include "node/error.h"
#include "node/lom.h"
#include "node/log.h"
#include "node/metadata.h"

/* One harvest: its options with defaults filled in, and its state. */
struct harvest {
    struct harvest_options opt;
    struct harvest_stats *stats;
    struct import_run *run;
    CURL *curl;
    int dc;              /* read pages as oai_dc */
    int day;             /* the provider's granularity is the day */
    size_t page_records; /* records on the current page */
    size_t page_seen;    /* of those, seen before in this pass */
    size_t loop_pages;   /* pages in a row of seen records only */
    uint64_t *seen;      /* open-addressed hashes of (id, datestamp) */
    size_t seen_count, seen_cap;
    char **tokens; /* tokens received in this pass */
    size_t token_count;
    int err; /* the sink's fatal error */
    int exhausted;                  /* a request failed on every try */
    char until[HARVEST_DATE_LEN];   /* the until sent; "" for none */
    char earliest[HARVEST_DATE_LEN]; /* Identify's earliestDatestamp */
};

/* A response: status, Retry-After, body. */
struct response {
    long status;
    char retry_after[64];
    char content_type[128];
    char *body;
    size_t len, cap, max;
    int too_large;
};

static void stop(struct harvest *h, const char *fmt, const char *a,
                 const char *b)
{
    snprintf(h->stats->error, sizeof(h->stats->error), fmt, a ? a : "",
             b ? b : "");
    log_warn("harvest", "harvest stopped", "url", h->opt.url, "reason",
             h->stats->error, NULL);
}

/* ------------------------------------------------------------------ */
/* Dates                                                                */

static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* The time and zone after "YYYY-MM-DD": into tm, with the offset. */
static int parse_clock(struct tm *tm, long *offset, const char *s)
{
    int oh, om;

    if (*s != 'T' || digits(s + 1, 2, &tm->tm_hour) < 0 || s[3] != ':' ||
        digits(s + 4, 2, &tm->tm_min) < 0)
        return OER_EINVAL;
    s += 6;
    if (*s == ':' && digits(s + 1, 2, &tm->tm_sec) == 0)
        s += 3;
    if (*s == '.' && s[1] >= '0' && s[1] <= '9') {
        s++;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (strcmp(s, "Z") == 0)
        return 0;
    if ((*s != '+' && *s != '-') || digits(s + 1, 2, &oh) < 0 ||
        s[3] != ':' || digits(s + 4, 2, &om) < 0 || s[6] != '\0')
        return OER_EINVAL;
    *offset = (*s == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
    return 0;
}

int harvest_date(char out[HARVEST_DATE_LEN], const char *text, int day)
{
    struct tm tm = {0};
    long offset = 0;
    time_t t;

    if (text == NULL || strlen(text) < 10 || digits(text, 4, &tm.tm_year) ||
        text[4] != '-' || digits(text + 5, 2, &tm.tm_mon) || text[7] != '-' ||
        digits(text + 8, 2, &tm.tm_mday) || tm.tm_mon < 1 ||
        tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
        return OER_EINVAL;
    if (text[10] != '\0' && parse_clock(&tm, &offset, text + 10) < 0)
        return OER_EINVAL;
    if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return OER_EINVAL;

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm) - offset;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 1000 - 1900 ||
        tm.tm_year > 9999 - 1900)
        return OER_EINVAL;
    strftime(out, HARVEST_DATE_LEN, day ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ",
             &tm);
    return 0;
}

long harvest_retry_after(const char *value, time_t now, long cap)
{
    char *end = NULL;
    long secs;
    time_t when;

    if (value == NULL || value[0] == '\0')
        return -1;
    secs = strtol(value, &end, 10);
    if (end != value && *end == '\0' && value[0] != '-')
        return secs < cap ? secs : cap;
    when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    secs = when > now ? (long)(when - now) : 0;
    return secs < cap ? secs : cap;
}

/* ------------------------------------------------------------------ */
/* Loops: tokens and records seen in one pass of the list               */

static uint64_t fnv(const char *a, const char *b)
{
    uint64_t x = 1469598103934665603ull;

    for (const char *s = a; s != NULL && *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211ull;
    x = (x ^ '\n') * 1099511628211ull;
    for (const char *s = b; s != NULL && *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211ull;
    return x != 0 ? x : 1;
}

/* Remember (id, datestamp); 1 when it was seen before, <0 on ENOMEM. */
static int seen_add(struct harvest *h, uint64_t key)
{
    size_t i;

    if (h->seen_count * 2 >= h->seen_cap) {
        size_t cap = h->seen_cap ? h->seen_cap * 2 : 1024;
        uint64_t *t = calloc(cap, sizeof(*t)), *old = h->seen;

        if (t == NULL)
            return OER_ENOMEM;
        for (size_t j = 0; j < h->seen_cap; j++) {
            for (i = old[j] % cap; old[j] != 0 && t[i] != 0; i = (i + 1) % cap)
                ;
            if (old[j] != 0)
                t[i] = old[j];
        }
        free(old);
        h->seen = t;
        h->seen_cap = cap;
    }
    for (i = key % h->seen_cap; h->seen[i] != 0; i = (i + 1) % h->seen_cap) {
        if (h->seen[i] == key)
            return 1;
    }
    h->seen[i] = key;
    h->seen_count++;
    return 0;
}

/* A new pass of the list: forget the tokens and records of the last. */
static void pass_reset(struct harvest *h)
{
    for (size_t i = 0; i < h->token_count; i++)
        free(h->tokens[i]);
    free(h->tokens);
    free(h->seen);
    h->tokens = NULL;
    h->token_count = 0;
    h->seen = NULL;
    h->seen_count = h->seen_cap = 0;
    h->loop_pages = 0;
}

/* Check a received token against the one sent and all earlier ones. */
static int token_check(struct harvest *h, const char *sent, const char *got)
{
    char **t;

    if (sent != NULL && strcmp(sent, got) == 0) {
        stop(h, "provider loop: the resumption token %s came back unchanged%s",
             got, NULL);
        return OER_EPROTO;
    }
    for (size_t i = 0; i < h->token_count; i++) {
        if (strcmp(h->tokens[i], got) == 0) {
            stop(h, "provider loop: the resumption token %s came back after "
                    "other tokens%s", got, NULL);
            return OER_EPROTO;
        }
    }
    t = realloc(h->tokens, (h->token_count + 1) * sizeof(*t));
    if (t == NULL)
        return OER_ENOMEM;
    h->tokens = t;
    t[h->token_count] = strdup(got);
    if (t[h->token_count] == NULL)
        return OER_ENOMEM;
    h->token_count++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Records into the sink                                                */

/* One record of a page: skip, withdraw or put. */
static int on_one(struct harvest *h, const char *id, const char *stamp,
                  const json_t *doc, int deleted, const char *reason,
                  const char *detail)
{
    char where[160], norm[HARVEST_DATE_LEN];
    int seen;

    h->page_records++;
    if (id == NULL) {
        snprintf(where, sizeof(where), "page %zu record %zu", h->stats->pages,
                 h->page_records);
        import_skip(h->run, where, reason ? reason : "no identifier", detail);
        return 0;
    }
    seen = seen_add(h, fnv(id, stamp));
    if (seen < 0)
        return seen;
    h->page_seen += (size_t)seen;

    if (reason != NULL)
        import_skip(h->run, id, reason, detail);
    else if (deleted)
        h->err = import_withdraw(h->run, id, NULL);
    else if (harvest_date(norm, stamp, 0) < 0)
        import_skip(h->run, id, "bad datestamp", stamp ? stamp : "empty");
    else
        h->err = import_put(h->run, doc, NULL);
    return h->err < 0 ? h->err : 0;
}

static int on_lom(const struct lom_record *rec, void *arg)
{
    struct harvest *h = arg;

    /* lom hands over a datestamp it could read, normalised, or NULL */
    return on_one(h, rec->source_id,
                  rec->datestamp != NULL || rec->deleted ? rec->datestamp
                                                         : "",
                  rec->doc, rec->deleted, rec->error, NULL);
}

static int on_dc(const struct dc_record *rec, void *arg)
{
    return on_one(arg, rec->source_id, rec->datestamp, rec->doc, rec->deleted,
                  rec->reason, rec->detail);
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                 */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct response *r = arg;
    size_t add = size * n;

    if (add > r->max - r->len) {
        r->too_large = 1;
        return 0;
    }
    if (r->len + add + 1 > r->cap) {
        size_t cap = (r->len + add + 1) * 2;
        char *b = realloc(r->body, cap);

        if (b == NULL)
            return 0;
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

/* Keep one header's value, trimmed, when its name matches. */
static void header_value(char *out, size_t cap, const char *line, size_t n,
                         const char *name)
{
    size_t k = strlen(name), end = n;

    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return;
    for (k++; k < n && (line[k] == ' ' || line[k] == '\t'); k++)
        ;
    while (end > k && strchr(" \t\r\n", line[end - 1]) != NULL)
        end--;
    snprintf(out, cap, "%.*s", (int)(end - k), line + k);
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct response *r = arg;

    header_value(r->retry_after, sizeof(r->retry_after), data, size * n,
                 "Retry-After");
    header_value(r->content_type, sizeof(r->content_type), data, size * n,
                 "Content-Type");
    return size * n;
}

static int curl_setup(struct harvest *h)
{
    CURL *c = curl_easy_init();

    if (c == NULL)
        return OER_ENOMEM;
    h->curl = c;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->opt.connect_timeout);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->opt.stall_timeout);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)h->opt.response_max);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "oernode/" OERNODE_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    return 0;
}

/* One GET; 0 with the response, or a curl failure in why. */
static int http_get(struct harvest *h, struct response *r, const char *url,
                    char *why, size_t cap)
{
    CURLcode rc;

    free(r->body);
    memset(r, 0, sizeof(*r));
    r->max = h->opt.response_max;
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, r);
    rc = curl_easy_perform(h->curl);
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (rc == CURLE_OK)
        return 0;
    if (r->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        snprintf(why, cap, "the response is larger than %zu bytes",
                 h->opt.response_max);
    else
        snprintf(why, cap, "%s", curl_easy_strerror(rc));
    return r->too_large || rc == CURLE_FILESIZE_EXCEEDED ? OER_EINVAL
                                                         : OER_EIO;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* How long before try number `attempt` (from 1) of a failed request. */
static long backoff(const struct harvest *h, const struct response *r,
                    unsigned attempt)
{
    long ms = h->opt.backoff_ms, secs;

    for (unsigned i = 1; i < attempt && ms < HARVEST_BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > HARVEST_BACKOFF_MAX_MS)
        ms = HARVEST_BACKOFF_MAX_MS;
    if (r->status == 503 || r->status == 429) {
        secs = harvest_retry_after(r->retry_after, time(NULL),
                                   h->opt.retry_after_max);
        if (secs >= 0)
            ms = secs * 1000;
    }
    return ms;
}

/* ------------------------------------------------------------------ */
/* Pages                                                                */

/* Whether a body is an HTML page rather than XML. */
static int is_html(const struct response *r)
{
    char head[512];
    size_t n = r->len < sizeof(head) - 1 ? r->len : sizeof(head) - 1;

    if (strncasecmp(r->content_type, "text/html", 9) == 0)
        return 1;
    memcpy(head, r->body != NULL ? r->body : "", n);
    head[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)head[i];

        head[i] = (char)(ch == '\0' ? ' ' : ch >= 'A' && ch <= 'Z' ? ch + 32
                                                                     : ch);
    }
    return strstr(head, "<html") != NULL ||
           strstr(head, "<!doctype html") != NULL;
}

/*
 * Whether nothing but white space follows the first closing OAI-PMH tag:
 * a provider that timed out may append a second document to an error
 * (B09), which a recovering parser would half read.
 */
static int one_document(const struct response *r)
{
    const char *b = r->body, *end = r->body + r->len, *p;

    for (p = b; p != NULL && p + 8 <= end; p++) {
        const char *lt;

        p = memchr(p, 'O', (size_t)(end - p));
        if (p == NULL || end - p < 8 || memcmp(p, "OAI-PMH>", 8) != 0)
            continue;
        for (lt = p; lt > b && lt[-1] != '<' && lt[-1] != '>'; lt--)
            ;
        if (lt > b && lt[-1] == '<' && lt[0] == '/')
            break;
    }
    if (p == NULL || p + 8 > end)
        return 1;
    for (p += 8; p < end; p++) {
        if (strchr(" \t\r\n", *p) == NULL || *p == '\0')
            return 0;
    }
    return 1;
}

/* Read one page through the reader of the prefix into the sink. */
static int page_read(struct harvest *h, struct lom_page *page,
                     const struct response *r, const char *url, char *why,
                     size_t cap)
{
    int err;

    why[0] = '\0';
    h->page_records = h->page_seen = 0;
    if (h->dc)
        err = dc_read_page(page, r->body, r->len, url, on_dc, h, why, cap);
    else
        err = lom_read_memory(page, r->body, r->len, url, on_lom, h);
    if (h->err < 0)
        return h->err;
    if (err == OER_EINVAL && why[0] == '\0')
        snprintf(why, cap, "not well-formed, or not an OAI-PMH response");
    if (err == OER_EUNSUPPORTED)
        snprintf(why, cap, "the answer to ListRecords is another verb's");
    return err;
}

/*
 * GET url until a page reads, with retries; records go to the sink as
 * the page is read.  Returns 0 (page filled), or the error of the last
 * try with the harvest's error set.  An OAI-PMH error response returns
 * OER_EPROTO with page->error_code set and no harvest error.
 */
static int page_fetch(struct harvest *h, struct lom_page *page,
                      const char *url)
{
    struct response r = {0};
    char why[256] = "", num[24];
    unsigned attempt;
    int err = OER_EIO;

    for (attempt = 1; attempt <= h->opt.attempts; attempt++) {
        if (attempt > 1) {
            long ms = backoff(h, &r, attempt - 1);

            h->stats->retries++;
            log_info("harvest", "retrying", "url", url, "reason", why,
                     "wait_ms", log_num(num, ms), NULL);
            pause_ms(ms);
        }
        lom_page_release(page);
        err = http_get(h, &r, url, why, sizeof(why));
        if (err == OER_EINVAL)
            break;
        if (err < 0)
            continue;
        if (r.status >= 500 || r.status == 429) {
            snprintf(why, sizeof(why), "HTTP %ld", r.status);
            err = OER_EIO;
            continue;
        }
        if (is_html(&r)) {
            snprintf(why, sizeof(why), "an HTML page (HTTP %ld), not an "
                     "OAI-PMH response", r.status);
            err = OER_EPROTO;
            continue;
        }
        if (!one_document(&r)) {
            snprintf(why, sizeof(why), "more than one XML document in one "
                     "response");
            err = OER_EPROTO;
            continue;
        }
        err = page_read(h, page, &r, url, why, sizeof(why));

        if (err == 0 || err == OER_ENOMEM || h->err < 0 ||
            (err == OER_EPROTO && page->error_code != NULL &&
             page->error_code[0] != '\0'))
            break;
        if (r.status != 200 && err == OER_EINVAL)
            snprintf(why, sizeof(why), "HTTP %ld, not an OAI-PMH response",
                     r.status);
        if (err == OER_EUNSUPPORTED)
            break;
    }
    free(r.body);
    /* a window the provider fails on (HTTP 5xx) every time: split */
    if (attempt > h->opt.attempts && r.status >= 500 && h->err == 0)
        h->exhausted = 1;
    if (err < 0 && h->err == 0 &&
        !(err == OER_EPROTO && page->error_code != NULL &&
          page->error_code[0] != '\0'))
        stop(h, "%s: %s", url, why);
    return err;
}

/* ------------------------------------------------------------------ */
/* Identify and the list                                                */

static char *request_url(struct harvest *h, const char *verb,
                         const char *token)
{
    char *url = NULL, *e = NULL;
    size_t cap = strlen(h->opt.url) + 64;
    const char *args[][2] = {{"metadataPrefix", h->opt.prefix},
                             {"set", h->opt.set},
                             {"from", h->stats->from},
                             {"until", h->until}};

    if (token != NULL)
        cap += strlen(token) * 3;
    for (size_t i = 0; i < 4; i++)
        cap += args[i][1] != NULL ? strlen(args[i][1]) * 3 + 20 : 0;
    url = malloc(cap);
    if (url == NULL)
        return NULL;
    snprintf(url, cap, "%s%cverb=%s", h->opt.url,
             strchr(h->opt.url, '?') != NULL ? '&' : '?', verb);
    for (size_t i = 0; i < 4 && strcmp(verb, "ListRecords") == 0; i++) {
        const char *v = token != NULL ? (i == 0 ? token : NULL) : args[i][1];

        if (v == NULL || v[0] == '\0')
            continue;
        e = curl_easy_escape(h->curl, v, 0);
        if (e == NULL) {
            free(url);
            return NULL;
        }
        snprintf(url + strlen(url), cap - strlen(url), "&%s=%s",
                 token != NULL ? "resumptionToken" : args[i][0], e);
        curl_free(e);
    }
    return url;
}

/* Granularity and responseDate of an Identify answer; OER_EINVAL when
 * it is not one. */
static int identify_parse(struct harvest *h, const struct response *r)
{
    const char *buf = r->body != NULL ? r->body : "";
    size_t len = r->len, i = 0;
    xmlDoc *doc = NULL;
    xmlNode *root, *n, *id = NULL, *date = NULL, *gran = NULL;
    xmlNode *early = NULL;
    xmlChar *text;
    int err = OER_EINVAL;

    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < len && strchr(" \t\r\n", buf[i]) != NULL && buf[i] != '\0')
        i++;
    /* a DOCTYPE could declare entities: refused, as the readers do */
    for (size_t k = 0; k + 9 <= len; k++) {
        if (memcmp(buf + k, "<!DOCTYPE", 9) == 0)
            return OER_EINVAL;
    }
    doc = xmlReadMemory(buf + i, (int)(len - i), h->opt.url, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
    root = xmlDocGetRootElement(doc);
    if (root == NULL || root->ns == NULL ||
        xmlStrcmp(root->name, BAD_CAST "OAI-PMH") != 0 ||
        xmlStrcmp(root->ns->href, BAD_CAST LOM_NS_OAI) != 0)
        goto out;
    for (n = root->children; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST "Identify"))
            id = n;
        if (n->type == XML_ELEMENT_NODE &&
            !xmlStrcmp(n->name, BAD_CAST "responseDate"))
            date = n;
    }
    for (n = id != NULL ? id->children : NULL; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE &&
            !xmlStrcmp(n->name, BAD_CAST "granularity"))
            gran = n;
        if (n->type == XML_ELEMENT_NODE &&
            !xmlStrcmp(n->name, BAD_CAST "earliestDatestamp"))
            early = n;
    }
    if (id == NULL)
        goto out;
    text = gran != NULL ? xmlNodeGetContent(gran) : NULL;
    h->day = text == NULL || strstr((const char *)text, "hh") == NULL;
    snprintf(h->stats->granularity, HARVEST_DATE_LEN, "%s",
             text != NULL ? (const char *)text : "YYYY-MM-DD");
    xmlFree(text);
    text = date != NULL ? xmlNodeGetContent(date) : NULL;
    if (text == NULL ||
        harvest_date(h->stats->mark, (const char *)text, h->day) < 0)
        h->stats->mark[0] = '\0';
    xmlFree(text);
    text = early != NULL ? xmlNodeGetContent(early) : NULL;
    if (text == NULL ||
        harvest_date(h->earliest, (const char *)text, h->day) < 0)
        h->earliest[0] = '\0';
    xmlFree(text);
    err = 0;

out:
    xmlFreeDoc(doc);
    return err;
}

static int identify(struct harvest *h)
{
    struct response r = {0};
    char why[256] = "", *url = request_url(h, "Identify", NULL);
    unsigned attempt;
    int err = OER_ENOMEM;

    for (attempt = 1; url != NULL && attempt <= h->opt.attempts; attempt++) {
        if (attempt > 1) {
            h->stats->retries++;
            pause_ms(backoff(h, &r, attempt - 1));
        }
        err = http_get(h, &r, url, why, sizeof(why));
        if (err == 0 && (r.status >= 500 || r.status == 429)) {
            snprintf(why, sizeof(why), "HTTP %ld", r.status);
            err = OER_EIO;
        }
        if (err == OER_EIO)
            continue;
        if (err == 0 && identify_parse(h, &r) < 0) {
            snprintf(why, sizeof(why), "%s", is_html(&r)
                         ? "its Identify answer is an HTML page"
                         : "its Identify answer is not OAI-PMH");
            err = OER_EPROTO;
        }
        break;
    }
    if (err == OER_EPROTO || err == OER_EINVAL)
        stop(h, "%s is not an OAI-PMH provider: %s", h->opt.url, why);
    else if (err == OER_EIO)
        stop(h, "%s cannot be reached: %s", h->opt.url, why);
    free(url);
    free(r.body);
    return err;
}

/* The end of one page: loops, caps, the next token (NULL: done). */
static int page_next(struct harvest *h, const struct lom_page *page,
                     const char *sent, const char **next)
{
    char num[24];

    *next = NULL;
    if (page->response_date != NULL && h->stats->mark[0] == '\0' &&
        harvest_date(h->stats->mark, page->response_date, h->day) < 0)
        h->stats->mark[0] = '\0';
    if (h->page_records > 0 && h->page_seen == h->page_records)
        h->loop_pages++;
    else
        h->loop_pages = 0;
    if (h->loop_pages >= HARVEST_LOOP_PAGES) {
        stop(h, "provider loop: %s pages in a row held only records seen "
                "already%s", log_num(num, HARVEST_LOOP_PAGES), NULL);
        return OER_EPROTO;
    }
    if (page->resumption_token == NULL || page->resumption_token[0] == '\0')
        return 0;
    if (h->stats->pages >= h->opt.pages_max) {
        stop(h, "more than %s pages: stopped%s",
             log_num(num, (long long)h->opt.pages_max), NULL);
        return OER_EPROTO;
    }
    *next = page->resumption_token;
    return token_check(h, sent, page->resumption_token);
}

/* One pass of the list from its first request; OER_ECONFLICT asks for a
 * restart (badResumptionToken). */
static int list_pass(struct harvest *h)
{
    struct lom_page page = {0};
    char *token = NULL, *url = NULL;
    const char *next;
    int err = 0;

    pass_reset(h);
    do {
        free(url);
        url = request_url(h, "ListRecords", token);
        if (url == NULL) {
            err = OER_ENOMEM;
            break;
        }
        h->stats->pages++;
        err = page_fetch(h, &page, url);
        if (err == OER_EPROTO && page.error_code != NULL &&
            strcmp(page.error_code, "badResumptionToken") == 0 && token) {
            log_warn("harvest", "token refused: the list starts again", "url",
                     url, "token", token, NULL);
            err = OER_ECONFLICT;
        } else if (err == OER_EPROTO && page.error_code != NULL &&
                   page.error_code[0] != '\0') {
            stop(h, "the provider answered with the OAI-PMH error %s: %s",
                 page.error_code, page.error_message);
        }
        if (err == 0)
            err = page_next(h, &page, token, &next);
        if (err == 0 && next != NULL) {
            free(token);
            token = strdup(next);
            err = token != NULL ? 0 : OER_ENOMEM;
        } else if (err == 0) {
            free(token);
            token = NULL;
        }
        lom_page_release(&page);
    } while (err == 0 && token != NULL);
    free(token);
    free(url);
    return err;
}

static int harvest_list(struct harvest *h)
{
    char num[24];
    int err;

    for (;;) {
        err = list_pass(h);
        if (err != OER_ECONFLICT)
            return err;
        if (h->stats->restarts >= h->opt.restarts) {
            stop(h, "the provider refused a resumption token after %s "
                    "restarts of the list; stopped%s",
                 log_num(num, (long long)h->stats->restarts), NULL);
            return OER_EPROTO;
        }
        h->stats->restarts++;
    }
}

/* ------------------------------------------------------------------ */
/* Windows: a from/until range that fails on every try, split (B09 d)  */

/* Seconds since the epoch of a date in any form harvest_date reads. */
static int date_secs(const char *text, time_t *out)
{
    char norm[HARVEST_DATE_LEN];
    struct tm tm = {0};

    if (harvest_date(norm, text, 0) < 0 ||
        sscanf(norm, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return OER_EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return 0;
}

/* A time as a date at the provider's granularity. */
static void date_text(const struct harvest *h, char out[HARVEST_DATE_LEN],
                      time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, HARVEST_DATE_LEN, h->day ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ",
             &tm);
}

/* The smallest window that fails is skipped: reported, and the mark is
 * held at its start. */
static void window_skip(struct harvest *h, time_t lo, time_t hi)
{
    char a[HARVEST_DATE_LEN], b[HARVEST_DATE_LEN], where[80], why[320];

    date_text(h, a, lo);
    date_text(h, b, hi);
    snprintf(where, sizeof(where), "window from=%s until=%s", a, b);
    snprintf(why, sizeof(why), "%s", h->stats->error);
    log_warn("harvest", "window skipped: the provider failed on every try",
             "url", h->opt.url, "from", a, "until", b, NULL);
    import_skip(h->run, where, "the provider failed on every try", why);
    if (h->stats->windows_skipped++ == 0 || strcmp(a, h->stats->held) < 0)
        snprintf(h->stats->held, HARVEST_DATE_LEN, "%s", a);
}

static int window_split(struct harvest *h, time_t lo, time_t hi);

/* Harvest [lo, hi]; split it when it fails on every try. */
static int window_list(struct harvest *h, time_t lo, time_t hi)
{
    int err;

    date_text(h, h->stats->from, lo);
    date_text(h, h->until, hi);
    h->exhausted = 0;
    err = harvest_list(h);
    if (err == 0 || !h->exhausted)
        return err;
    return window_split(h, lo, hi);
}

/* Halves of [lo, hi] at the granularity, each harvested; a window no
 * larger than the minimum is skipped instead. */
static int window_split(struct harvest *h, time_t lo, time_t hi)
{
    time_t step = h->day ? 86400 : 1, half;
    char num[24];
    long min = h->opt.window_min > step ? h->opt.window_min : (long)step;
    int err;

    if (h->stats->windows >= HARVEST_SPLITS_MAX) {
        stop(h, "the provider failed on every try in more than %s "
                "windows; stopped%s", log_num(num, HARVEST_SPLITS_MAX), NULL);
        return OER_EIO;
    }
    if (hi - lo + step <= min) {
        window_skip(h, lo, hi);
        h->stats->error[0] = '\0';
        return 0;
    }
    half = (hi - lo) / step / 2 * step;
    h->stats->windows++;
    err = window_list(h, lo, lo + half);
    if (err == 0)
        err = window_list(h, lo + half + step, hi);
    return err;
}

/* After the whole list failed on every try (err): split from (else
 * earliestDatestamp) to the run's responseDate when both are known,
 * else return err. */
static int window_retry(struct harvest *h, int err)
{
    char from[HARVEST_DATE_LEN];
    time_t lo, hi;

    snprintf(from, sizeof(from), "%s",
             h->stats->from[0] ? h->stats->from : h->earliest);
    if (date_secs(from, &lo) < 0 || date_secs(h->stats->mark, &hi) < 0 ||
        hi < lo)
        return err;
    log_warn("harvest", "the window failed on every try: split in halves",
             "url", h->opt.url, "from", from, "until", h->stats->mark, NULL);
    h->stats->error[0] = '\0';
    h->stats->windows++;
    err = window_split(h, lo, hi);
    snprintf(h->stats->from, HARVEST_DATE_LEN, "%s", from);
    h->until[0] = '\0';
    if (err == 0 && h->stats->windows_skipped > 0 &&
        strcmp(h->stats->held, h->stats->mark) < 0)
        snprintf(h->stats->mark, HARVEST_DATE_LEN, "%s", h->stats->held);
    return err;
}

/* ------------------------------------------------------------------ */
/* Options and the run                                                  */

static void defaults(struct harvest_options *o)
{
    if (o->prefix == NULL)
        o->prefix = "lom";
    if (o->backoff_ms <= 0)
        o->backoff_ms = HARVEST_BACKOFF_MS;
    if (o->retry_after_max <= 0)
        o->retry_after_max = HARVEST_RETRY_AFTER_MAX;
    if (o->attempts == 0)
        o->attempts = HARVEST_ATTEMPTS;
    if (o->restarts == 0)
        o->restarts = HARVEST_RESTARTS;
    if (o->pages_max == 0)
        o->pages_max = HARVEST_PAGES_MAX;
    if (o->response_max == 0 || o->response_max > LOM_INPUT_MAX)
        o->response_max = HARVEST_RESPONSE_MAX;
    if (o->connect_timeout <= 0)
        o->connect_timeout = HARVEST_CONNECT_TIMEOUT;
    if (o->stall_timeout <= 0)
        o->stall_timeout = HARVEST_STALL_TIMEOUT;
}

/* The from to send: --from, else the mark, truncated to granularity. */
static int window(struct harvest *h)
{
    char mark[HARVEST_DATE_LEN];
    const char *from = h->opt.from;
    int err;

    if (from == NULL) {
        err = harvest_mark_load(mark, &h->opt);
        if (err == OER_ENOTFOUND)
            return 0;
        if (err < 0) {
            stop(h, "the stored high-water mark cannot be read (%s)%s",
                 error_name(err), NULL);
            return err;
        }
        from = mark;
    }
    if (harvest_date(h->stats->from, from, h->day) < 0) {
        stop(h, "'%s' is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)%s",
             from, NULL);
        return OER_EINVAL;
    }
    return 0;
}

int harvest_run(struct harvest_stats *out, struct import_run *run,
                const struct harvest_options *opt)
{
    struct harvest h = {.opt = *opt, .stats = out, .run = run};
    int err;

    memset(out, 0, sizeof(*out));
    defaults(&h.opt);
    h.dc = strcmp(h.opt.prefix, "oai_dc") == 0;
    if (h.opt.url == NULL || (strncasecmp(h.opt.url, "http://", 7) != 0 &&
                              strncasecmp(h.opt.url, "https://", 8) != 0)) {
        stop(&h, "'%s' is not an http or https URL%s", h.opt.url, NULL);
        return OER_EINVAL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return OER_ENOMEM;
    xmlInitParser();

    err = curl_setup(&h);
    if (err == 0)
        err = identify(&h);
    if (err == 0)
        err = window(&h);
    if (err == 0)
        err = harvest_list(&h);
    if (err < 0 && h.exhausted && h.err == 0)
        err = window_retry(&h, err);
    out->complete = err == 0;
    if (err == OER_ENOMEM && out->error[0] == '\0')
        stop(&h, "out of memory%s%s", NULL, NULL);
    pass_reset(&h);
    curl_easy_cleanup(h.curl);
    curl_global_cleanup();
    return err;
}

int harvest_import(struct import_summary *sum, struct harvest_stats *out,
                   const struct import_options *iopt,
                   const struct harvest_options *opt)
{
    struct import_run *run = NULL;
    int err, done;

    memset(out, 0, sizeof(*out));
    err = import_begin(&run, iopt);
    if (err < 0) {
        import_finish(sum, NULL);
        snprintf(out->error, sizeof(out->error), "the import cannot begin");
        return err;
    }
    err = harvest_run(out, run, opt);
    done = import_finish(sum, run);
    if (err == 0)
        err = done;
    if (err == 0 && !iopt->dry_run && out->mark[0] != '\0')
        err = harvest_mark_save(opt, out->mark);
    return err;
}

/* ------------------------------------------------------------------ */
/* High-water marks                                                     */

/* DIR/<sha-256 of url, set, prefix>.json, malloc'd. */
static char *mark_path(const struct harvest_options *opt)
{
    unsigned char md[32];
    unsigned int n = 0;
    char hex[65], *path;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const char *parts[3] = {opt->url, opt->set ? opt->set : "",
                            opt->prefix ? opt->prefix : "lom"};

    if (ctx == NULL || opt->state_dir == NULL ||
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    for (int i = 0; i < 3; i++)
        EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    path = malloc(strlen(opt->state_dir) + 80);
    if (path != NULL)
        sprintf(path, "%s/%s.json", opt->state_dir, hex);
    return path;
}

int harvest_mark_load(char out[HARVEST_DATE_LEN],
                      const struct harvest_options *opt)
{
    char *path;
    json_t *doc;
    const char *from;
    json_error_t jerr;
    int err = OER_ENOTFOUND;

    if (opt->state_dir == NULL)
        return OER_ENOTFOUND;
    path = mark_path(opt);
    if (path == NULL)
        return OER_EIO;
    if (access(path, F_OK) != 0) {
        err = errno == ENOENT ? OER_ENOTFOUND : OER_EIO;
        free(path);
        return err;
    }
    doc = json_load_file(path, 0, &jerr);
    from = json_string_value(json_object_get(doc, "from"));
    if (from == NULL || strlen(from) >= HARVEST_DATE_LEN) {
        log_warn("harvest", "bad high-water mark file", "file", path, NULL);
        err = OER_ECORRUPT;
    } else {
        snprintf(out, HARVEST_DATE_LEN, "%s", from);
        err = 0;
    }
    json_decref(doc);
    free(path);
    return err;
}

/* Write text to path through a temporary file, renamed in place. */
static int write_atomic(const char *path, const char *text)
{
    size_t n = strlen(path) + 8, len = strlen(text);
    char *tmp = malloc(n);
    int fd = -1, err = OER_EIO;

    if (tmp == NULL)
        return OER_ENOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) == 0)
        err = 0;

out:
    if (fd >= 0)
        close(fd);
    if (err < 0) {
        log_warn("harvest", "cannot write the high-water mark", "file", path,
                 "error", strerror(errno), NULL);
        unlink(tmp);
    }
    free(tmp);
    return err;
}

int harvest_mark_save(const struct harvest_options *opt, const char *mark)
{
    char now[24], *path = NULL, *text = NULL;
    json_t *doc = NULL;
    int err = OER_EINVAL;

    if (opt->state_dir == NULL || mark == NULL || mark[0] == '\0')
        return OER_EINVAL;
    if (mkdir(opt->state_dir, 0755) != 0 && errno != EEXIST) {
        log_warn("harvest", "cannot create the folder of marks", "dir",
                 opt->state_dir, "error", strerror(errno), NULL);
        return OER_EIO;
    }
    path = mark_path(opt);
    metadata_now(now);
    doc = json_pack("{s:s, s:s?, s:s, s:s, s:s}", "url", opt->url, "set",
                    opt->set, "prefix", opt->prefix ? opt->prefix : "lom",
                    "from", mark, "saved", now);
    text = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS)
                       : NULL;
    err = path == NULL || text == NULL ? OER_ENOMEM
                                       : write_atomic(path, text);
    if (err == 0)
        log_info("harvest", "high-water mark stored", "url", opt->url, "from",
                 mark, NULL);
    free(text);
    json_decref(doc);
    free(path);
    return err;
}
