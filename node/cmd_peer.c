/*
 * cmd_peer: `oernode peer add|list|remove`.  An edit copies DIR/config to
 * DIR/config.lock (git's own lock, so git config and a second oernode
 * wait their turn), changes the copy with libgit2, loads it to prove it
 * valid, and only then renames it over the file: the configuration is
 * the old one or the new one, never half of either.
 */
#include "node/cmd_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/error.h"
#include "node/metadata.h"

static const char next_start[] =
    "a running node picks the change up at its next start\n";

/* One subcommand: like struct cli_command, within `peer`. */
struct peer_command {
    const char *name;
    int (*run)(struct cli *cli, int argc, char **argv);
    const char *usage;
    const char *help;
};

/* An edit in progress: the lock file holding the copy being changed. */
struct edit {
    const char *path;
    char *lock;
    int locked;
    mode_t mode;
    struct config *current; /* the copy as it was locked */
};

static void edit_release(struct edit *e)
{
    if (e->locked)
        unlink(e->lock);
    free(e->lock);
    config_free(e->current);
    memset(e, 0, sizeof(*e));
}

static int copy_into(int fd, const char *path)
{
    FILE *in = fopen(path, "rb");
    char buf[8192];
    size_t n;
    int rc = 0;

    if (in == NULL)
        return OER_EIO;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
        for (size_t done = 0; rc == 0 && done < n;) {
            ssize_t w = write(fd, buf + done, n - done);

            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                rc = OER_EIO;
            else
                done += (size_t)w;
        }
    }
    if (ferror(in))
        rc = OER_EIO;
    fclose(in);
    return rc;
}

/* Take the lock, copy the file into it, and load the copy. */
static int edit_begin(struct edit *e, struct cli *cli, const char *path)
{
    struct config_error cerr;
    struct stat st;
    int fd, rc;

    memset(e, 0, sizeof(*e));
    e->path = path;
    e->lock = malloc(strlen(path) + 6);
    if (e->lock == NULL)
        return cli_fail(cli, CLI_FAILURE, "out of memory");
    sprintf(e->lock, "%s.lock", path);
    if (stat(path, &st) != 0)
        return cli_fail(cli, CLI_FAILURE, "cannot read %s: %s", path,
                        strerror(errno));
    e->mode = st.st_mode & 0777;

    fd = open(e->lock, O_WRONLY | O_CREAT | O_EXCL, e->mode);
    if (fd < 0 && errno == EEXIST)
        return cli_fail(
            cli, CLI_FAILURE,
            "%s exists: another oernode or git is changing the configuration "
            "(remove the file if none runs); nothing was changed",
            e->lock);
    if (fd < 0)
        return cli_fail(cli, CLI_FAILURE, "cannot create %s: %s", e->lock,
                        strerror(errno));
    e->locked = 1;
    rc = copy_into(fd, path);
    if (close(fd) != 0 || rc != 0)
        return cli_fail(cli, CLI_FAILURE, "cannot copy %s to %s", path,
                        e->lock);

    rc = config_load(&e->current, e->lock, &cerr);
    if (rc < 0)
        return cli_fail(cli, CLI_INVALID, "%s: %s: %s", path, cerr.key,
                        cerr.detail);
    return CLI_OK;
}

static int sync_path(const char *path, int flags, mode_t mode, int chmod_it)
{
    int fd = open(path, flags), rc = 0;

    if (fd < 0)
        return OER_EIO;
    if ((chmod_it && fchmod(fd, mode) != 0) || fsync(fd) != 0)
        rc = OER_EIO;
    close(fd);
    return rc;
}

/* The folder holding path, synced so that the rename in it lasts. */
static void sync_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;

    if (slash == NULL) {
        sync_path(".", O_RDONLY | O_DIRECTORY, 0, 0);
        return;
    }
    dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (dir != NULL)
        sync_path(dir, O_RDONLY | O_DIRECTORY, 0, 0);
    free(dir);
}

/* Prove the changed copy valid, then move it over the file. */
static int edit_commit(struct edit *e, struct cli *cli)
{
    struct config_error cerr;
    struct config *changed = NULL;
    int rc;

    rc = config_load(&changed, e->lock, &cerr);
    config_free(changed);
    if (rc < 0)
        return cli_fail(cli, CLI_INVALID,
                        "the change would make the configuration invalid (%s: "
                        "%s); nothing was changed",
                        cerr.key, cerr.detail);

    /* libgit2 rewrote the copy with its own mode: give back the file's */
    if (sync_path(e->lock, O_RDONLY, e->mode, 1) != 0 ||
        rename(e->lock, e->path) != 0)
        return cli_fail(cli, CLI_FAILURE,
                        "cannot replace %s: %s; nothing was changed", e->path,
                        strerror(errno));
    e->locked = 0;
    sync_folder(e->path);
    return CLI_OK;
}

static int check_new_peer(struct cli *cli, const struct config *c,
                          const struct config_peer *p)
{
    if (strcmp(p->name, c->node_id) == 0)
        return cli_fail(cli, CLI_INVALID,
                        "'%s' is this node's own id, not a peer", p->name);
    for (size_t i = 0; i < c->peer_count; i++) {
        const struct config_peer *q = &c->peers[i];

        if (strcmp(q->name, p->name) == 0)
            return cli_fail(
                cli, CLI_FAILURE,
                "peer '%s' exists already (%s %s); nothing was changed "
                "(oernode peer remove %s first to replace it)",
                q->name, q->address, q->fingerprint, q->name);
        if (strcmp(q->fingerprint, p->fingerprint) == 0)
            return cli_fail(cli, CLI_FAILURE,
                            "fingerprint %s is peer '%s' already: a key "
                            "belongs to one peer; nothing was changed",
                            q->fingerprint, q->name);
    }
    return CLI_OK;
}

/* The arguments of peer add, checked as config_load checks them. */
static int check_arguments(struct cli *cli, const struct config_peer *p)
{
    char host[256];
    unsigned port;

    if (!metadata_valid_origin(p->name))
        return cli_fail(cli, CLI_INVALID,
                        "bad peer id '%s': a node id, 1 to 64 of "
                        "[a-z0-9-], starting with a letter",
                        p->name);
    if (config_address_parse(host, sizeof(host), &port, p->address) != 0 ||
        port == 0)
        return cli_fail(cli, CLI_INVALID,
                        "bad address '%s': expected host:port or "
                        "[ipv6]:port, port 1 to 65535",
                        p->address);
    if (!config_fingerprint_valid(p->fingerprint))
        return cli_fail(cli, CLI_INVALID,
                        "bad fingerprint '%s': expected SHA256: and 43 base64 "
                        "characters, as the peer's oernode id prints it",
                        p->fingerprint);
    return CLI_OK;
}

static int peer_add(struct cli *cli, struct config_peer *p)
{
    struct cli_node node;
    struct edit e = {0};
    int code, err;

    code = check_arguments(cli, p);
    if (code != CLI_OK)
        return code;
    code = cli_node_open(&node, cli, 0);
    if (code == CLI_OK)
        code = edit_begin(&e, cli, node.config->path);
    if (code == CLI_OK)
        code = check_new_peer(cli, e.current, p);
    if (code == CLI_OK) {
        err = config_peer_set(e.lock, p);
        if (err < 0)
            code = cli_fail(cli, CLI_FAILURE,
                            "cannot write the peer (%s); nothing was changed",
                            error_name(err));
    }
    if (code == CLI_OK)
        code = edit_commit(&e, cli);
    if (code == CLI_OK)
        printf("added peer %s at %s, key %s, to %s\n%s", p->name, p->address,
               p->fingerprint, node.config->path, next_start);
    edit_release(&e);
    cli_node_close(&node);
    return code;
}

static const struct config_peer *find_peer(const struct config *c,
                                           const char *name)
{
    for (size_t i = 0; i < c->peer_count; i++) {
        if (strcmp(c->peers[i].name, name) == 0)
            return &c->peers[i];
    }
    return NULL;
}

static int peer_remove(struct cli *cli, const char *name)
{
    struct cli_node node;
    struct edit e = {0};
    int code, err;

    if (!metadata_valid_origin(name))
        return cli_fail(cli, CLI_INVALID,
                        "bad peer id '%s': a node id, 1 to 64 of "
                        "[a-z0-9-], starting with a letter",
                        name);
    code = cli_node_open(&node, cli, 0);
    if (code == CLI_OK)
        code = edit_begin(&e, cli, node.config->path);
    if (code == CLI_OK && find_peer(e.current, name) == NULL)
        code = cli_fail(cli, CLI_FAILURE, "no peer '%s' in %s", name,
                        node.config->path);
    if (code == CLI_OK) {
        err = config_peer_unset(e.lock, name);
        if (err < 0)
            code = cli_fail(cli, CLI_FAILURE,
                            "cannot remove the peer (%s); nothing was changed",
                            error_name(err));
    }
    if (code == CLI_OK)
        code = edit_commit(&e, cli);
    if (code == CLI_OK)
        printf("removed peer %s from %s\n%s", name, node.config->path,
               next_start);
    edit_release(&e);
    cli_node_close(&node);
    return code;
}

static int peer_list(struct cli *cli)
{
    struct cli_node node;
    int code;

    code = cli_node_open(&node, cli, 0);
    for (size_t i = 0; code == CLI_OK && i < node.config->peer_count; i++) {
        const struct config_peer *p = &node.config->peers[i];

        printf("%s\t%s\t%s\n", p->name, p->address, p->fingerprint);
    }
    cli_node_close(&node);
    return code;
}

static int run_add(struct cli *cli, int argc, char **argv)
{
    struct config_peer p;

    if (argc != 3)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode peer add ID ADDRESS FINGERPRINT");
    p.name = argv[0];
    p.address = argv[1];
    p.fingerprint = argv[2];
    return peer_add(cli, &p);
}

static int run_list(struct cli *cli, int argc, char **argv)
{
    if (argc != 0)
        return cli_fail(cli, CLI_USAGE, "usage: oernode peer list");
    return peer_list(cli);
}

static int run_remove(struct cli *cli, int argc, char **argv)
{
    if (argc != 1)
        return cli_fail(cli, CLI_USAGE, "usage: oernode peer remove ID");
    return peer_remove(cli, argv[0]);
}

static const struct peer_command subcommands[] = {
    {"add", run_add, "peer add ID ADDRESS FINGERPRINT",
     "Add the peer ID (its node id) listening at ADDRESS (host:port or\n"
     "[ipv6]:port) whose key has FINGERPRINT (\"SHA256:...\", as its\n"
     "oernode id prints it) to DIR/config.  An id or a fingerprint that\n"
     "is there already is refused (exit 1), a bad value too (exit 3);\n"
     "then nothing is changed.\n"},
    {"list", run_list, "peer list",
     "Print each peer of DIR/config on a line: id, address and key\n"
     "fingerprint, separated by tabs.\n"},
    {"remove", run_remove, "peer remove ID",
     "Remove the peer ID from DIR/config (exit 1 when there is none).\n"},
    {NULL, NULL, NULL, NULL}};

static void print_sub_help(const struct peer_command *s)
{
    printf("usage: oernode %s\n\n%s\n"
           "Options of every command: see oernode peer --help.\n"
           "Exit codes: 0 done, 1 failure (no node, a duplicate, no such\n"
           "peer), 2 usage error, 3 invalid input.\n",
           s->usage, s->help);
}

/* The subcommand's options (the common ones): -1 to go on, else the
 * exit code.  The operands are then argv[optind..]. */
static int sub_options(struct cli *cli, const struct peer_command *s, int argc,
                       char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {0}};
    int opt, code;

    optind = 0;
    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        if (opt == 'h') {
            print_sub_help(s);
            return CLI_OK;
        }
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    return -1;
}

static int run_peer(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {0}};
    const struct peer_command *s;
    char name[CLI_NAME_CAP];
    int opt, code;

    /* options before the subcommand; "+" stops at its name */
    while ((opt = getopt_long(argc, argv, "+hvq", opts, NULL)) != -1) {
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    if (optind >= argc)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode peer add|list|remove; see "
                        "oernode peer --help");
    for (s = subcommands; s->name != NULL; s++) {
        if (strcmp(s->name, argv[optind]) == 0)
            break;
    }
    if (s->name == NULL)
        return cli_fail(cli, CLI_USAGE,
                        "no subcommand '%s'; see oernode peer --help",
                        argv[optind]);

    argc -= optind;
    argv += optind;
    /* getopt_long's own messages begin with argv[0] */
    snprintf(name, sizeof(name), "oernode peer %s", s->name);
    argv[0] = name;
    code = sub_options(cli, s, argc, argv);
    if (code >= 0)
        return code;
    return s->run(cli, argc - optind, argv + optind);
}

const struct cli_command cmd_peer_commands[] = {
    {"peer", run_peer, "peer add ID ADDRESS FINGERPRINT | list | remove ID",
     "add, list and remove the peers of the node",
     "Subcommands (each has --help):\n"
     "  peer add ID ADDRESS FINGERPRINT  add a peer: its node id, host:port\n"
     "                                   and key fingerprint (SHA256:...)\n"
     "  peer list                        one peer a line: id, address,\n"
     "                                   fingerprint\n"
     "  peer remove ID                   remove a peer\n\n"
     "They edit DIR/config as one step: the changed file is checked\n"
     "before it replaces the old one, under git's lock DIR/config.lock.\n"
     "A running node picks the change up at its next start.\n"},
    {NULL, NULL, NULL, NULL, NULL}};
