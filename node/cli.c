/*
 * cli: dispatch of `oernode COMMAND`, the options and help every command
 * shares, and opening the node of a data folder.
 */
#include "node/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "node/cmd_add.h"
#include "node/cmd_node.h"
#include "node/cmd_peer.h"
#include "node/cmd_search.h"
#include "node/cmd_serve.h"
#include "node/cmd_status.h"
#include "node/cmd_store.h"
#include "node/cmd_sync.h"
#include "node/cmd_token.h"
#include "node/error.h"
#include "node/log.h"
#include "node/metadata.h"

static int run_help(struct cli *cli, int argc, char **argv);

static const struct cli_command help_commands[] = {
    {"help", run_help, "help [COMMAND]", "describe oernode or a command",
     "Print the help of COMMAND, or the list of commands.\n"},
    {NULL, NULL, NULL, NULL, NULL}};

static const struct cli_command *const tables[] = {
    cmd_node_commands,  cmd_add_commands,    cmd_store_commands,
    cmd_serve_commands, cmd_status_commands, cmd_peer_commands,
    cmd_search_commands, cmd_token_commands, cmd_sync_commands,
    help_commands};

#define TABLE_COUNT (sizeof(tables) / sizeof(tables[0]))

static const char common_help[] =
    "Options of every command, before or after its name:\n"
    "  --data DIR     the node's data folder (default: $OERNODE_DATA, "
    "else ./data)\n"
    "  -v, --verbose  log debug events too\n"
    "  -q, --quiet    log errors only\n"
    "  -h, --help     print the help of the command\n";

static const char exit_help[] =
    "Exit codes:\n"
    "  0  done\n"
    "  1  failure: no node here, not found, a file or the store failed\n"
    "  2  usage error: the command line is wrong\n"
    "  3  invalid input: metadata, configuration, records to import\n"
    "  4  fsck found problems\n";

static const struct cli_command *find_command(const char *name)
{
    for (size_t t = 0; t < TABLE_COUNT; t++) {
        for (const struct cli_command *c = tables[t]; c->name; c++) {
            if (strcmp(c->name, name) == 0)
                return c;
        }
    }
    return NULL;
}

int cli_usage(const struct cli *cli)
{
    const struct cli_command *c =
        cli->command != NULL ? find_command(cli->command) : NULL;

    return c != NULL ? cli_fail(cli, CLI_USAGE, "usage: oernode %s; see "
                                "oernode %s --help",
                                c->usage, c->name)
                     : cli_fail(cli, CLI_USAGE, "see oernode --help");
}

static void print_overview(FILE *f)
{
    fprintf(f,
            "usage: oernode [--data DIR] [-v | -q] COMMAND [ARGS]\n\n"
            "oernode %s: a federated repository node for open "
            "educational resources.\n\nCommands:\n",
            OERNODE_VERSION);
    for (size_t t = 0; t < TABLE_COUNT; t++) {
        for (const struct cli_command *c = tables[t]; c->name; c++)
            fprintf(f, "  %-9s %s\n", c->name, c->summary);
    }
    fprintf(f,
            "\n%s\n%s\nEnvironment:\n  OERNODE_DATA  the data folder "
            "when --data is not given\n\n`oernode help COMMAND` or "
            "`oernode COMMAND --help` describes a command;\n"
            "docs/CLI.md describes them all.\n",
            common_help, exit_help);
}

static void print_help(FILE *f, const struct cli_command *c)
{
    fprintf(f, "usage: oernode %s\n\n%s: %s.\n\n%s\n%s\n%s", c->usage, c->name,
            c->summary, c->help, common_help, exit_help);
}

static int run_help(struct cli *cli, int argc, char **argv)
{
    const struct cli_command *c = NULL;

    if (argc > 2)
        return cli_fail(cli, CLI_USAGE, "usage: oernode help [COMMAND]");
    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        c = &help_commands[0];
    else if (argc == 2)
        c = find_command(argv[1]);
    if (argc == 2 && c == NULL)
        return cli_fail(cli, CLI_USAGE,
                        "no command '%s'; see oernode "
                        "--help",
                        argv[1]);
    if (c != NULL)
        print_help(stdout, c);
    else
        print_overview(stdout);
    return CLI_OK;
}

int cli_fail(const struct cli *cli, int code, const char *fmt, ...)
{
    va_list ap;

    if (cli->command != NULL)
        fprintf(stderr, "oernode %s: ", cli->command);
    else
        fputs("oernode: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_option(struct cli *cli, int opt, const char *arg)
{
    switch (opt) {
    case 'D':
        cli->data_arg = arg;
        return -1;
    case 'v':
        cli->verbosity = 1;
        return -1;
    case 'q':
        cli->verbosity = -1;
        return -1;
    case 'h':
        print_help(stdout, find_command(cli->command));
        return CLI_OK;
    default:
        /* getopt_long has said what is wrong */
        fprintf(stderr, "see: oernode %s --help\n", cli->command);
        return CLI_USAGE;
    }
}

const char *cli_data_dir(const struct cli *cli)
{
    const char *env = getenv("OERNODE_DATA");

    if (cli->data_arg != NULL)
        return cli->data_arg;
    return env != NULL && *env != '\0' ? env : "./data";
}

char *cli_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);

    if (path != NULL)
        snprintf(path, n, "%s/%s", dir, name);
    return path;
}

void cli_log_level(const struct cli *cli, const struct config *config)
{
    if (cli->verbosity > 0)
        log_set_level(LOG_LEVEL_DEBUG);
    else if (cli->verbosity < 0)
        log_set_level(LOG_LEVEL_ERROR);
    else if (config != NULL)
        log_set_level(config->log_level);
}

static int open_key(struct cli_node *node, struct cli *cli)
{
    char *path = cli_path(node->dir, "node.key");
    int err, code = CLI_OK;

    if (path == NULL)
        return cli_fail(cli, CLI_FAILURE, "out of memory");
    err = identity_load(&node->key, path);
    if (err == OER_ENOTFOUND)
        code = cli_fail(cli, CLI_FAILURE, "no node key at %s", path);
    else if (err == OER_ECRYPTO)
        code = cli_fail(cli, CLI_FAILURE,
                        "%s can be read by others; "
                        "refusing it (chmod 600 %s)",
                        path, path);
    else if (err < 0)
        code = cli_fail(cli, CLI_FAILURE,
                        "%s is not a usable Ed25519 "
                        "key (%s)",
                        path, error_name(err));
    free(path);
    return code;
}

static int open_store(struct cli_node *node, struct cli *cli)
{
    char *path = cli_path(node->dir, "repo.git");
    int err, code = CLI_OK;

    if (path == NULL)
        return cli_fail(cli, CLI_FAILURE, "out of memory");
    err = store_open(&node->store, path);
    if (err < 0)
        code = cli_fail(cli, CLI_FAILURE,
                        "cannot open the repository %s "
                        "(%s)",
                        path, error_name(err));
    free(path);
    return code;
}

int cli_node_open(struct cli_node *node, struct cli *cli, unsigned need)
{
    const char *dir = cli_data_dir(cli);
    char *path = cli_path(dir, "config");
    struct config_error cerr;
    int err, code = CLI_OK;

    memset(node, 0, sizeof(*node));
    if (path == NULL)
        return cli_fail(cli, CLI_FAILURE, "out of memory");
    err = config_load(&node->config, path, &cerr);
    if (err == OER_ENOTFOUND)
        code = cli_fail(cli, CLI_FAILURE,
                        "no node in %s (%s: no such "
                        "file); create one with: oernode init --id ID "
                        "--data %s",
                        dir, path, dir);
    else if (err < 0 && strncmp(cerr.key, "core.", 5) == 0)
        code = cli_fail(cli, CLI_INVALID,
                        "%s is a git repository's config, not a node's: "
                        "give the node's data folder (the one holding "
                        "config, node.key and repo.git)",
                        cerr.file);
    else if (err < 0 && cerr.key[0] != '\0')
        code = cli_fail(cli, CLI_INVALID, "%s: %s: %s", cerr.file, cerr.key,
                        cerr.detail);
    else if (err < 0)
        code = cli_fail(cli, CLI_INVALID, "%s: %s", cerr.file, cerr.detail);
    free(path);
    if (code != CLI_OK)
        return code;

    node->dir = node->config->data_dir;
    node->id = node->config->node_id;
    cli_log_level(cli, node->config);
    if (need & CLI_NODE_KEY)
        code = open_key(node, cli);
    if (code == CLI_OK && (need & CLI_NODE_STORE))
        code = open_store(node, cli);
    return code;
}

void cli_node_close(struct cli_node *node)
{
    store_free(node->store);
    identity_free(node->key);
    config_free(node->config);
    memset(node, 0, sizeof(*node));
}

int cli_commit(struct cli *cli, const struct cli_node *node, const json_t *doc,
               const char *message, int *changed)
{
    struct store_batch *b = NULL;
    int err;

    err = store_batch_new(&b, node->store, node->id);
    if (err == 0)
        err = store_batch_put(b, doc, changed);
    if (err == 0)
        err = store_batch_commit(NULL, b, node->key, message);
    store_batch_free(b);
    if (err < 0)
        return cli_fail(cli, CLI_FAILURE,
                        "cannot commit to the catalogue "
                        "(%s)",
                        error_name(err));
    return CLI_OK;
}

int cli_resource_id(char *origin, size_t ocap, char *local, size_t lcap,
                    const struct cli_node *node, const char *text)
{
    const char *slash = strchr(text, '/');
    int n;

    if (slash == NULL)
        n = snprintf(origin, ocap, "%s", node->id);
    else
        n = snprintf(origin, ocap, "%.*s", (int)(slash - text), text);
    if (n < 0 || (size_t)n >= ocap || !metadata_valid_origin(origin))
        return OER_EINVAL;
    n = snprintf(local, lcap, "%s", slash != NULL ? slash + 1 : text);
    if (n < 0 || (size_t)n >= lcap || !metadata_valid_local_id(local))
        return OER_EINVAL;
    return 0;
}

/* Options before the command: returns -1 to go on with the command at
 * argv[*next], or the exit code when the program is done. */
static int global_options(int *next, struct cli *cli, int argc, char **argv)
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--data") == 0 && i + 1 < argc) {
            cli->data_arg = argv[++i];
        } else if (strncmp(a, "--data=", 7) == 0) {
            cli->data_arg = a + 7;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            cli->verbosity = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli->verbosity = -1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_overview(stdout);
            return CLI_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("oernode %s\n", OERNODE_VERSION);
            return CLI_OK;
        } else {
            return cli_fail(cli, CLI_USAGE,
                            "unknown option '%s'; see "
                            "oernode --help",
                            a);
        }
    }
    *next = i;
    return -1;
}

int cli_main(int argc, char **argv)
{
    struct cli cli = {.command = NULL};
    const struct cli_command *c;
    char name[CLI_NAME_CAP];
    int i = 0, code;

    code = global_options(&i, &cli, argc, argv);
    if (code >= 0)
        return code;
    if (i >= argc) {
        print_overview(stderr);
        return CLI_USAGE;
    }
    c = find_command(argv[i]);
    if (c == NULL)
        return cli_fail(&cli, CLI_USAGE,
                        "no command '%s'; see oernode "
                        "--help",
                        argv[i]);

    cli.command = c->name;
    cli_log_level(&cli, NULL);
    /* getopt_long's own messages begin with argv[0] */
    snprintf(name, sizeof(name), "oernode %s", c->name);
    argv[i] = name;
    optind = 0;
    return c->run(&cli, argc - i, argv + i);
}
