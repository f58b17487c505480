/*
 * main: the oernode program; node/cli.c holds the command line.
 */
#include "node/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
