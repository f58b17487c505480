/*
 * fault: the test hooks of the crash and resume tests.  Built with
 * OERNODE_TEST_HOOKS (the test build of `make test`), fault_is(name)
 * says whether the environment variable OERNODE_FAULT is name; built
 * without (`make run`, a plain cmake build), it is always 0 and the
 * hooks compile away, so a node in production cannot be made to kill
 * itself or stall through its environment.
 */
#ifndef OERNODE_NODE_FAULT_H
#define OERNODE_NODE_FAULT_H

#include <stdlib.h>
#include <string.h>

static inline int fault_is(const char *name)
{
#ifdef OERNODE_TEST_HOOKS
    const char *fault = getenv("OERNODE_FAULT");

    return fault != NULL && strcmp(fault, name) == 0;
#else
    (void)name;
    return 0;
#endif
}

#endif
