/*
 * cmd_peer: `oernode peer add`, `list` and `remove`: the node's peers in
 * its configuration file, edited in one step that is checked before it
 * replaces the file.
 */
#ifndef OERNODE_CMD_PEER_H
#define OERNODE_CMD_PEER_H

#include "node/cli.h"

/* The table of these commands, ending with a NULL name. */
extern const struct cli_command cmd_peer_commands[];

#endif
