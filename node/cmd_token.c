/*
 * cmd_token: create, list and revoke API accounts from the command line.
 * A new token is printed once, on stdout, and never stored.
 */
#include "node/cmd_token.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "node/account.h"
#include "node/error.h"

/* Open the node and its account database. */
static int open_accounts(struct account_db **db, struct cli_node *node,
                         struct cli *cli)
{
    char *path;
    int code = cli_node_open(node, cli, 0), err;

    if (code != CLI_OK)
        return code;
    path = cli_path(node->dir, "accounts.sqlite");
    if (path == NULL)
        return cli_fail(cli, CLI_FAILURE, "out of memory");
    err = account_open(db, path);
    if (err != 0)
        code = cli_fail(cli, CLI_FAILURE, "cannot open the accounts %s (%s)",
                        path, error_name(err));
    free(path);
    return code;
}

static int token_create(struct cli *cli, struct account_db *db,
                        const char *name, const char *role_text)
{
    char token[ACCOUNT_TOKEN_LEN + 1];
    enum account_role role;
    int err;

    if (role_text == NULL || name == NULL)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode token create --role ROLE "
                        "--name NAME");
    if (account_role_parse(&role, role_text) != 0)
        return cli_fail(cli, CLI_USAGE,
                        "--role: contributor, moderator or admin");
    if (!account_valid_name(name))
        return cli_fail(cli, CLI_USAGE,
                        "--name: 1 to 64 characters of A-Z a-z 0-9 . _ @ -");
    err = account_create(token, db, name, role, (long long)time(NULL));
    if (err == OER_EEXISTS)
        return cli_fail(cli, CLI_FAILURE,
                        "an account '%s' exists; revoke it first", name);
    if (err != 0)
        return cli_fail(cli, CLI_FAILURE, "cannot create the account (%s)",
                        error_name(err));
    printf("%s\n", token);
    fprintf(stderr, "token of %s (%s): shown once, keep it secret\n", name,
            account_role_name(role));
    OPENSSL_cleanse(token, sizeof(token));
    return CLI_OK;
}

static int on_account(const struct account *a, void *arg)
{
    char created[24], active[24];
    time_t c = (time_t)a->created, l = (time_t)a->last_active;

    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&c));
    strftime(active, sizeof(active), "%Y-%m-%dT%H:%M:%SZ", gmtime(&l));
    printf("%s\t%s\t%s\t%s\n", a->name, account_role_name(a->role), created,
           active);
    return 0;
}

static int token_revoke(struct cli *cli, struct account_db *db,
                        const char *name)
{
    int err = account_revoke(db, name);

    if (err == OER_ENOTFOUND)
        return cli_fail(cli, CLI_FAILURE, "no account '%s'", name);
    if (err != 0)
        return cli_fail(cli, CLI_FAILURE, "cannot revoke '%s' (%s)", name,
                        error_name(err));
    printf("revoked %s\n", name);
    return CLI_OK;
}

static int dispatch(struct cli *cli, struct account_db *db, int argc,
                    char **argv, const char *name, const char *role)
{
    const char *what = argv[optind];

    if (strcmp(what, "create") == 0 && optind + 1 == argc)
        return token_create(cli, db, name, role);
    if (strcmp(what, "list") == 0 && optind + 1 == argc && !name && !role) {
        if (account_foreach(db, on_account, NULL) != 0)
            return cli_fail(cli, CLI_FAILURE, "cannot list the accounts");
        return CLI_OK;
    }
    if (strcmp(what, "revoke") == 0 && optind + 2 == argc && !name && !role)
        return token_revoke(cli, db, argv[optind + 1]);
    return cli_fail(cli, CLI_USAGE,
                    "usage: oernode token create --role ROLE --name NAME "
                    "| list | revoke NAME");
}

static int run_token(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
                                         {"name", required_argument, NULL, 'n'},
                                         CLI_COMMON_OPTIONS,
                                         {0}};
    const char *name = NULL, *role = NULL;
    struct cli_node node = {0};
    struct account_db *db = NULL;
    int opt, code;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        if (opt == 'r' || opt == 'n') {
            *(opt == 'r' ? &role : &name) = optarg;
            continue;
        }
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    if (optind >= argc)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode token create|list|revoke");
    code = open_accounts(&db, &node, cli);
    if (code == CLI_OK)
        code = dispatch(cli, db, argc, argv, name, role);
    account_close(db);
    cli_node_close(&node);
    return code;
}

const struct cli_command cmd_token_commands[] = {
    {"token", run_token,
     "token create --role ROLE --name NAME | list | revoke NAME",
     "manage the API accounts and their bearer tokens",
     "create: make the account NAME with ROLE (contributor, moderator or\n"
     "admin) and print its bearer token once; only its SHA-256 is kept,\n"
     "in DATA/accounts.sqlite.  list: one account a line (name, role,\n"
     "created, last active; tabs between).  revoke: delete the account\n"
     "NAME; its token stops working at once.  An account idle longer than\n"
     "accounts.expire-days (365) is deleted by the daemon; what it\n"
     "published stays.\n"},
    {NULL, NULL, NULL, NULL, NULL}};
