/*
 * tally: documents in a catalogue tree, by git trees alone.
 */
#include "sync/tally.h"

#include <string.h>

#include <git2.h>

#include "node/error.h"
#include "node/log.h"

#define MOD "tally"

static int tree_of(git_tree **out, git_repository *repo, const char *hex)
{
    git_commit *commit = NULL;
    git_oid oid;
    int gerr;

    if (strlen(hex) != 40 || git_oid_fromstr(&oid, hex) != 0)
        return OER_EINVAL;
    gerr = git_commit_lookup(&commit, repo, &oid);
    if (gerr == 0)
        gerr = git_commit_tree(out, commit);
    git_commit_free(commit);
    if (gerr == GIT_ENOTFOUND)
        return OER_ENOTFOUND;
    return gerr == 0 ? 0 : OER_EIO;
}

/* Every blob under each shard of the root tree. */
static int count_all(size_t *out, git_repository *repo, const git_tree *root)
{
    size_t n = git_tree_entrycount(root), total = 0;

    for (size_t i = 0; i < n; i++) {
        const git_tree_entry *e = git_tree_entry_byindex(root, i);
        git_tree *shard = NULL;

        if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
            total++;
            continue;
        }
        if (git_tree_lookup(&shard, repo, git_tree_entry_id(e)) != 0)
            return OER_EIO;
        total += git_tree_entrycount(shard);
        git_tree_free(shard);
    }
    *out = total;
    return 0;
}

/* base_count, plus the documents added and less those removed. */
static int count_since(size_t *out, git_repository *repo, git_tree *from,
                       git_tree *to, size_t base_count)
{
    git_diff *diff = NULL;
    size_t n, added = 0, removed = 0;

    if (git_diff_tree_to_tree(&diff, repo, from, to, NULL) != 0)
        return OER_EIO;
    n = git_diff_num_deltas(diff);
    for (size_t i = 0; i < n; i++) {
        git_delta_t status = git_diff_get_delta(diff, i)->status;

        added += status == GIT_DELTA_ADDED;
        removed += status == GIT_DELTA_DELETED;
    }
    git_diff_free(diff);
    if (removed > base_count + added)
        return OER_EIO;
    *out = base_count + added - removed;
    return 0;
}

int tally_documents(size_t *out, struct store *s, const char *commit,
                    const char *base, size_t base_count)
{
    git_repository *repo = store_repository(s);
    git_tree *to = NULL, *from = NULL;
    int err;

    err = tree_of(&to, repo, commit);
    if (err == 0 && base != NULL)
        err = tree_of(&from, repo, base);
    if (err == 0)
        err = from != NULL ? count_since(out, repo, from, to, base_count)
                           : count_all(out, repo, to);
    if (err == OER_EIO)
        log_warn(MOD, "cannot count a catalogue", "commit", commit, NULL);
    git_tree_free(from);
    git_tree_free(to);
    return err;
}
