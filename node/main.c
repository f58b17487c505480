/*
 * main: the oernode program; node/cli.c holds the command line.
 */
#include "node/cli.h"
#include "node/index.h"

int main(int argc, char **argv)
{
    index_sqlite_setup();
    return cli_main(argc, argv);
}
