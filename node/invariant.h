/*
 * invariant: the one assert macro.  A broken invariant is a bug in
 * oernode, never bad input: it is logged with where it happened and the
 * process aborts, so that the bug is seen rather than data corrupted.
 * Input from a peer, a file, a form or a config never reaches here; it
 * gets an error code.
 */
#ifndef OERNODE_INVARIANT_H
#define OERNODE_INVARIANT_H

#define INVARIANT(cond)                                                        \
    ((cond) ? (void)0 : invariant_fail(#cond, __FILE__, __LINE__))

/* Log the broken condition and abort.  Does not return. */
_Noreturn void invariant_fail(const char *cond, const char *file, int line);

#endif
