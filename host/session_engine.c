/* SPDX-License-Identifier: MIT */
/*
 * The part of the session plumbing that drives the container engine: finding a session's
 * container, taking a session down. Only the engine program (ca-engine) links it; render,
 * audit and the other front commands use session.c alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentstate.h"
#include "audit.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "paths.h"
#include "runtime/runtime.h"
#include "session.h"
#include "session_model.h"
#include "textsafe.h"
#include "workspace.h"
#include "worktree.h"

int session_lookup(struct runtime *rt, const char *name, json_t **ret, struct ca_error *err)
{
        _cleanup_json_ json_t *ins = NULL;
        const char *label;
        int r = runtime_inspect(rt, name, &ins, err);

        if (r == -ENOENT) {
                ca_error_clear(err);
                return 0;
        }
        if (r < 0)
                return r;
        label = json_string_value(json_object_get(
                json_object_get(json_object_get(ins, "Config"), "Labels"), RUNTIME_LABEL_SESSION));
        if (!label || strcmp(label, name) != 0)
                return ca_error_setx(err, EPERM,
                                     "the container '%s' is not a coding-agents session: "
                                     "not touching it",
                                     name);
        if (ret) {
                *ret = ins;
                ins = NULL;
        }
        return 1;
}

void session_remove_dir(const char *config_root, const char *name)
{
        _cleanup_free_ char *dir = session_dir(config_root, name);
        struct ca_error err = {0};

        if (dir && fileio_remove_tree(dir, &err) < 0)
                (void) fprintf(stderr, "coding-agents: %s\n", err.msg);
}

int session_git_snapshot(const char *config_root, const char *name, const char *workspace,
                         struct ca_error *err)
{
        _cleanup_free_ char *dir = session_dir(config_root, name);
        _cleanup_free_ char *path = dir ? paths_join(dir, SESSION_GIT_SNAPSHOT) : NULL;
        _cleanup_json_ json_t *snap = NULL;
        _cleanup_buf_ struct buf b = BUF_INIT;
        int r;

        if (!path)
                return ca_error_setx(err, ENOMEM, "out of memory");
        r = workspace_git_snapshot(workspace, &snap, err);
        if (r >= 0)
                r = ca_json_pretty(snap, &b, err);
        return r < 0 ? r : fileio_write_atomic(path, b.data, b.len, 0600, err);
}

/* A worktree of another --worktree session that came or went while this one ran (its git
 * directory under .git/worktrees/, made and removed by coding-agents) is not news: dropped
 * from `changed`. A change inside one that stayed is kept. */
static void drop_own_worktrees(const char *config_root, json_t *changed)
{
        static const char prefix[] = ".git/worktrees/";
        size_t i = 0;

        while (i < json_array_size(changed)) {
                const json_t *c = json_array_get(changed, i);
                const char *path = json_string_value(json_object_get(c, "path"));
                const char *change = json_string_value(json_object_get(c, "change"));
                char session[CAP_SESSION_MAX + 1];
                struct worktree wt;
                struct ca_error err = {0};
                size_t n;

                if (path && change && strcmp(change, "modified") != 0 &&
                    strncmp(path, prefix, sizeof(prefix) - 1) == 0 &&
                    (n = strcspn(path + sizeof(prefix) - 1, "/")) < sizeof(session)) {
                        memcpy(session, path + sizeof(prefix) - 1, n);
                        session[n] = '\0';
                        if (worktree_load(config_root, session, &wt, &err) == 0) {
                                (void) json_array_remove(changed, i);
                                continue;
                        }
                }
                i++;
        }
}

/* A change workspace_git_changes reports of a ref (not of a file in .git). */
static bool is_ref_change(const char *what)
{
        return what && (strcmp(what, "moved") == 0 || strcmp(what, "created") == 0 ||
                        strcmp(what, "deleted") == 0);
}

/* A --worktree session's refs are a private copy (only its own branch comes back, after
 * this): a ref that moved in the repository meanwhile is the host's doing (another session's
 * branch made or brought back) or the user's, not news from this session. Dropped from
 * `changed`. */
static void drop_refs_of_worktree_session(const char *config_root, const char *name,
                                          json_t *changed)
{
        struct worktree wt;
        struct ca_error err = {0};
        size_t i = 0;

        if (worktree_load(config_root, name, &wt, &err) != 0)
                return;
        while (i < json_array_size(changed)) {
                const char *what = json_string_value(
                        json_object_get(json_array_get(changed, i), "change"));

                if (is_ref_change(what))
                        (void) json_array_remove(changed, i);
                else
                        i++;
        }
}

#define REFS_SAID 16
/* The changes' part of the event: it is one line of the log (AUDIT_MAX_LINE), and what the
 * agent named (files it hid, refs it made) must not push it out whole. */
#define CHANGES_EVENT_MAX ((size_t) 48 << 10)

/* Keeps the changes that fit the event, in order, and counts the rest in a last one (the
 * warnings printed named every one). */
static void fit_event(json_t *changed)
{
        size_t used = 2, keep = 0, n = json_array_size(changed);

        for (; keep < n; keep++) {
                char *text = json_dumps(json_array_get(changed, keep), JSON_COMPACT);
                size_t len = text ? strlen(text) + 1 : CHANGES_EVENT_MAX;

                free(text);
                if (used + len > CHANGES_EVENT_MAX)
                        break;
                used += len;
        }
        if (keep == n)
                return;
        while (json_array_size(changed) > keep) /* from the end: nothing moves */
                (void) json_array_remove(changed, json_array_size(changed) - 1);
        (void) json_array_append_new(changed, json_pack("{s:s, s:s, s:I}", "path", ".git", "change",
                                                        "more", "count", (json_int_t) (n - keep)));
}

/* A ref the session moved, made or deleted: what it now holds is not in git status or git
 * diff, and the warning gives the git log that shows it (the ids are hex, from git). */
static void ref_warning(const char *name, const json_t *c, const char *shown)
{
        const char *what = json_string_value(json_object_get(c, "change"));
        const char *from = json_string_value(json_object_get(c, "from"));
        const char *to = json_string_value(json_object_get(c, "to"));
        const char *base = json_string_value(json_object_get(c, "base"));
        const char *how = json_string_value(json_object_get(c, "how"));

        if (how || (strcmp(what, "deleted") != 0 && !to) || (strcmp(what, "created") != 0 && !from))
                (void) fprintf(stderr,
                               "coding-agents: warning: during session %s, the repository's refs "
                               "changed (%s): review 'git log -p' of each before you build or "
                               "run anything there\n",
                               name, how ? how : "unreadable");
        else if (strcmp(what, "moved") == 0)
                (void) fprintf(stderr,
                               "coding-agents: warning: during session %s, %s moved from %.12s "
                               "to %.12s: git status and git diff do not show commits; review "
                               "them with 'git log -p %s..%s' (and 'git log %s..%s' for what "
                               "it no longer holds) before you build or run anything there\n",
                               name, shown, from, to, from, to, to, from);
        else if (strcmp(what, "created") == 0)
                (void) fprintf(stderr,
                               "coding-agents: warning: during session %s, %s was created at "
                               "%.12s: review it with 'git log -p %s%s%s' before you use it\n",
                               name, shown, to, base ? base : "", base ? ".." : "", to);
        else
                (void) fprintf(stderr,
                               "coding-agents: warning: during session %s, %s was deleted (it "
                               "was at %s)\n",
                               name, shown, from);
}

/* At the end of a session: whatever in the workspace's .git changed that git executes or
 * follows (the mounts should have made that impossible), any tracked file the index now hides
 * from git status and git diff, and every ref that moved (commits those two do not show), is
 * reported, never silently kept. */
static void check_git(const char *config_root, const char *name)
{
        _cleanup_free_ char *dir = session_dir(config_root, name);
        _cleanup_free_ char *path = dir ? paths_join(dir, SESSION_GIT_SNAPSHOT) : NULL;
        _cleanup_json_ json_t *snap = NULL;
        _cleanup_json_ json_t *changed = NULL;
        struct ca_error err = {0};
        size_t refs_said = 0;
        const json_t *c;
        size_t i;

        if (!path || access(path, F_OK) < 0)
                return;
        if (ca_json_parse_file(path, (size_t) 64 << 20, &snap, &err) < 0 ||
            workspace_git_changes(snap, &changed, &err) < 0) {
                (void) fprintf(stderr, "coding-agents: cannot check the workspace's .git: %s\n",
                               err.msg);
                return;
        }
        drop_own_worktrees(config_root, changed);
        drop_refs_of_worktree_session(config_root, name, changed);
        if (json_array_size(changed) == 0)
                return;
        json_array_foreach(changed, i, c) {
                const char *what = json_string_value(json_object_get(c, "change"));
                const char *how = json_string_value(json_object_get(c, "how"));
                const char *entry = json_string_value(json_object_get(c, "path"));
                char shown[PATH_MAX];

                /* A work tree's file name is the agent's choice: the snapshot holds it escaped
                 * already (textsafe.h); anything else is escaped here. */
                if (entry && text_is_safe(entry, strlen(entry), 0))
                        (void) snprintf(shown, sizeof(shown), "%s", entry);
                else
                        (void) text_escape_to(entry ? entry : "", 0, shown, sizeof(shown));
                if (!how)
                        how = "";
                if (is_ref_change(what)) {
                        /* One line each for the first few; the event lists them all. */
                        if (refs_said++ < REFS_SAID)
                                ref_warning(name, c, shown);
                        else if (refs_said == REFS_SAID + 1)
                                (void) fprintf(stderr,
                                               "coding-agents: warning: during session %s, more "
                                               "refs changed: 'coding-agents events tail --type "
                                               "workspace-git-changed' lists them all\n",
                                               name);
                } else if (what && strcmp(what, "staged") == 0) {
                        (void) fprintf(stderr,
                                       "coding-agents: warning: at the end of session %s, '%s' "
                                       "has a change staged that the work tree does not have: "
                                       "git diff shows it as removed, and your next git commit "
                                       "commits it. Review it with 'git diff --cached -- <path>' "
                                       "('git restore --staged -- <path>' drops it)\n",
                                       name, shown);
                } else if (what && strcmp(what, "hidden") == 0) {
                        (void) fprintf(stderr,
                                       "coding-agents: warning: during session %s, the "
                                       "workspace's index was set to hide '%s' from git status "
                                       "and git diff (%s): its changes are not shown. Show them "
                                       "with 'git update-index %s -- <path>' (git ls-files -v "
                                       "lists what is hidden) and review them before you build "
                                       "or run anything there\n",
                                       name, shown, how,
                                       strstr(how, "assume") && strstr(how, "skip")
                                               ? "--no-assume-unchanged' and 'git update-index "
                                                 "--no-skip-worktree"
                                       : strstr(how, "skip") ? "--no-skip-worktree"
                                                             : "--no-assume-unchanged");
                } else
                        (void) fprintf(stderr,
                                       "coding-agents: warning: during session %s, the "
                                       "workspace's %s was %s: review it before running git "
                                       "there\n",
                                       name, shown, what ? what : "changed");
        }
        fit_event(changed);
        (void) session_emit(config_root, AUDIT_WORKSPACE_GIT_CHANGED, name,
                            json_pack("{s:O, s:O}", "workspace",
                                      json_object_get(snap, "workspace"), "changed", changed));
}

/*
 * Removes the session's network. Endpoints the engine still lists for containers that are gone
 * (stale: dockerd without a default bridge keeps the endpoint of a started sidecar it removed)
 * are disconnected by force and the removal tried again, but only on a network that is this
 * session's (its label says so): never anyone else's, never a live member's.
 */
static int remove_network(struct runtime *rt, const char *name, struct ca_error *err)
{
        _cleanup_json_ json_t *net = NULL;
        const char *key, *owner;
        json_t *ep;
        int r = runtime_network_remove(rt, name, err);

        if (r != -EBUSY)
                return r;
        if (runtime_network_inspect(rt, name, &net, err) < 0)
                return -EIO;
        owner = json_string_value(
                json_object_get(json_object_get(net, "Labels"), RUNTIME_LABEL_SESSION));
        if (!owner || strcmp(owner, name) != 0)
                return ca_error_setx(err, EPERM, "network '%s' has endpoints and is not this "
                                                 "session's",
                                     name);
        json_object_foreach(json_object_get(net, "Containers"), key, ep) {
                const char *n = json_string_value(json_object_get(ep, "Name"));
                _cleanup_json_ json_t *c = NULL;
                struct ca_error e = {0};

                if (runtime_inspect(rt, key, &c, &e) != -ENOENT)
                        continue; /* a live member: not ours to cut off */
                /* By name first: the engine finds a removed container's endpoint by it. */
                if (runtime_network_disconnect(rt, name, n ? n : key, true, err) < 0 &&
                    (!n || runtime_network_disconnect(rt, name, key, true, err) < 0))
                        return -EIO;
        }
        return runtime_network_remove(rt, name, err);
}

/* One part's removal: a failure is noted in `left` (and printed), the rest goes on. */
static void remove_part(int r, const char *what, const struct ca_error *e, json_t *left)
{
        if (r >= 0)
                return;
        (void) fprintf(stderr, "coding-agents: cannot remove the session's %s: %s\n", what, e->msg);
        (void) json_array_append_new(left, json_string(what));
}

/* The agent's state, handed back by agent-init, replaces the saved one (agentstate.h); a
 * failure is said, and the saved state is kept as it was. */
static void save_state(const char *config_root, const char *name)
{
        _cleanup_free_ char *dir = session_dir(config_root, name);
        struct ca_error err = {0};

        if (dir && agentstate_save(config_root, name, dir, &err) < 0)
                (void) cli_error("%s", err.msg);
}

/* A login the model helper refreshed goes back to the host's file before the session's
 * directory (and its record) goes; a failure is said, never fatal to the teardown. */
static void write_back_login(const char *config_root, const char *name)
{
        _cleanup_free_ char *dir = session_dir(config_root, name);
        _cleanup_free_ char *ctl = dir ? paths_join(dir, "control") : NULL;
        struct ca_error err = {0};

        if (ctl && session_model_write_back(config_root, name, ctl, &err) < 0)
                (void) cli_error("the refreshed login was not written back: %s", err.msg);
}

int session_teardown(const char *config_root, struct runtime *rt, const char *name,
                     const struct session_parts *parts, struct ca_error *err)
{
        _cleanup_json_ json_t *left = json_array();
        char proxy[CAP_SESSION_MAX + 16];
        struct ca_error e = {0};
        json_t *fields;

        if (!left)
                return ca_error_setx(err, ENOMEM, "out of memory");
        session_proxy_name(name, proxy, sizeof(proxy));
        /* Containers first (a network with members cannot go), the network last. */
        if (rt && parts->container)
                remove_part(runtime_remove(rt, name, true, &e), "container", &e, left);
        if (rt && parts->sidecar)
                remove_part(runtime_remove(rt, proxy, true, &e), "egress proxy", &e, left);
        if (rt && parts->network)
                remove_part(remove_network(rt, name, &e), "network", &e, left);
        save_state(config_root, name);
        /* The session's objects first: its branch and the index may name them. */
        fields = workspace_objects_end(config_root, name);
        if (fields)
                (void) session_emit(config_root, AUDIT_WORKSPACE_OBJECTS, name, fields);
        /* Then what changed in .git: a ref whose commit is not in yet would read as gone. */
        check_git(config_root, name);
        worktree_end(config_root, name);
        write_back_login(config_root, name);
        session_remove_dir(config_root, name);
        /* Whatever happened above, the log says the session is gone, and what is left. */
        fields = json_pack("{s:b}", "container_existed", parts->container);
        if (fields && json_array_size(left))
                (void) json_object_set(fields, "left", left);
        (void) session_emit(config_root, AUDIT_SESSION_REMOVED, name, fields);
        if (json_array_size(left))
                return ca_error_setx(err, EIO,
                                     "session %s: %zu part%s left on the engine (see above); "
                                     "'coding-agents rm %s' tries again",
                                     name, json_array_size(left),
                                     json_array_size(left) == 1 ? "" : "s", name);
        return 0;
}

int session_remove(const char *config_root, struct runtime *rt, const char *name, bool ours,
                   struct ca_error *err)
{
        struct session_parts parts = {.sidecar = rt != NULL, .network = rt != NULL};
        int r = !rt ? 0 : ours ? 1 : session_lookup(rt, name, NULL, err);

        if (r < 0)
                return r;
        parts.container = r > 0;
        return session_teardown(config_root, rt, name, &parts, err);
}

