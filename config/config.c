/*
 * config: read the node's git-config file with libgit2, one table entry
 * per known key, and fill in the defaults.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "federation/identity.h"
#include "federation/vocab.h"
#include "node/error.h"
#include "node/metadata.h"
#include "node/wholefile.h"

enum key_kind {
    KEY_ID,
    KEY_PATH,
    KEY_ADDRESS,
    KEY_LEVEL,
    KEY_BOOL,
    KEY_ORIGINS,
    KEY_LEVELS,
    KEY_SUBJECTS,
    KEY_EMAIL,
    KEY_PAGE,
    KEY_DAYS,
    KEY_RATE,
    KEY_URL
};

struct key {
    const char *name;
    enum key_kind kind;
    size_t off; /* of the field in struct config */
};

static const struct key keys[] = {
    {"node.id", KEY_ID, offsetof(struct config, node_id)},
    {"node.data", KEY_PATH, offsetof(struct config, data_dir)},
    {"node.admin-email", KEY_EMAIL, offsetof(struct config, admin_email)},
    {"oai.page-size", KEY_PAGE, offsetof(struct config, oai_page_size)},
    {"oai.base-url", KEY_URL, offsetof(struct config, oai_base_url)},
    {"accounts.expire-days", KEY_DAYS,
     offsetof(struct config, accounts_expire_days)},
    {"search.peer-rate", KEY_RATE, offsetof(struct config, search_peer_rate)},
    {"listen.peer", KEY_ADDRESS, offsetof(struct config, listen_peer)},
    {"listen.http", KEY_ADDRESS, offsetof(struct config, listen_http)},
    {"web.root", KEY_PATH, offsetof(struct config, web_root)},
    {"vocab.root", KEY_PATH, offsetof(struct config, vocab_root)},
    {"log.level", KEY_LEVEL, offsetof(struct config, log_level)},
    {"policy.accept", KEY_ORIGINS, offsetof(struct config, policy.accept)},
    {"policy.offer", KEY_ORIGINS, offsetof(struct config, policy.offer)},
    {"policy.level", KEY_LEVELS, offsetof(struct config, policy.levels)},
    {"policy.subject", KEY_SUBJECTS, offsetof(struct config, policy.subjects)},
    {"policy.relay", KEY_BOOL, offsetof(struct config, policy.relay)},
    {"policy.commercial", KEY_BOOL, offsetof(struct config, policy.commercial)},
    {"policy.adapts", KEY_BOOL, offsetof(struct config, policy.adapts)},
};

/* State of one load: the config being filled and where errors go. */
struct load {
    struct config *c;
    struct config_error *err;
    int rc;
};

static int fail(struct load *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct load *l, const char *key, const char *fmt, ...)
{
    va_list ap;

    l->rc = OER_EINVAL;
    if (l->err == NULL)
        return OER_EINVAL;
    snprintf(l->err->key, sizeof(l->err->key), "%s", key);
    va_start(ap, fmt);
    vsnprintf(l->err->detail, sizeof(l->err->detail), fmt, ap);
    va_end(ap);
    return OER_EINVAL;
}

static int valid_node_id(const char *id)
{
    return id != NULL && metadata_valid_origin(id) != 0;
}

int config_fingerprint_valid(const char *text)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n;

    if (text == NULL || strncmp(text, "SHA256:", 7) != 0)
        return 0;
    text += 7;
    n = strlen(text);

    /* 32 bytes are 43 characters; the last one carries 4 zero bits */
    if (n != 43 || strspn(text, b64) != n)
        return 0;
    return strchr("AEIMQUYcgkosw048", text[42]) != NULL;
}

static int valid_dns_name(const char *host)
{
    size_t label = 0, n = strlen(host);

    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char ch = host[i];

        if (ch == '.' || ch == '\0') {
            if (label == 0 || label > 63 || host[i - 1] == '-')
                return 0;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)) {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

static int parse_port(unsigned *out, const char *text)
{
    unsigned long port;
    char *end;

    if (*text < '0' || *text > '9' || strlen(text) > 5)
        return OER_EINVAL;
    port = strtoul(text, &end, 10);
    if (*end != '\0' || port > 65535)
        return OER_EINVAL;
    *out = (unsigned)port;
    return 0;
}

static int check_host(const char *host, int bracketed)
{
    unsigned char addr[16];

    if (bracketed)
        return inet_pton(AF_INET6, host, addr) == 1 ? 0 : OER_EINVAL;
    if (strspn(host, "0123456789.") == strlen(host))
        return inet_pton(AF_INET, host, addr) == 1 ? 0 : OER_EINVAL;
    return valid_dns_name(host) ? 0 : OER_EINVAL;
}

int config_address_parse(char *host, size_t cap, unsigned *port,
                         const char *address)
{
    const char *start = address, *end, *colon;
    int bracketed = address[0] == '[';
    size_t n;

    if (bracketed) {
        start++;
        end = strchr(start, ']');
        if (end == NULL || end[1] != ':')
            return OER_EINVAL;
        colon = end + 1;
    } else {
        colon = strrchr(address, ':');
        end = colon;
        if (colon == NULL || memchr(address, ':', colon - address) != NULL)
            return OER_EINVAL;
    }

    n = (size_t)(end - start);
    if (n == 0 || n >= cap)
        return OER_EINVAL;
    memcpy(host, start, n);
    host[n] = '\0';
    if (check_host(host, bracketed) != 0)
        return OER_EINVAL;
    return parse_port(port, colon + 1);
}

static int set_string(char **field, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return OER_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

static int append_origin(struct config_origins *list, const char *value)
{
    char **grown = realloc(list->names, (list->count + 1) * sizeof(char *));

    if (grown == NULL)
        return OER_ENOMEM;
    list->names = grown;
    grown[list->count] = strdup(value);
    if (grown[list->count] == NULL)
        return OER_ENOMEM;
    list->count++;
    return 0;
}

/* A subject id of the shared subject list: 1 to 64 of [a-z0-9-],
 * starting with a letter (the same shape as a node id). */
static int valid_subject(const char *value)
{
    return metadata_valid_origin(value) != 0;
}

/* One value of a list key: an origin ("*", "none" or a node id), an
 * ISCED code or a subject id.  The detail when it is bad, else NULL. */
static const char *list_problem(enum key_kind kind, const char *value)
{
    if (kind == KEY_LEVELS)
        return vocab_pivot_level(value) < 0
                   ? "bad level '%.80s': an ISCED 2011 code, 0 to 8 and up "
                     "to three more digits"
                   : NULL;
    if (kind == KEY_SUBJECTS)
        return valid_subject(value) ? NULL
                                    : "bad subject '%.80s': an id of the "
                                      "shared subject list";
    if (strcmp(value, "*") != 0 && strcmp(value, "none") != 0 &&
        !valid_node_id(value))
        return "bad origin '%.80s': a node id, * or none";
    return NULL;
}

static int set_list(struct load *l, const char *key, enum key_kind kind,
                    struct config_origins *list, const char *value)
{
    const char *problem = list_problem(kind, value);

    if (problem != NULL)
        return fail(l, key, problem, value);
    return append_origin(list, value);
}

/* An e-mail address as OAI-PMH's adminEmail: local@domain, printable
 * ASCII without spaces, at most 254 characters. */
static int valid_email(const char *value)
{
    const char *at = strchr(value, '@');
    size_t n = strlen(value);

    if (n > 254 || at == NULL || at == value || at[1] == '\0' ||
        strchr(at + 1, '@') != NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (value[i] <= ' ' || value[i] > '~' || strchr("<>\"", value[i]))
            return 0;
    }
    return 1;
}

/* oai.base-url: an absolute http or https URL whose host (and port) is
 * letters, digits, '.', '-', or an [IPv6] address, then an optional
 * path; printable ASCII without spaces, no user, query or fragment, at
 * most 255 characters. */
static int valid_base_url(const char *value)
{
    const char *host = NULL;
    size_t n = strlen(value), len;

    if (strncasecmp(value, "http://", 7) == 0)
        host = value + 7;
    else if (strncasecmp(value, "https://", 8) == 0)
        host = value + 8;
    if (host == NULL || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (value[i] <= ' ' || value[i] > '~' || strchr("<>\"?#@\\", value[i]))
            return 0;
    }
    len = strcspn(host, "/");
    return len > 0 && host[0] != ':' &&
           strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789.-:[]") >= len;
}

/* A whole number from 1 to max, as key k's value. */
static int set_count(struct load *l, const struct key *k, unsigned *field,
                     const char *value, unsigned long max)
{
    unsigned long n;
    char *end;

    n = strtoul(value, &end, 10);
    if (*value < '0' || *value > '9' || *end != '\0' || n < 1 || n > max)
        return fail(l, k->name, "bad value '%.80s': expected 1 to %lu",
                    value, max);
    *field = (unsigned)n;
    return 0;
}

static int set_key(struct load *l, const struct key *k, const char *value)
{
    char *field = (char *)l->c + k->off;
    char host[256];
    unsigned port;
    int flag;

    switch (k->kind) {
    case KEY_ID:
        if (!valid_node_id(value))
            return fail(l, k->name,
                        "bad node id '%.80s': 1 to 64 of "
                        "[a-z0-9-], starting with a letter",
                        value);
        return set_string((char **)field, value);
    case KEY_PATH:
        if (*value == '\0')
            return fail(l, k->name, "empty path");
        return set_string((char **)field, value);
    case KEY_ADDRESS:
        if (config_address_parse(host, sizeof(host), &port, value) != 0)
            return fail(l, k->name,
                        "bad address '%.80s': expected "
                        "host:port or [ipv6]:port, port 0 to 65535 (0: "
                        "any free port)",
                        value);
        return set_string((char **)field, value);
    case KEY_LEVEL:
        if (log_level_parse((enum log_level *)(void *)field, value) != 0)
            return fail(l, k->name,
                        "bad value '%.80s': expected error, "
                        "warn, info or debug",
                        value);
        return 0;
    case KEY_BOOL:
        if (git_config_parse_bool(&flag, value) != 0)
            return fail(l, k->name,
                        "bad value '%.80s': expected yes or "
                        "no",
                        value);
        *(int *)(void *)field = flag;
        return 0;
    case KEY_ORIGINS:
    case KEY_LEVELS:
    case KEY_SUBJECTS:
        return set_list(l, k->name, k->kind,
                        (struct config_origins *)(void *)field, value);
    case KEY_EMAIL:
        if (!valid_email(value))
            return fail(l, k->name,
                        "bad address '%.80s': expected name@domain",
                        value);
        return set_string((char **)field, value);
    case KEY_PAGE:
        return set_count(l, k, (unsigned *)(void *)field, value,
                         CONFIG_OAI_PAGE_MAX);
    case KEY_DAYS:
        return set_count(l, k, (unsigned *)(void *)field, value,
                         CONFIG_EXPIRE_DAYS_MAX);
    case KEY_RATE:
        return set_count(l, k, (unsigned *)(void *)field, value,
                         CONFIG_PEER_RATE_MAX);
    case KEY_URL:
        if (!valid_base_url(value))
            return fail(l, k->name,
                        "bad URL '%.80s': expected an absolute http:// or "
                        "https:// URL with a host, no query or fragment",
                        value);
        return set_string((char **)field, value);
    }
    return fail(l, k->name, "unknown key");
}

static struct config_peer *find_peer(struct load *l, const char *name,
                                     size_t len)
{
    struct config *c = l->c;
    struct config_peer *grown, *p;

    for (size_t i = 0; i < c->peer_count; i++) {
        if (strlen(c->peers[i].name) == len &&
            memcmp(c->peers[i].name, name, len) == 0)
            return &c->peers[i];
    }
    grown = realloc(c->peers, (c->peer_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    c->peers = grown;
    p = &grown[c->peer_count];
    memset(p, 0, sizeof(*p));
    p->relay = -1;
    p->name = strndup(name, len);
    if (p->name == NULL)
        return NULL;
    c->peer_count++;
    return p;
}

/* The peer.<name>.<var> keys after address and fingerprint: overrides
 * of the node's policy for that peer. */
static const struct {
    const char *var;
    enum key_kind kind;
    size_t off; /* in struct config_peer */
} peer_vars[] = {
    {"accept", KEY_ORIGINS, offsetof(struct config_peer, accept)},
    {"offer", KEY_ORIGINS, offsetof(struct config_peer, offer)},
    {"level", KEY_LEVELS, offsetof(struct config_peer, levels)},
    {"subject", KEY_SUBJECTS, offsetof(struct config_peer, subjects)},
    {"relay", KEY_BOOL, offsetof(struct config_peer, relay)},
    {"introduce-keys", KEY_BOOL, offsetof(struct config_peer, introduce_keys)},
};

static int set_peer_policy(struct load *l, struct config_peer *p,
                           const char *key, const char *var, const char *value)
{
    for (size_t i = 0; i < sizeof(peer_vars) / sizeof(peer_vars[0]); i++) {
        char *field = (char *)p + peer_vars[i].off;
        int flag;

        if (strcmp(var, peer_vars[i].var) != 0)
            continue;
        if (peer_vars[i].kind != KEY_BOOL)
            return set_list(l, key, peer_vars[i].kind,
                            (struct config_origins *)(void *)field, value);
        if (git_config_parse_bool(&flag, value) != 0)
            return fail(l, key, "bad value '%.80s': expected yes or no",
                        value);
        *(int *)(void *)field = flag;
        return 0;
    }
    return fail(l, key, "unknown key");
}

/* peer.<name>.address, peer.<name>.fingerprint or a policy override */
static int set_peer_key(struct load *l, const char *key, const char *value)
{
    const char *name = key + 5, *var = strrchr(key, '.') + 1;
    size_t len = (size_t)(var - 1 - name);
    struct config_peer *p;
    char host[256], id[80];
    unsigned port;

    snprintf(id, sizeof(id), "%.*s", (int)len, name);
    if (var - 1 <= name || !valid_node_id(id))
        return fail(l, key,
                    "bad peer name '%.80s': a peer is named by "
                    "its node id",
                    id);

    p = find_peer(l, name, len);
    if (p == NULL)
        return l->rc = OER_ENOMEM;
    if (strcmp(var, "address") == 0) {
        if (config_address_parse(host, sizeof(host), &port, value) != 0 ||
            port == 0)
            return fail(l, key,
                        "bad address '%.80s': expected "
                        "host:port or [ipv6]:port, port 1 to 65535",
                        value);
        return set_string(&p->address, value);
    }
    if (strcmp(var, "fingerprint") != 0)
        return set_peer_policy(l, p, key, var, value);
    if (!config_fingerprint_valid(value))
        return fail(l, key,
                    "bad fingerprint '%.80s': expected SHA256: "
                    "and 43 base64 characters, as oernode id prints it",
                    value);
    return set_string(&p->fingerprint, value);
}

/* origin.<id>.key = ssh-ed25519 AAAA... */
static int set_origin_key(struct load *l, const char *key, const char *value)
{
    const char *name = key + 7, *var = strrchr(key, '.') + 1;
    struct config *c = l->c;
    struct config_origin_key *grown;
    struct identity_pub pub;
    char id[80];

    snprintf(id, sizeof(id), "%.*s", (int)(var - 1 - name), name);
    if (var - 1 <= name || !valid_node_id(id))
        return fail(l, key, "bad origin '%.80s': an origin is a node id", id);
    if (strcmp(var, "key") != 0)
        return fail(l, key, "unknown key");
    if (identity_pub_parse(&pub, value) != 0)
        return fail(l, key,
                    "bad key '%.80s': expected ssh-ed25519 and its base64, "
                    "as oernode id prints it",
                    value);
    if (config_origin_key(c, id) != NULL)
        return fail(l, key, "set twice for origin '%s'", id);
    grown = realloc(c->origin_keys,
                    (c->origin_key_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return l->rc = OER_ENOMEM;
    c->origin_keys = grown;
    grown += c->origin_key_count;
    grown->origin = strdup(id);
    grown->key = strdup(value);
    c->origin_key_count++;
    if (grown->origin == NULL || grown->key == NULL)
        return l->rc = OER_ENOMEM;
    return 0;
}

const char *config_origin_key(const struct config *c, const char *origin)
{
    for (size_t i = 0; i < c->origin_key_count; i++) {
        if (strcmp(c->origin_keys[i].origin, origin) == 0)
            return c->origin_keys[i].key;
    }
    return NULL;
}

const struct config_peer *config_peer_find(const struct config *c,
                                           const char *id)
{
    for (size_t i = 0; i < c->peer_count; i++) {
        if (strcmp(c->peers[i].name, id) == 0)
            return &c->peers[i];
    }
    return NULL;
}

static int on_entry(const git_config_entry *entry, void *arg)
{
    struct load *l = arg;
    const char *value = entry->value != NULL ? entry->value : "";
    int rc;

    if (strncmp(entry->name, "peer.", 5) == 0 &&
        strchr(entry->name + 5, '.') != NULL) {
        const char *var = strrchr(entry->name, '.') + 1;

        /* a bare boolean means true, as in git */
        if (entry->value == NULL &&
            (strcmp(var, "relay") == 0 || strcmp(var, "introduce-keys") == 0))
            value = "true";
        rc = set_peer_key(l, entry->name, value);
        goto out;
    }
    if (strncmp(entry->name, "origin.", 7) == 0 &&
        strchr(entry->name + 7, '.') != NULL) {
        rc = set_origin_key(l, entry->name, value);
        goto out;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(entry->name, keys[i].name) == 0) {
            /* a bare "key" with no "=" means true, as in git */
            if (entry->value == NULL && keys[i].kind == KEY_BOOL)
                value = "true";
            rc = set_key(l, &keys[i], value);
            goto out;
        }
    }
    rc = fail(l, entry->name, "unknown key");

out:
    if (rc != 0)
        l->rc = rc;
    return rc != 0 ? 1 : 0;
}

static char *join_dir(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);

    if (path != NULL)
        snprintf(path, n, "%s/%s", dir, name);
    return path;
}

/* The folder holding path, absolute where it can be resolved, so that
 * the data folder printed (oernode config) means the same read from any
 * working directory. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir, *abs;

    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    abs = dir != NULL ? realpath(dir, NULL) : NULL;
    if (abs == NULL)
        return dir;
    free(dir);
    return abs;
}

static int set_data_dir(struct config *c)
{
    char *dir = folder_of(c->path), *joined;

    if (dir == NULL)
        return OER_ENOMEM;
    if (c->data_dir == NULL) {
        c->data_dir = dir;
        return 0;
    }
    if (c->data_dir[0] == '/') {
        free(dir);
        return 0;
    }
    /* a relative node.data is relative to the configuration file */
    joined = join_dir(dir, c->data_dir);
    free(dir);
    if (joined == NULL)
        return OER_ENOMEM;
    free(c->data_dir);
    c->data_dir = joined;
    return 0;
}

/* "none" stands alone in a list of origins. */
static int check_none(struct load *l, const char *key,
                      const struct config_origins *list)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->names[i], "none") == 0 && list->count > 1)
            return fail(l, key, "none cannot be listed with other origins");
    }
    return 0;
}

static int finish_peer(struct load *l, const struct config_peer *p)
{
    char key[160];

    snprintf(key, sizeof(key), "peer.%s.%s", p->name,
             p->address == NULL ? "address" : "fingerprint");
    if (p->address == NULL || p->fingerprint == NULL)
        return fail(l, key, "missing for peer '%s'", p->name);
    snprintf(key, sizeof(key), "peer.%s.accept", p->name);
    if (check_none(l, key, &p->accept) != 0)
        return OER_EINVAL;
    snprintf(key, sizeof(key), "peer.%s.offer", p->name);
    return check_none(l, key, &p->offer);
}

/* After every key is read: what is required, and the defaults. */
static int finish(struct load *l)
{
    struct config *c = l->c;

    if (c->node_id == NULL)
        return fail(l, "node.id", "missing: every node needs an id");
    for (size_t i = 0; i < c->peer_count; i++) {
        if (finish_peer(l, &c->peers[i]) != 0)
            return OER_EINVAL;
    }
    if (check_none(l, "policy.accept", &c->policy.accept) != 0 ||
        check_none(l, "policy.offer", &c->policy.offer) != 0)
        return OER_EINVAL;

    if ((c->listen_peer == NULL &&
         set_string(&c->listen_peer, CONFIG_PEER_PORT) != 0) ||
        (c->listen_http == NULL &&
         set_string(&c->listen_http, CONFIG_HTTP_PORT) != 0) ||
        (c->admin_email == NULL &&
         set_string(&c->admin_email, CONFIG_ADMIN_EMAIL) != 0) ||
        (c->policy.accept.count == 0 &&
         append_origin(&c->policy.accept, "*") != 0) ||
        (c->policy.offer.count == 0 &&
         append_origin(&c->policy.offer, "*") != 0) ||
        set_data_dir(c) != 0)
        return l->rc = OER_ENOMEM;
    return 0;
}

static struct config *config_new(const char *path)
{
    struct config *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->path = strdup(path);
    if (c->path == NULL) {
        free(c);
        return NULL;
    }
    c->log_level = LOG_LEVEL_INFO;
    c->oai_page_size = CONFIG_OAI_PAGE;
    c->accounts_expire_days = CONFIG_EXPIRE_DAYS;
    c->search_peer_rate = CONFIG_PEER_RATE;
    c->policy.relay = 1;
    return c;
}

static int read_file(struct load *l, const char *path)
{
    git_config *cfg = NULL;
    const git_error *e;
    int rc = 0;

    if (git_config_open_ondisk(&cfg, path) < 0) {
        e = git_error_last();
        rc = fail(l, "", "%s", e != NULL ? e->message : "unreadable");
        goto out;
    }
    git_config_foreach(cfg, on_entry, l);
    rc = l->rc;

out:
    git_config_free(cfg);
    return rc;
}

int config_load(struct config **out, const char *path, struct config_error *err)
{
    struct load l = {.err = err};
    struct stat st;
    int rc;

    *out = NULL;
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        snprintf(err->file, sizeof(err->file), "%s", path);
    }
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(&l, "", "no such file");
        return OER_ENOTFOUND;
    }
    l.c = config_new(path);
    if (l.c == NULL)
        return OER_ENOMEM;

    git_libgit2_init();
    rc = read_file(&l, path);
    git_libgit2_shutdown();
    if (rc == 0)
        rc = finish(&l);
    if (rc != 0) {
        config_free(l.c);
        return rc;
    }
    *out = l.c;
    return 0;
}

static void origins_free(struct config_origins *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->names[i]);
    free(list->names);
}

void config_free(struct config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->peer_count; i++) {
        free(c->peers[i].name);
        free(c->peers[i].address);
        free(c->peers[i].fingerprint);
        origins_free(&c->peers[i].accept);
        origins_free(&c->peers[i].offer);
        origins_free(&c->peers[i].levels);
        origins_free(&c->peers[i].subjects);
    }
    free(c->peers);
    for (size_t i = 0; i < c->origin_key_count; i++) {
        free(c->origin_keys[i].origin);
        free(c->origin_keys[i].key);
    }
    free(c->origin_keys);
    origins_free(&c->policy.accept);
    origins_free(&c->policy.offer);
    origins_free(&c->policy.levels);
    origins_free(&c->policy.subjects);
    free(c->path);
    free(c->node_id);
    free(c->data_dir);
    free(c->listen_peer);
    free(c->listen_http);
    free(c->admin_email);
    free(c->web_root);
    free(c->vocab_root);
    free(c->oai_base_url);
    free(c);
}

static const char *yes_no(int flag)
{
    return flag ? "yes" : "no";
}

static void print_origins(FILE *f, const char *key,
                          const struct config_origins *list)
{
    for (size_t i = 0; i < list->count; i++)
        fprintf(f, "\t%s = %s\n", key, list->names[i]);
}

/* A peer with the overrides it sets (the others follow [policy]). */
static void print_peer(FILE *f, const struct config_peer *p)
{
    fprintf(f, "[peer \"%s\"]\n\taddress = %s\n\tfingerprint = %s\n",
            p->name, p->address, p->fingerprint);
    print_origins(f, "accept", &p->accept);
    print_origins(f, "offer", &p->offer);
    print_origins(f, "level", &p->levels);
    print_origins(f, "subject", &p->subjects);
    if (p->relay >= 0)
        fprintf(f, "\trelay = %s\n", yes_no(p->relay));
    fprintf(f, "\tintroduce-keys = %s\n", yes_no(p->introduce_keys));
}

void config_print(FILE *f, const struct config *c)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};

    fprintf(f, "# %s, with defaults\n", c->path);
    fprintf(f, "[node]\n\tid = %s\n\tdata = %s\n\tadmin-email = %s\n",
            c->node_id, c->data_dir, c->admin_email);
    fprintf(f, "[listen]\n\tpeer = %s\n\thttp = %s\n", c->listen_peer,
            c->listen_http);
    if (c->web_root != NULL)
        fprintf(f, "[web]\n\troot = %s\n", c->web_root);
    if (c->vocab_root != NULL)
        fprintf(f, "[vocab]\n\troot = %s\n", c->vocab_root);
    fprintf(f, "[log]\n\tlevel = %s\n", levels[c->log_level]);
    fprintf(f, "[oai]\n\tpage-size = %u\n", c->oai_page_size);
    if (c->oai_base_url != NULL)
        fprintf(f, "\tbase-url = %s\n", c->oai_base_url);
    fprintf(f, "[accounts]\n\texpire-days = %u\n", c->accounts_expire_days);
    fprintf(f, "[search]\n\tpeer-rate = %u\n", c->search_peer_rate);
    fprintf(f, "[policy]\n");
    print_origins(f, "accept", &c->policy.accept);
    print_origins(f, "offer", &c->policy.offer);
    print_origins(f, "level", &c->policy.levels);
    print_origins(f, "subject", &c->policy.subjects);
    fprintf(f, "\trelay = %s\n\tcommercial = %s\n\tadapts = %s\n",
            yes_no(c->policy.relay), yes_no(c->policy.commercial),
            yes_no(c->policy.adapts));
    for (size_t i = 0; i < c->peer_count; i++)
        print_peer(f, &c->peers[i]);
    for (size_t i = 0; i < c->origin_key_count; i++)
        fprintf(f, "[origin \"%s\"]\n\tkey = %s\n", c->origin_keys[i].origin,
                c->origin_keys[i].key);
}

static const char config_template[] =
    "# oernode configuration, git-config syntax; docs/CLI.md lists the "
    "keys.\n"
    "[node]\n"
    "\tid = %s\n"
    "# The defaults:\n"
    "#\tadmin-email = " CONFIG_ADMIN_EMAIL "\n"
    "# [listen]\n"
    "#\tpeer = " CONFIG_PEER_PORT "\n"
    "#\thttp = " CONFIG_HTTP_PORT "\n"
    "# [log]\n"
    "#\tlevel = info\n"
    "# [oai]\n"
    "#\tpage-size = 100\n"
    "# and baseURL from each request (base-url = https://host/oai)\n"
    "# [policy]\n"
    "#\taccept = *\n"
    "#\toffer = *\n"
    "#\trelay = yes\n"
    "#\tcommercial = no\n"
    "#\tadapts = no\n"
    "# and no level or subject filter (level = 2, subject = sciences)\n"
    "# A peer, named by its node id, as its oernode id prints it:\n"
    "# [peer \"nl-edurep\"]\n"
    "#\taddress = edurep.example.org:7440\n"
    "#\tfingerprint = SHA256:...\n"
    "# and, to override [policy] for it: offer, accept (origins, * or\n"
    "# none), relay, level, subject; introduce-keys = yes to take the keys\n"
    "# of other origins it offers\n"
    "# The key of an origin that is not a peer:\n"
    "# [origin \"de-nrw\"]\n"
    "#\tkey = ssh-ed25519 AAAA...\n";

int config_write_new(const char *path, const char *node_id)
{
    char *tmp = NULL, text[sizeof(config_template) + 80];
    int fd = -1, rc = OER_EIO, n;

    n = snprintf(text, sizeof(text), config_template, node_id);
    if (!valid_node_id(node_id) || n < 0 || (size_t)n >= sizeof(text))
        return OER_EINVAL;
    tmp = malloc(strlen(path) + 5);
    if (tmp == NULL)
        return OER_ENOMEM;
    sprintf(tmp, "%s.tmp", path);

    /* written beside, synced, then linked: link refuses to replace */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 || wholefile_write_fd(fd, text, (size_t)n) != 0 ||
        fsync(fd) != 0)
        goto out;
    if (link(tmp, path) != 0) {
        rc = errno == EEXIST ? OER_EEXISTS : OER_EIO;
        goto out;
    }
    rc = 0;

out:
    if (rc != 0)
        log_warn("config", "cannot write configuration", "path", path, "err",
                 error_name(rc), NULL);
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

static int peer_key(char *buf, size_t cap, const char *name, const char *var)
{
    int n = snprintf(buf, cap, "peer.%s.%s", name, var);

    return n < 0 || (size_t)n >= cap ? OER_EINVAL : 0;
}

/* Log a failed libgit2 edit of path and return OER_EIO. */
static int edit_failed(const char *path, const char *key)
{
    const git_error *e = git_error_last();

    log_warn("config", "cannot edit configuration", "path", path, "key", key,
             "detail", e != NULL ? e->message : NULL, NULL);
    return OER_EIO;
}

int config_peer_set(const char *path, const struct config_peer *peer)
{
    const char *vars[] = {"address", "fingerprint"};
    const char *values[] = {peer->address, peer->fingerprint};
    git_config *cfg = NULL;
    char key[160];
    int rc = 0;

    git_libgit2_init();
    if (git_config_open_ondisk(&cfg, path) < 0) {
        rc = edit_failed(path, "");
        goto out;
    }
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        rc = peer_key(key, sizeof(key), peer->name, vars[i]);
        if (rc == 0 && git_config_set_string(cfg, key, values[i]) < 0)
            rc = edit_failed(path, key);
    }

out:
    git_config_free(cfg);
    git_libgit2_shutdown();
    return rc;
}

int config_peer_unset(const char *path, const char *name)
{
    const char *vars[] = {"address", "fingerprint", "accept", "offer",
                          "level",   "subject",     "relay",  "introduce-keys"};
    git_config *cfg = NULL;
    char key[160];
    int rc = 0, found = 0, err;

    git_libgit2_init();
    if (git_config_open_ondisk(&cfg, path) < 0) {
        rc = edit_failed(path, "");
        goto out;
    }
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && rc == 0; i++) {
        rc = peer_key(key, sizeof(key), name, vars[i]);
        if (rc != 0)
            break;
        /* every value of the key, should a hand edit have repeated it */
        err = git_config_delete_multivar(cfg, key, ".*");
        if (err == 0)
            found = 1;
        else if (err != GIT_ENOTFOUND)
            rc = edit_failed(path, key);
    }
    if (rc == 0 && !found)
        rc = OER_ENOTFOUND;

out:
    git_config_free(cfg);
    git_libgit2_shutdown();
    return rc;
}
