/*
 * cmd_sync: `oernode sync PEER`: dial one configured peer, run the sync
 * session (sync/session.h) until both sides hold what the other offers,
 * then close with BYE.
 */
#include "node/cmd_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "node/error.h"
#include "sync/replica.h"
#include "sync/session.h"

#define TICK_MS 100
/* Quiet time before calling PEER settled: its FETCH for this node's
 * catalogues follows our HEADS by about one round trip, which crosses
 * the link as fast as its HEADS did (already here by then). */
#define QUIET_MS 400
#define TIMEOUT_S 60

struct run {
    const char *peer;
    struct peer_table *table;
    struct session *session;
    uv_timer_t timer;
    uint64_t deadline;
    int done; /* 1 synced, -1 timed out */
};

static void finish(struct run *r, int done)
{
    r->done = done;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, NULL);
    peer_table_stop(r->table);
    session_stop(r->session);
}

static void on_tick(uv_timer_t *timer)
{
    struct run *r = timer->data;

    if (session_settled(r->session, r->peer, QUIET_MS))
        finish(r, 1);
    else if (uv_now(timer->loop) >= r->deadline)
        finish(r, -1);
}

/* Sync over loop with the one peer p of node; returns 1 or -1, or a
 * negative code when nothing could start. */
static int sync_once(struct cli_node *node, const char *repo,
                     struct config_peer *p, unsigned timeout_s)
{
    struct config c = *node->config;
    struct session_options so = {.config = &c, .repo_path = repo};
    struct peer_options po = {
        .config = &c, .key = node->key, .listen = "127.0.0.1:0"};
    struct run r = {.peer = p->name};
    uv_loop_t loop;
    int err;

    c.peers = p;
    c.peer_count = 1;
    uv_loop_init(&loop);
    err = session_new(&r.session, &loop, &so);
    if (err == 0) {
        session_hook(&po, r.session);
        err = peer_table_start(&r.table, &loop, &po);
    }
    if (err != 0) {
        session_stop(r.session);
    } else {
        session_attach(r.session, r.table);
        uv_timer_init(&loop, &r.timer);
        r.timer.data = &r;
        r.deadline = uv_now(&loop) + (uint64_t)timeout_s * 1000;
        uv_timer_start(&r.timer, on_tick, TICK_MS, TICK_MS);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return err != 0 ? err : r.done;
}

static struct config_peer *find_peer(const struct config *c, const char *id)
{
    for (size_t i = 0; i < c->peer_count; i++) {
        if (strcmp(c->peers[i].name, id) == 0)
            return &c->peers[i];
    }
    return NULL;
}

static int run_sync(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 'T'}, CLI_COMMON_OPTIONS, {0}};
    unsigned long timeout = TIMEOUT_S;
    struct config_peer *p;
    struct cli_node node;
    char *repo = NULL, *end;
    int opt, code, res;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        if (opt == 'T') {
            timeout = strtoul(optarg, &end, 10);
            if (*end != '\0' || timeout == 0 || timeout > 86400)
                return cli_fail(cli, CLI_USAGE,
                                "--timeout takes seconds, 1 to 86400");
            continue;
        }
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    if (optind + 1 != argc)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode sync [--timeout S] PEER");

    code = cli_node_open(&node, cli, CLI_NODE_KEY | CLI_NODE_STORE);
    if (code != CLI_OK)
        goto out;
    /* No transfer of this process runs yet: clear what killed ones left
     * (a failure is logged and does not stop the node). */
    replica_sweep(NULL, node.store, 0);
    p = find_peer(node.config, argv[optind]);
    repo = cli_path(node.dir, "repo.git");
    if (p == NULL) {
        code = cli_fail(cli, CLI_FAILURE, "no peer '%s' in the configuration",
                        argv[optind]);
        goto out;
    }
    if (repo == NULL) {
        code = cli_fail(cli, CLI_FAILURE, "out of memory");
        goto out;
    }
    res = sync_once(&node, repo, p, (unsigned)timeout);
    if (res == 1)
        printf("in sync with %s\n", p->name);
    else if (res == -1)
        code = cli_fail(cli, CLI_FAILURE,
                        "not in sync with %s after %lu s: see the log", p->name,
                        timeout);
    else
        code = cli_fail(cli, CLI_FAILURE, "sync could not start (%s)",
                        error_name(res));
out:
    free(repo);
    cli_node_close(&node);
    return code;
}

const struct cli_command cmd_sync_commands[] = {
    {"sync", run_sync, "sync [--timeout S] PEER",
     "sync catalogues with one peer once, without the daemon",
     "Dial the configured peer PEER, exchange HEADS, fetch and verify what\n"
     "it offers and this node lacks (and their files), serve what it asks,\n"
     "and stop once neither side has sent anything for a second (exit 0,\n"
     "\"in sync with PEER\"), or after --timeout seconds (60; exit 1).\n"
     "Policy, keys and checks are those of `oernode serve` (docs/SYNC.md).\n"
     "It listens on a free loopback port only for the time of the sync.\n"},
    {NULL, NULL, NULL, NULL, NULL}};
