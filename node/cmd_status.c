/*
 * cmd_status: `oernode status`.  It asks the daemon over its HTTP API
 * (GET /api/status and /api/peers) with a small blocking HTTP/1.0 GET on
 * the node's own control address, and prints what it answers.
 */
#include "node/cmd_status.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "node/error.h"

#define REPLY_MAX (16 * 1024 * 1024)
#define TIMEOUT_S 10

/* A socket connected to host:port, or -1 with *refused set when nothing
 * listens there. */
static int dial(const char *host, const char *port, int *refused)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    struct timeval tv = {.tv_sec = TIMEOUT_S};
    int fd = -1;

    *refused = 0;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        *refused = errno == ECONNREFUSED;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* The whole reply of fd, NUL-terminated, or NULL. */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 8192;
    char *buf = malloc(cap);
    ssize_t n;

    *len = 0;
    while (buf != NULL) {
        if (cap - *len < 4096) {
            char *grown = cap < REPLY_MAX ? realloc(buf, cap * 2) : NULL;

            if (grown == NULL) {
                free(buf);
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
        n = read(fd, buf + *len, cap - *len - 1);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return NULL;
        }
        *len += (size_t)n;
    }
    if (buf != NULL)
        buf[*len] = '\0';
    return buf;
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
 * GET path from the daemon at addr and parse the JSON body of a 200.
 * Returns 0 with *out the caller's; OER_ENOTFOUND when nothing listens;
 * OER_EINVAL for a bad address; OER_EIO for any other failure.
 */
static int get_json(json_t **out, const char *addr, const char *path)
{
    char host[256], port[8], req[512];
    unsigned portnum;
    char *reply = NULL, *body;
    size_t len;
    int fd, refused, status = 0, err = OER_EIO;

    *out = NULL;
    if (config_address_parse(host, sizeof(host), &portnum, addr) < 0 ||
        portnum == 0)
        return OER_EINVAL;
    control_host(host, sizeof(host));
    snprintf(port, sizeof(port), "%u", portnum);
    fd = dial(host, port, &refused);
    if (fd < 0)
        return refused ? OER_ENOTFOUND : OER_EIO;
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: application/json\r\n\r\n",
             path, addr);
    if (write(fd, req, strlen(req)) == (ssize_t)strlen(req))
        reply = read_all(fd, &len);
    close(fd);
    if (reply == NULL)
        goto out;
    body = strstr(reply, "\r\n\r\n");
    if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1 || status != 200 ||
        body == NULL)
        goto out;
    *out = json_loads(body + 4, 0, NULL);
    err = *out != NULL ? 0 : OER_EIO;
out:
    free(reply);
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

    printf("  state: connected since %s (%s)\n", str(p, "since"),
           str(p, "direction"));
    printf("  address: %s\n", str(p, "remote"));
    printf("  declared use: commercial %s, adapts %s\n",
           yes_no(use, "commercial"), yes_no(use, "adapts"));
    printf("  software: %s, protocol %lld\n", str(p, "software"),
           (long long)json_integer_value(json_object_get(p, "version")));
    printf("  liveness: %lld pings, %lld pongs, last round trip %lld ms%s\n",
           (long long)json_integer_value(json_object_get(p, "pings")),
           (long long)json_integer_value(json_object_get(p, "pongs")),
           (long long)json_integer_value(json_object_get(p, "rtt_ms")),
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
    if (*str(p, "last_error") != '\0')
        printf("  last error: %s (%s)\n", str(p, "last_error"),
               str(p, "last_error_at"));
    else
        printf("  last error: none\n");
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
     "then each peer: its state (connected since when, and which way;\n"
     "else connecting or waiting to dial again), the address, the use it\n"
     "declared in its HELLO (commercial, adapts), liveness and the last\n"
     "error.  When nothing listens there it says \"node not running\" and\n"
     "exits 1.\n\n"
     "Options:\n"
     "  --http ADDR  ask there instead of listen.http\n"},
    {NULL, NULL, NULL, NULL, NULL}};
