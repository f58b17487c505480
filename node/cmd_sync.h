/*
 * cmd_sync: `oernode sync PEER`, one catalogue sync with one peer
 * without the daemon.
 */
#ifndef OERNODE_CMD_SYNC_H
#define OERNODE_CMD_SYNC_H

#include "node/cli.h"

/* The table of these commands, ending with a NULL name. */
extern const struct cli_command cmd_sync_commands[];

#endif
