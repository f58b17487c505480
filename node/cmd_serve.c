/*
 * cmd_serve: `oernode serve`: open the node and run the daemon until
 * SIGINT or SIGTERM.
 */
#include "node/cmd_serve.h"

#include <stdlib.h>

#include "node/server.h"

static int run_serve(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"http", required_argument, NULL, 'H'},
        {"port-file", required_argument, NULL, 'P'},
        CLI_COMMON_OPTIONS,
        {0}};
    struct server_options so = {0};
    struct cli_node node;
    char *repo = NULL;
    char fingerprint[64];
    struct identity_pub pub;
    int opt, code;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        if (opt == 'H' || opt == 'P') {
            *(opt == 'H' ? &so.http_listen : &so.port_file) = optarg;
            continue;
        }
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    if (optind < argc)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode serve [--http ADDR] "
                        "[--port-file FILE]");

    code = cli_node_open(&node, cli, CLI_NODE_KEY | CLI_NODE_STORE);
    if (code != CLI_OK)
        goto out;
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
    if (server_run(&so) != 0)
        code = CLI_FAILURE;
out:
    free(repo);
    cli_node_close(&node);
    return code;
}

const struct cli_command cmd_serve_commands[] = {
    {"serve", run_serve, "serve [--http ADDR] [--port-file FILE]",
     "run the node: the HTTP API, until SIGINT or SIGTERM",
     "Run the node's daemon on one event loop until SIGINT or SIGTERM.\n"
     "It serves, read-only, over HTTP on listen.http (127.0.0.1:8080 by\n"
     "default; put a reverse proxy in front for public TLS):\n"
     "  GET /api/status                  node id, fingerprint, catalogues\n"
     "  GET /api/resources[?origin=O&limit=N&offset=N&deleted=1]\n"
     "  GET /api/resources/ORIGIN/LOCAL  one resource document\n"
     "Errors are JSON: {\"error\": {\"code\": ..., \"message\": ...}}.\n\n"
     "Options:\n"
     "  --http ADDR       listen there instead (port 0: any free port)\n"
     "  --port-file FILE  write the HTTP port there once listening\n"},
    {NULL, NULL, NULL, NULL, NULL}};
