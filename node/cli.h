/*
 * cli: the command line, git-style (`oernode [OPTIONS] COMMAND ...`):
 * the table of commands, the options every command takes, the help
 * texts, the exit codes, and opening the node of a data folder.
 * docs/CLI.md describes every command.
 */
#ifndef OERNODE_CLI_H
#define OERNODE_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "config/config.h"
#include "federation/identity.h"
#include "node/store.h"

/* Exit codes of every command. */
enum cli_exit {
    CLI_OK = 0,      /* done */
    CLI_FAILURE = 1, /* failed: no node, not found, I/O, ... */
    CLI_USAGE = 2,   /* the command line is wrong */
    CLI_INVALID = 3, /* invalid input: metadata, configuration, file */
    CLI_PROBLEMS = 4 /* fsck found problems */
};

/* "oernode peer remove": the name getopt_long's messages begin with */
#define CLI_NAME_CAP 64

/* One run of the program: the options every command takes. */
struct cli {
    const char *command;  /* name of the running command */
    const char *data_arg; /* --data DIR, or NULL */
    int verbosity;        /* -1 for --quiet, 1 for --verbose */
};

/* One command: its name, entry point and help.  Each command module
 * exports a table of them ending with an entry whose name is NULL. */
struct cli_command {
    const char *name;
    int (*run)(struct cli *cli, int argc, char **argv);
    const char *usage;   /* "init --id ID" */
    const char *summary; /* one line for oernode --help */
    const char *help;    /* what it does, and its own options */
};

/* The options every command takes, to end each command's option table
 * (followed by { 0 }); their codes are 'D', 'v', 'q' and 'h'. */
/* clang-format off */
#define CLI_COMMON_OPTIONS                                                 \
    { "data", required_argument, NULL, 'D' },                              \
    { "verbose", no_argument, NULL, 'v' },                                 \
    { "quiet", no_argument, NULL, 'q' },                                   \
    { "help", no_argument, NULL, 'h' }
/* clang-format on */

/* Report the running command's usage line (its table's) as a usage
 * error; returns CLI_USAGE. */
int cli_usage(const struct cli *cli);

/* Run the program; returns the exit code. */
int cli_main(int argc, char **argv);

/*
 * Handle option opt (a code of getopt_long) that a command does not know
 * itself: a common option returns -1 (go on); --help prints the
 * command's help and returns CLI_OK; anything else reports a usage error
 * and returns CLI_USAGE.
 */
int cli_option(struct cli *cli, int opt, const char *arg);

/* Report a message about the running command on stderr and return code. */
int cli_fail(const struct cli *cli, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The data folder: --data, else $OERNODE_DATA, else ./data.  Borrowed. */
const char *cli_data_dir(const struct cli *cli);

/* dir/name, malloc'd (the caller frees), or NULL when out of memory. */
char *cli_path(const char *dir, const char *name);

/* Set the log level from the configuration and --verbose / --quiet. */
void cli_log_level(const struct cli *cli, const struct config *config);

/* The node of the data folder, opened for one command. */
struct cli_node {
    const char *dir;
    struct config *config;
    struct identity *key; /* with CLI_NODE_KEY */
    struct store *store;  /* with CLI_NODE_STORE */
    const char *id;       /* config->node_id */
};

enum { CLI_NODE_KEY = 1 << 0, CLI_NODE_STORE = 1 << 1 };

/*
 * Open the node: its configuration, and its key and store as need says.
 * Reports what is wrong and returns an exit code (CLI_OK when open).
 * Close it with cli_node_close whatever the result.
 */
int cli_node_open(struct cli_node *node, struct cli *cli, unsigned need);
void cli_node_close(struct cli_node *node);

/*
 * Stage doc alone in the node's catalogue and commit it signed with the
 * node key.  *changed (may be NULL) is 0 when the document was already
 * there as it is.  Reports a failure and returns an exit code.
 */
int cli_commit(struct cli *cli, const struct cli_node *node, const json_t *doc,
               const char *message, int *changed);

/* Parse "ORIGIN/LOCAL" or "LOCAL" (this node's); 0 or OER_EINVAL. */
int cli_resource_id(char *origin, size_t ocap, char *local, size_t lcap,
                    const struct cli_node *node, const char *text);

#endif
