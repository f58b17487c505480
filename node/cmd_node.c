/*
 * cmd_node: `oernode init`, `id` and `config`: create a node, say who it
 * is, and show its effective configuration.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "node/cmd_node.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/error.h"
#include "node/metadata.h"

/* The three parts of a node in its data folder. */
struct layout {
    char *config;
    char *key;
    char *repo;
};

static void layout_release(struct layout *l)
{
    free(l->config);
    free(l->key);
    free(l->repo);
}

static int layout_init(struct layout *l, const char *dir)
{
    l->config = cli_path(dir, "config");
    l->key = cli_path(dir, "node.key");
    l->repo = cli_path(dir, "repo.git");
    return l->config && l->key && l->repo ? 0 : OER_ENOMEM;
}

static int on_remove(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
    return remove(path);
}

/* Undo a half-made node: what init created, nothing else. */
static void remove_tree(const char *path)
{
    nftw(path, on_remove, 16, FTW_DEPTH | FTW_PHYS);
}

static int refuse_existing(struct cli *cli, const struct layout *l)
{
    const char *parts[] = {l->config, l->key, l->repo};
    struct stat st;

    for (size_t i = 0; i < 3; i++) {
        if (lstat(parts[i], &st) == 0)
            return cli_fail(cli, CLI_FAILURE,
                            "%s exists: there is a node "
                            "here already; nothing was changed",
                            parts[i]);
    }
    return CLI_OK;
}

static int make_folder(struct cli *cli, const char *dir, int *made)
{
    struct stat st;

    *made = 0;
    if (mkdir(dir, 0700) == 0) {
        *made = 1;
        return CLI_OK;
    }
    if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return CLI_OK;
    return cli_fail(cli, CLI_FAILURE,
                    "cannot create the data folder %s: "
                    "%s",
                    dir, strerror(errno));
}

/* Key, repository, then the configuration, which completes the node. */
static int create_node(struct cli *cli, const struct layout *l, const char *id,
                       char *fp, size_t cap)
{
    struct identity *key = NULL;
    struct identity_pub pub;
    int err;

    err = identity_generate(&key, l->key);
    if (err < 0)
        return cli_fail(cli, CLI_FAILURE,
                        "cannot create the node key %s "
                        "(%s)",
                        l->key, error_name(err));
    identity_public(&pub, key);
    identity_fingerprint(fp, cap, &pub);
    identity_free(key);

    err = store_init(l->repo);
    if (err < 0) {
        unlink(l->key);
        return cli_fail(cli, CLI_FAILURE,
                        "cannot create the repository "
                        "%s (%s)",
                        l->repo, error_name(err));
    }
    err = config_write_new(l->config, id);
    if (err < 0) {
        unlink(l->key);
        remove_tree(l->repo);
        return cli_fail(cli, CLI_FAILURE,
                        "cannot write the configuration "
                        "%s (%s)",
                        l->config, error_name(err));
    }
    return CLI_OK;
}

static int run_init(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"id", required_argument, NULL, 'i'}, CLI_COMMON_OPTIONS, {0}};
    struct layout l = {0};
    const char *id = NULL, *dir;
    char fp[80];
    int opt, code = CLI_OK, made = 0;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        if (opt == 'i') {
            id = optarg;
            continue;
        }
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    code = CLI_OK;
    cli_log_level(cli, NULL);
    if (id == NULL)
        return cli_fail(cli, CLI_USAGE,
                        "the node id is missing: oernode init --id ID "
                        "[--data DIR]");
    if (optind < argc)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode init --id ID "
                        "[--data DIR]");
    if (!metadata_valid_origin(id))
        return cli_fail(cli, CLI_INVALID,
                        "bad node id '%s': 1 to 64 of "
                        "[a-z0-9-], starting with a letter",
                        id);

    dir = cli_data_dir(cli);
    if (layout_init(&l, dir) < 0) {
        code = cli_fail(cli, CLI_FAILURE, "out of memory");
        goto out;
    }
    code = refuse_existing(cli, &l);
    if (code == CLI_OK)
        code = make_folder(cli, dir, &made);
    if (code == CLI_OK)
        code = create_node(cli, &l, id, fp, sizeof(fp));
    if (code != CLI_OK && made)
        rmdir(dir);
    if (code == CLI_OK)
        printf("created node %s in %s\nfingerprint: %s\n", id, dir, fp);

out:
    layout_release(&l);
    return code;
}

/* Options of a command that takes no arguments but the common ones. */
static int plain_options(struct cli *cli, int argc, char **argv,
                         const char *usage)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {0}};
    int opt, code;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    if (optind < argc)
        return cli_fail(cli, CLI_USAGE, "usage: oernode %s", usage);
    return -1;
}

static void print_identity(const struct cli_node *node, int signers_only)
{
    struct identity_pub pub;
    char fp[80], ssh[160];

    identity_public(&pub, node->key);
    identity_fingerprint(fp, sizeof(fp), &pub);
    identity_ssh_public(ssh, sizeof(ssh), &pub);
    if (signers_only) {
        printf("%s@oernode %s\n", node->id, ssh);
        return;
    }
    printf("id: %s\nfingerprint: %s\npublic key: %s\n"
           "allowed signers: %s@oernode %s\n\n"
           "# for the configuration of a peer of this node:\n"
           "[peer \"%s\"]\n\taddress = %s\n\tfingerprint = %s\n",
           node->id, fp, ssh, node->id, ssh, node->id,
           node->config->listen_peer, fp);
}

static int run_id(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"allowed-signers", no_argument, NULL, 'a'}, CLI_COMMON_OPTIONS, {0}};
    struct cli_node node;
    int opt, code, signers_only = 0;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        if (opt == 'a') {
            signers_only = 1;
            continue;
        }
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    if (optind < argc)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode id "
                        "[--allowed-signers]");

    code = cli_node_open(&node, cli, CLI_NODE_KEY);
    if (code == CLI_OK)
        print_identity(&node, signers_only);
    cli_node_close(&node);
    return code;
}

static int run_config(struct cli *cli, int argc, char **argv)
{
    struct cli_node node;
    int code = plain_options(cli, argc, argv, "config");

    if (code >= 0)
        return code;
    code = cli_node_open(&node, cli, 0);
    if (code == CLI_OK)
        config_print(stdout, node.config);
    cli_node_close(&node);
    return code;
}

const struct cli_command cmd_node_commands[] = {
    {"init", run_init, "init --id ID [--data DIR]",
     "create a node: data folder, repository, key and configuration",
     "Create the data folder DIR (its parent must exist) with:\n"
     "  DIR/config    the configuration, git-config syntax, with node.id\n"
     "  DIR/node.key  a new Ed25519 node key (mode 0600)\n"
     "  DIR/repo.git  the bare git repository of the catalogues\n"
     "An existing node is never touched: init refuses when any of these\n"
     "exists, and a failed init removes what it made.\n\n"
     "Options:\n"
     "  --id ID  the node id: 1 to 64 of [a-z0-9-], starting with a "
     "letter\n"},
    {"id", run_id, "id [--allowed-signers]",
     "print the node id, key fingerprint and public key",
     "Print what an operator hands to the operator of a peer: the node id,\n"
     "the key fingerprint (as ssh-keygen -l prints it), the SSH public\n"
     "key, the line for a git allowed-signers file (for git verify-commit\n"
     "of this node's catalogue) and a [peer] section for their "
     "configuration.\n\n"
     "Options:\n"
     "  --allowed-signers  print only the allowed-signers line\n"},
    {"config", run_config, "config",
     "check the configuration and print it with its defaults",
     "Read DIR/config, check every key, and print the effective\n"
     "configuration, defaults included.  An error names the file, the\n"
     "key and what is wrong (exit 3).  docs/CLI.md lists the keys.\n"},
    {NULL, NULL, NULL, NULL, NULL}};
