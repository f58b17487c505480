/*
 * cmd_token: `oernode token create|list|revoke`, the API accounts and
 * their bearer tokens (node/account.h).
 */
#ifndef OERNODE_CMD_TOKEN_H
#define OERNODE_CMD_TOKEN_H

#include "node/cli.h"

/* The table of these commands, ending with a NULL name. */
extern const struct cli_command cmd_token_commands[];

#endif
