/*
 * cmd_status: `oernode status`, the state of the running daemon as its
 * HTTP API on listen.http tells it: the node and each peer.
 */
#ifndef OERNODE_CMD_STATUS_H
#define OERNODE_CMD_STATUS_H

#include "node/cli.h"

/* The table of these commands, ending with a NULL name. */
extern const struct cli_command cmd_status_commands[];

#endif
