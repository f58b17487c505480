/*
 * cmd_serve: `oernode serve`, the daemon.
 */
#ifndef OERNODE_CMD_SERVE_H
#define OERNODE_CMD_SERVE_H

#include "node/cli.h"

/* The table of these commands, ending with a NULL name. */
extern const struct cli_command cmd_serve_commands[];

#endif
