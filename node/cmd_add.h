/*
 * cmd_add: `oernode add`: publish a resource of this node from flags or
 * a JSON document, with its files.
 */
#ifndef OERNODE_CMD_ADD_H
#define OERNODE_CMD_ADD_H

#include "node/cli.h"

/* The table of this command, ending with a NULL name. */
extern const struct cli_command cmd_add_commands[];

/* The media type of a file name, guessed from its extension
 * ("application/octet-stream" when unknown); a static string. */
const char *cmd_add_media_type(const char *name);

#endif
