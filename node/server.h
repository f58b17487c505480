/*
 * server: the daemon, `oernode serve`.  One libuv loop carries the HTTP
 * API (node/http.h) and the peer table (federation/peer.h), and stops
 * cleanly on SIGINT or SIGTERM.  It serves the node's status, its
 * resources (read-only) and its peers.
 */
#ifndef OERNODE_SERVER_H
#define OERNODE_SERVER_H

#include "federation/peer.h"

/* What the daemon needs to know; strings are borrowed for the run. */
struct server_options {
    const char *node_id;
    const char *repo_path;   /* the bare repository of the store */
    const char *http_listen; /* "127.0.0.1:8080" */
    const char *fingerprint; /* the node key's, for /api/status */
    /* When not NULL, the bound HTTP port is written there once listening
     * (for tests and scripts that ask for port 0). */
    const char *port_file;
    /* The peer table: configuration, key, listen address and times. */
    struct peer_options peer;
    /* When not NULL, the bound peer port is written there. */
    const char *peer_port_file;
};

/* Run until SIGINT or SIGTERM.  Returns 0 after a clean stop, or an
 * error when the node could not start (logged). */
int server_run(const struct server_options *opt);

#endif
