/*
 * cmd_search: `oernode search` (the node's index from the command line)
 * and `oernode reindex` (rebuild that index from the git store).
 */
#ifndef OERNODE_CMD_SEARCH_H
#define OERNODE_CMD_SEARCH_H

#include "node/cli.h"

/* The table of these commands, ending with a NULL name. */
extern const struct cli_command cmd_search_commands[];

#endif
