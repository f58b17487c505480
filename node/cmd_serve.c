/*
 * cmd_serve: `oernode serve`: open the node and run the daemon until
 * SIGINT or SIGTERM.
 */
#include "node/cmd_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "node/error.h"
#include "node/server.h"
#include "sync/replica.h"

#define MS_MAX 86400000UL

/* A time option in milliseconds, 1 to a day, into *out. */
static int parse_ms(unsigned *out, const char *text)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);

    if (*text < '0' || *text > '9' || *end != '\0' || v == 0 || v > MS_MAX)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* The peer options of serve: 1 when opt was one, -1 when its value is
 * wrong, 0 when opt is not a peer option. */
static int peer_option(struct server_options *so, int opt, const char *arg)
{
    unsigned *ms = NULL;

    switch (opt) {
    case 'L':
        so->peer.listen = arg;
        return 1;
    case 'F':
        so->peer_port_file = arg;
        return 1;
    case 'i':
        ms = &so->peer.ping_ms;
        break;
    case 's':
        ms = &so->peer.silence_ms;
        break;
    case 't':
        ms = &so->peer.handshake_ms;
        break;
    case 'r':
        ms = &so->peer.retry_min_ms;
        break;
    case 'R':
        ms = &so->peer.retry_max_ms;
        break;
    default:
        return 0;
    }
    return parse_ms(ms, arg) == 0 ? 1 : -1;
}

/*
 * Hold DIR/serve.lock for the daemon's life (flock: the kernel lets go
 * when the process ends, however it ends), holding its pid; *fd is -1
 * when it could not.  A second daemon on the same folder would fight the
 * first for its peers and clear its transfers under it.
 */
static int lock_folder(int *fd, struct cli *cli, const char *dir)
{
    char *path = cli_path(dir, "serve.lock");
    char pid[24] = "";
    ssize_t n;
    int code = CLI_OK, e = 0;

    *fd = path != NULL ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (path == NULL)
        return cli_fail(cli, CLI_FAILURE, "out of memory");
    if (*fd < 0 || flock(*fd, LOCK_EX | LOCK_NB) != 0)
        e = errno;
    if (e == EWOULDBLOCK) {
        n = pread(*fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        code = cli_fail(cli, CLI_FAILURE,
                        "another oernode serve runs on %s (pid %s): one "
                        "daemon a data folder; stop it, or give this one "
                        "another --data",
                        dir, pid[0] != '\0' ? pid : "unknown");
    } else if (e != 0) {
        code = cli_fail(cli, CLI_FAILURE, "cannot lock %s: %s", path,
                        strerror(e));
    } else {
        n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)n, 0) != n)
            code = cli_fail(cli, CLI_FAILURE, "cannot write %s: %s", path,
                            strerror(errno));
    }
    if (code != CLI_OK && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    free(path);
    return code;
}

static int run_serve(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"http", required_argument, NULL, 'H'},
        {"port-file", required_argument, NULL, 'P'},
        {"peer", required_argument, NULL, 'L'},
        {"peer-port-file", required_argument, NULL, 'F'},
        {"ping-interval", required_argument, NULL, 'i'},
        {"silence-limit", required_argument, NULL, 's'},
        {"handshake-timeout", required_argument, NULL, 't'},
        {"retry-min", required_argument, NULL, 'r'},
        {"retry-max", required_argument, NULL, 'R'},
        CLI_COMMON_OPTIONS,
        {0}};
    struct server_options so = {0};
    struct cli_node node;
    char *repo = NULL;
    char fingerprint[64];
    struct identity_pub pub;
    int opt, code, err, lock = -1;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        if (opt == 'H' || opt == 'P') {
            *(opt == 'H' ? &so.http_listen : &so.port_file) = optarg;
            continue;
        }
        code = peer_option(&so, opt, optarg);
        if (code < 0)
            return cli_fail(cli, CLI_USAGE, "%s takes milliseconds, 1 to %lu",
                            argv[optind - 1], MS_MAX);
        if (code > 0)
            continue;
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    if (optind < argc)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode serve [--http ADDR] "
                        "[--port-file FILE] [--peer ADDR] [...]");

    code = cli_node_open(&node, cli, CLI_NODE_KEY | CLI_NODE_STORE);
    if (code == CLI_OK)
        code = lock_folder(&lock, cli, node.dir);
    if (code != CLI_OK)
        goto out;
    /* No transfer of this process runs yet: clear what killed ones left
     * (a failure is logged and does not stop the node). */
    replica_sweep(NULL, node.store, 0);
    identity_public(&pub, node.key);
    identity_fingerprint(fingerprint, sizeof(fingerprint), &pub);
    so.node_id = node.id;
    repo = cli_path(node.dir, "repo.git");
    if (repo == NULL) {
        code = cli_fail(cli, CLI_FAILURE, "out of memory");
        goto out;
    }
    so.repo_path = repo;
    so.fingerprint = fingerprint;
    if (so.http_listen == NULL)
        so.http_listen = node.config->listen_http;
    so.peer.config = node.config;
    so.peer.key = node.key;
    err = server_run(&so);
    if (err == OER_EINVAL)
        code = cli_fail(cli, CLI_INVALID,
                        "bad listen address '%s': HOST:PORT, such as "
                        "127.0.0.1:8080 or [::1]:8080",
                        so.http_listen);
    else if (err != 0)
        code = cli_fail(cli, CLI_FAILURE,
                        "the node could not start (%s): see the log above; "
                        "a port in use or an address not of this machine "
                        "is the usual cause",
                        error_name(err));
out:
    free(repo);
    cli_node_close(&node);
    if (lock >= 0)
        close(lock);
    return code;
}

const struct cli_command cmd_serve_commands[] = {
    {"serve", run_serve,
     "serve [--http ADDR] [--port-file FILE] [--peer ADDR] [PEER OPTIONS]",
     "run the node: the HTTP API and the peers, until SIGINT or SIGTERM",
     "Run the node's daemon on one event loop until SIGINT or SIGTERM.\n"
     "It serves, read-only, over HTTP on listen.http (127.0.0.1:8080 by\n"
     "default; put a reverse proxy in front for public TLS):\n"
     "  GET /api/status                  node id, fingerprint, catalogues\n"
     "  GET /api/resources[?origin=O&limit=N&offset=N&deleted=1]\n"
     "  GET /api/resources/ORIGIN/LOCAL  one resource document\n"
     "  GET /api/search?q=WORDS[&level=T&language=L&...]  search, facets\n"
     "  GET, POST /oai                   OAI-PMH 2.0 (docs/OAI.md)\n"
     "  GET /api/peers                   the peers and their connections\n"
     "Errors are JSON: {\"error\": {\"code\": ..., \"message\": ...}}.\n"
     "It listens for peers on listen.peer (TLS 1.3, pinned keys) and dials\n"
     "every configured peer, again after a failure with growing delays.\n\n"
     "Options:\n"
     "  --http ADDR       listen there instead (port 0: any free port)\n"
     "  --port-file FILE  write the HTTP port there once listening\n"
     "  --peer ADDR       listen for peers there instead of listen.peer\n"
     "  --peer-port-file FILE  write the peer port there once listening\n"
     "Peer times, in milliseconds (for tests and tuning):\n"
     "  --ping-interval MS      PING after this long without a frame "
     "(30000)\n"
     "  --silence-limit MS      close after this long without a frame "
     "(90000)\n"
     "  --handshake-timeout MS  TLS handshake, then HELLO (10000)\n"
     "  --retry-min MS          first redial delay, doubled each time "
     "(1000)\n"
     "  --retry-max MS          the cap of that delay (300000)\n"},
    {NULL, NULL, NULL, NULL, NULL}};
