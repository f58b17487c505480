/*
 * cmd_node: the commands about the node itself: init, id, config.
 */
#ifndef OERNODE_CMD_NODE_H
#define OERNODE_CMD_NODE_H

#include "node/cli.h"

/* The table of these commands, ending with a NULL name. */
extern const struct cli_command cmd_node_commands[];

#endif
