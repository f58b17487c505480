/*
 * cmd_store: the commands that read and change the catalogue: show,
 * list, withdraw, log, import, fsck.
 */
#ifndef OERNODE_CMD_STORE_H
#define OERNODE_CMD_STORE_H

#include "node/cli.h"

/* The table of these commands, ending with a NULL name. */
extern const struct cli_command cmd_store_commands[];

#endif
