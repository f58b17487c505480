/*
 * cmd_status: `oernode status`.  It asks the daemon over its HTTP API
 * (GET /api/status and /api/peers) with libcurl on the node's own
 * control address, and prints what it answers.
 */
#include "node/cmd_status.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "node/error.h"

#define REPLY_MAX (16 * 1024 * 1024)
#define TIMEOUT_S 10

/* A reply being received. */
struct reply {
    char *buf;
    size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t add = size * n;
    char *grown;

    if (add > REPLY_MAX - r->len)
        return 0;
    grown = realloc(r->buf, r->len + add + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + r->len, data, add);
    r->buf = grown;
    r->len += add;
    r->buf[r->len] = '\0';
    return add;
}

/* The address to ask: a wildcard listen address is asked on loopback. */
static void control_host(char *host, size_t cap)
{
    if (strcmp(host, "0.0.0.0") == 0)
        snprintf(host, cap, "127.0.0.1");
    else if (strcmp(host, "::") == 0)
        snprintf(host, cap, "::1");
}

/*
 * GET path from the daemon at addr (with libcurl) and parse the JSON body
 * of a 200.  Returns 0 with *out the caller's; OER_ENOTFOUND when nothing
 * listens; OER_EINVAL for a bad address; OER_EIO for any other failure.
 */
static int get_json(json_t **out, const char *addr, const char *path)
{
    char host[256], url[600];
    unsigned portnum;
    struct reply r = {0};
    long status = 0;
    CURLcode rc;
    CURL *c;
    int err = OER_EIO;

    *out = NULL;
    if (config_address_parse(host, sizeof(host), &portnum, addr) < 0 ||
        portnum == 0)
        return OER_EINVAL;
    control_host(host, sizeof(host));
    snprintf(url, sizeof(url),
             strchr(host, ':') != NULL ? "http://[%s]:%u%s" : "http://%s:%u%s",
             host, portnum, path);
    c = curl_easy_init();
    if (c == NULL)
        return OER_ENOMEM;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc == CURLE_COULDNT_CONNECT)
        err = OER_ENOTFOUND;
    else if (rc == CURLE_OK && status == 200 && r.buf != NULL)
        *out = json_loads(r.buf, 0, NULL);
    if (*out != NULL)
        err = 0;
    free(r.buf);
    return err;
}

/* A string member, or "" when absent. */
static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : "";
}

static const char *yes_no(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key)) ? "yes" : "no";
}

static void print_connection(const json_t *p)
{
    const json_t *use = json_object_get(p, "use");
    long long rtt = (long long)json_integer_value(json_object_get(p, "rtt_ms"));
    char round[48] = "no round trip yet";

    printf("  state: connected since %s (%s)\n", str(p, "since"),
           str(p, "direction"));
    printf("  address: %s\n", str(p, "remote"));
    printf("  declared use: commercial %s, adapts %s\n",
           yes_no(use, "commercial"), yes_no(use, "adapts"));
    printf("  software: %s, protocol %lld\n", str(p, "software"),
           (long long)json_integer_value(json_object_get(p, "version")));
    /* -1 until the first PONG */
    if (rtt >= 0)
        snprintf(round, sizeof(round), "last round trip %lld ms", rtt);
    printf("  liveness: %lld pings, %lld pongs, %s%s\n",
           (long long)json_integer_value(json_object_get(p, "pings")),
           (long long)json_integer_value(json_object_get(p, "pongs")),
           round,
           json_is_true(json_object_get(p, "stalled"))
               ? " (stalled: the peer is not reading)"
               : "");
}

static void print_peer(const json_t *p)
{
    const char *state = str(p, "state");

    printf("peer %s\n", str(p, "id"));
    if (strcmp(state, "connected") == 0) {
        print_connection(p);
    } else {
        printf("  state: %s", *state != '\0' ? state : "unknown");
        if (json_integer_value(json_object_get(p, "retry_in_ms")) > 0)
            printf(" (next dial in %lld ms)",
                   (long long)json_integer_value(
                       json_object_get(p, "retry_in_ms")));
        printf("\n  address: %s\n", str(p, "address"));
        printf("  declared use: unknown until connected\n");
    }
    /* errors are of connections that ended or never came up, so while
     * one is up its peer's last error is history, not a fault */
    if (*str(p, "last_error") != '\0')
        printf("  last error: %s (%s%s)\n", str(p, "last_error"),
               str(p, "last_error_at"),
               strcmp(state, "connected") == 0 ? ", not of this connection"
                                               : "");
    else
        printf("  last error: none\n");
}

/* Catalogues frozen on a fork, with both heads; origin keys known here. */
static void print_sync(const json_t *status)
{
    const json_t *frozen = json_object_get(status, "frozen");
    const json_t *keys = json_object_get(status, "origin_keys");
    size_t i;
    json_t *e;

    printf("frozen catalogues:%s\n", json_array_size(frozen) ? "" : " none");
    json_array_foreach(frozen, i, e)
    {
        printf("  %s: kept %s, refused %s (two histories signed by the "
               "origin)\n",
               str(e, "origin"), str(e, "local"), str(e, "foreign"));
    }
    printf("origin keys:%s\n", json_array_size(keys) ? "" : " none");
    json_array_foreach(keys, i, e)
    {
        printf("  %s: %s (", str(e, "origin"), str(e, "fingerprint"));
        if (strcmp(str(e, "source"), "peer") == 0)
            printf("the peer's pinned key, recorded at %s",
                   str(e, "introduced_at"));
        else if (*str(e, "introduced_by") != '\0')
            printf("%s by %s at %s", str(e, "source"),
                   str(e, "introduced_by"), str(e, "introduced_at"));
        else
            printf("%s", str(e, "source"));
        printf(")\n");
    }
}

static void print_status(const json_t *status, const json_t *peers)
{
    const json_t *list = json_object_get(peers, "peers");
    size_t i;
    json_t *p;

    printf("node: %s\nfingerprint: %s\nversion: %s\npeers: %zu, peer port "
           "%lld\n",
           str(status, "node"), str(status, "fingerprint"),
           str(status, "version"), json_array_size(list),
           (long long)json_integer_value(json_object_get(peers, "port")));
    print_sync(status);
    json_array_foreach(list, i, p)
    {
        printf("\n");
        print_peer(p);
    }
}

static int run_status(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"http", required_argument, NULL, 'H'}, CLI_COMMON_OPTIONS, {0}};
    const char *http = NULL;
    json_t *status = NULL, *peers = NULL;
    struct cli_node node;
    int opt, code, err;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        if (opt == 'H') {
            http = optarg;
            continue;
        }
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    if (optind < argc)
        return cli_fail(cli, CLI_USAGE, "usage: oernode status [--http ADDR]");

    code = cli_node_open(&node, cli, 0);
    if (code != CLI_OK)
        goto out;
    if (http == NULL)
        http = node.config->listen_http;
    err = get_json(&status, http, "/api/status");
    if (err == 0)
        err = get_json(&peers, http, "/api/peers");
    if (err == OER_ENOTFOUND)
        code = cli_fail(cli, CLI_FAILURE,
                        "node not running (nothing "
                        "listens on %s)",
                        http);
    else if (err == OER_EINVAL)
        code = cli_fail(cli, CLI_USAGE,
                        "cannot ask %s: not host:port "
                        "with a port",
                        http);
    else if (err < 0)
        code = cli_fail(cli, CLI_FAILURE,
                        "the node at %s did not answer "
                        "as an oernode daemon",
                        http);
    else
        print_status(status, peers);
out:
    json_decref(status);
    json_decref(peers);
    cli_node_close(&node);
    return code;
}

const struct cli_command cmd_status_commands[] = {
    {"status", run_status, "status [--http ADDR]",
     "show the running node and the state of each peer",
     "Ask the running daemon (oernode serve) over its HTTP API on\n"
     "listen.http (GET /api/status and /api/peers) and print the node,\n"
     "the catalogues frozen on a fork (the head kept and the one refused),\n"
     "the origin keys known here (configured, in origin-keys/, or\n"
     "introduced by a peer: which and when), then each peer: its state\n"
     "(connected since when, and which way;\n"
     "else connecting or waiting to dial again), the address, the use it\n"
     "declared in its HELLO (commercial, adapts), liveness and the last\n"
     "error.  When nothing listens there it says \"node not running\" and\n"
     "exits 1.\n\n"
     "Options:\n"
     "  --http ADDR  ask there instead of listen.http\n"},
    {NULL, NULL, NULL, NULL, NULL}};
