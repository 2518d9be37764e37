/* --sarif FILE: SARIF 2.1.0 for GitHub code scanning and other viewers
 * (docs/report-formats.md). One result per finding, its rule
 * `KIND/SUB-KIND` described in tool.driver.rules; the primary location is
 * where the first thread of the finding blocked, called or accessed, the
 * other threads' sites are related locations, every step's stack is a
 * SARIF stack. Paths are relative to the repository root (uriBaseId
 * SRCROOT) when the source file is found there. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/report_int.h"
#include "tangle_config.h"

/* ---- rules */

struct rule {
    unsigned kind, sub;
    const char *id, *name, *level, *short_text, *help;
};

static const struct rule rules[] = {
    { TG_FIND_DEADLOCK, TG_DEADLOCK_CYCLE, "deadlock/cycle", "DeadlockCycle", "error",
      "Threads blocked waiting for each other (deadlock).",
      "Each thread of the cycle holds a lock (or is joined) that the next one waits for, so none "
      "can go on: the program hung and tangle ended it. Take the locks in one global order in "
      "every thread, or hold one at a time; never join a thread that waits for you." },
    { TG_FIND_DEADLOCK, TG_DEADLOCK_SELF, "deadlock/self", "SelfDeadlock", "error",
      "A thread locks a non-recursive mutex it already holds (self-deadlock).",
      "Locking a default or errorcheck mutex twice from one thread blocks that thread forever "
      "(or fails with EDEADLK). Unlock before locking again, split the function into a locked "
      "and an unlocked variant, or use PTHREAD_MUTEX_RECURSIVE where re-entry is intended." },
    { TG_FIND_DEADLOCK, TG_DEADLOCK_ALL_BLOCKED, "deadlock/all-blocked", "AllThreadsBlocked", "error",
      "Every thread is blocked (deadlock).",
      "Every live thread of the process waits in a lock, condition, semaphore, barrier or join "
      "that only another, also blocked, thread could release. Find the post, signal, unlock or "
      "thread end that never happens." },
    { TG_FIND_DEADLOCK, TG_DEADLOCK_LOST_WAKEUP, "deadlock/lost-wakeup", "LostWakeup", "error",
      "A condition variable was signalled before anyone waited: every thread is blocked.",
      "pthread_cond_signal wakes only threads already waiting. Keep a predicate (a flag or a "
      "count) protected by the mutex, set it before signalling, and wait in a loop: "
      "`while (!ready) pthread_cond_wait(&cond, &mutex);`." },
    { TG_FIND_LOCK_ORDER, 0, "lock-order/cycle", "LockOrderInversion", "warning",
      "Locks taken in inconsistent orders (potential deadlock).",
      "One thread takes lock A then B while another takes B then A (or a longer cycle). This "
      "run did not hang, but a different timing deadlocks. Take the locks in one global order "
      "everywhere, or hold only one at a time." },
    { TG_FIND_MISUSE, TG_MISUSE_UNLOCK_NOT_HELD, "misuse/unlock-not-held", "UnlockNotHeld", "warning",
      "Unlock of a lock no thread holds.",
      "Unlocking a mutex that is not locked is undefined behaviour for default mutexes. Look for "
      "a double unlock or an unlock on a path that never locked." },
    { TG_FIND_MISUSE, TG_MISUSE_UNLOCK_OTHER, "misuse/unlock-other", "UnlockByOtherThread", "warning",
      "Unlock of a lock another thread holds.",
      "A mutex must be unlocked by the thread that locked it. To hand over between threads use a "
      "semaphore or a condition variable." },
    { TG_FIND_MISUSE, TG_MISUSE_DESTROY_LOCKED, "misuse/destroy-locked", "DestroyLocked", "warning",
      "Destroy of a locked lock.",
      "Destroying a locked mutex, rwlock or spinlock is undefined behaviour. Unlock it and join "
      "its users first." },
    { TG_FIND_MISUSE, TG_MISUSE_DESTROY_WAITERS, "misuse/destroy-waiters", "DestroyWithWaiters", "warning",
      "Destroy of an object threads are waiting on.",
      "Destroying a lock, condition variable, semaphore or barrier while threads wait on it is "
      "undefined behaviour. Wake and join the waiters first." },
    { TG_FIND_MISUSE, TG_MISUSE_EXIT_HOLDING, "misuse/exit-holding", "ExitHoldingLock", "warning",
      "A thread ended while holding a lock.",
      "The lock stays held forever and the next thread that takes it hangs. Unlock on every "
      "path out of the thread: early returns, pthread_exit, cancellation (pthread_cleanup_push)." },
    { TG_FIND_MISUSE, TG_MISUSE_COND_NOT_HELD, "misuse/cond-not-held", "CondWaitWithoutMutex", "warning",
      "Condition wait with a mutex the thread does not hold.",
      "pthread_cond_wait must be called with the mutex locked by the calling thread." },
    { TG_FIND_MISUSE, TG_MISUSE_COND_TWO_MUTEXES, "misuse/cond-two-mutexes", "CondTwoMutexes", "warning",
      "Two mutexes used with one condition variable.",
      "All concurrent waits on one condition variable must use the same mutex." },
    { TG_FIND_MISUSE, TG_MISUSE_RELOCK_TIMED, "misuse/relock-timed", "TimedRelock", "warning",
      "Timed lock of a mutex the thread already holds.",
      "The call can only time out (or fail with EDEADLK): the thread waits for itself. Unlock "
      "first, or use a recursive mutex." },
    { TG_FIND_MISUSE, TG_MISUSE_ERROR_RETURN, "misuse/error-return", "PthreadError", "warning",
      "A pthread call returned an unexpected error.",
      "EINVAL, EPERM, EDEADLK or EBUSY where none was expected means the object or the calling "
      "thread is not in the state the code assumes. Check return values." },
};

static const struct rule race_rule = {
    TG_FIND_RACE, 0, NULL, "DataRace", "error", "Data race.",
    "Two threads access the same memory, at least one writes, and no synchronisation orders "
    "them. Protect every access with one lock, or make the accesses atomic.",
};

/* The rule of F: its index in the run's rule list, added if new. */
struct rule_list {
    struct rule r[64];
    char ids[64][64];
    size_t n;
};

static size_t rule_of(struct rule_list *l, const struct tg_finding *f)
{
    const char *sub = tg_finding_sub_name(f->kind, f->sub);
    char id[64];

    snprintf(id, sizeof id, "%s/%s", tg_finding_kind_name(f->kind), sub && *sub ? sub : "race");
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->ids[i], id) == 0)
            return i;
    if (l->n == 64)
        return 0;
    l->r[l->n] = race_rule;
    l->r[l->n].kind = f->kind;
    snprintf(l->ids[l->n], sizeof l->ids[l->n], "%s", id);
    l->r[l->n].id = l->ids[l->n];
    return l->n++;
}

static void write_rule(struct rp_json *j, const struct rule *r)
{
    rj_begin_obj(j);
    rj_kstr(j, "id", r->id);
    rj_kstr(j, "name", r->name);
    rj_key(j, "shortDescription");
    rj_begin_obj(j);
    rj_kstr(j, "text", r->short_text);
    rj_end_obj(j);
    rj_key(j, "fullDescription");
    rj_begin_obj(j);
    rj_kstr(j, "text", r->help);
    rj_end_obj(j);
    rj_key(j, "help");
    rj_begin_obj(j);
    rj_kstr(j, "text", r->help);
    rj_kstr(j, "markdown", r->help);
    rj_end_obj(j);
    rj_key(j, "defaultConfiguration");
    rj_begin_obj(j);
    rj_kstr(j, "level", r->level);
    rj_end_obj(j);
    rj_key(j, "properties");
    rj_begin_obj(j);
    rj_key(j, "tags");
    rj_begin_arr(j);
    rj_str(j, "concurrency");
    rj_str(j, tg_finding_kind_name(r->kind));
    rj_end_arr(j);
    rj_kstr(j, "precision", r->kind == TG_FIND_LOCK_ORDER ? "high" : "very-high");
    rj_kstr(j, "problem.severity", r->level);
    rj_end_obj(j);
    rj_end_obj(j);
}

/* ---- repository paths */

static char repo_root[PATH_MAX];
static bool root_known, in_repo;  /* in_repo: a checkout, worth searching */
static char **repo_files;         /* relative paths under repo_root */
static size_t nrepo, caprepo;
#define MAX_REPO_FILES 200000

static void find_root(void)
{
    const char *ws = getenv("GITHUB_WORKSPACE");
    char dir[PATH_MAX], probe[PATH_MAX + 8];

    root_known = true;
    if (ws && *ws && realpath(ws, repo_root)) {
        in_repo = true;
        return;
    }
    if (!getcwd(dir, sizeof dir)) {
        repo_root[0] = '\0';
        return;
    }
    for (;;) {
        struct stat st;
        snprintf(probe, sizeof probe, "%s/.git", dir);
        if (stat(probe, &st) == 0) {
            snprintf(repo_root, sizeof repo_root, "%s", dir);
            in_repo = true;
            return;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            break;
        *slash = '\0';
    }
    /* no repository: paths relative to the current directory, which is
     * not searched (it may be $HOME or /tmp) */
    if (!getcwd(repo_root, sizeof repo_root))
        repo_root[0] = '\0';
}

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    const char *base = path + ftw->base;
    if (type == FTW_D && ftw->level > 0 && (base[0] == '.' || strcmp(base, "node_modules") == 0))
        return FTW_SKIP_SUBTREE;
    if (type != FTW_F)
        return FTW_CONTINUE;
    if (nrepo == MAX_REPO_FILES)
        return FTW_STOP;
    if (nrepo == caprepo) {
        size_t cap = caprepo ? caprepo * 2 : 1024;
        char **p = realloc(repo_files, cap * sizeof *p);
        if (!p)
            return FTW_STOP;
        repo_files = p;
        caprepo = cap;
    }
    size_t rootlen = strlen(repo_root);
    char *rel = strdup(path + rootlen + (path[rootlen] == '/'));
    if (!rel)
        return FTW_STOP;
    repo_files[nrepo++] = rel;
    return FTW_CONTINUE;
}

/* The root and its file list, found once per process. */
static void know_repo(void)
{
    if (root_known)
        return;
    find_root();
    if (in_repo)
        nftw(repo_root, collect, 32, FTW_PHYS | FTW_ACTIONRETVAL);
}

const char *rp_repo_path(const char *file, char *buf, size_t len)
{
    if (!file || !*file)
        return NULL;
    know_repo();
    size_t rootlen = strlen(repo_root);
    if (file[0] == '/') {
        if (rootlen && strncmp(file, repo_root, rootlen) == 0 && file[rootlen] == '/') {
            snprintf(buf, len, "%s", file + rootlen + 1);
            return buf;
        }
        return NULL;
    }
    /* a short name ("abba.c", "src/util.c"): the one file of the
     * repository whose path ends with it */
    const char *found = NULL;
    size_t flen = strlen(file);
    for (size_t i = 0; i < nrepo; i++) {
        size_t n = strlen(repo_files[i]);
        if (n < flen || strcmp(repo_files[i] + n - flen, file) != 0)
            continue;
        if (n > flen && repo_files[i][n - flen - 1] != '/')
            continue;
        if (found)
            return NULL;          /* ambiguous */
        found = repo_files[i];
    }
    if (!found)
        return NULL;
    snprintf(buf, len, "%s", found);
    return buf;
}

/* "file:///abs/dir/" for originalUriBaseIds, percent-encoding what a URI
 * cannot hold. */
static void file_uri(const char *path, bool dir, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "file://");
    for (const unsigned char *p = (const unsigned char *)path; *p && o + 4 < len; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~+", *p))
            buf[o++] = (char)*p;
        else
            o += (size_t)snprintf(buf + o, len - o, "%%%02X", *p);
    }
    if (dir && o + 1 < len && (o == 0 || buf[o - 1] != '/'))
        buf[o++] = '/';
    buf[o < len ? o : len - 1] = '\0';
}

/* A relative path as a URI reference: percent-encode what needs it. */
static void rel_uri(const char *path, char *buf, size_t len)
{
    file_uri(path, false, buf, len);
    memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

/* ---- locations */

/* A physicalLocation for FRAME; false if it has no file to point at. */
static bool physical(struct rp_json *j, const struct tg_frame *fr)
{
    char rel[PATH_MAX], uri[PATH_MAX * 3];

    if (!fr->file)
        return false;
    const char *path = rp_repo_path(fr->file, rel, sizeof rel);
    rj_key(j, "physicalLocation");
    rj_begin_obj(j);
    rj_key(j, "artifactLocation");
    rj_begin_obj(j);
    if (path || fr->file[0] != '/') {
        rel_uri(path ? path : fr->file, uri, sizeof uri);
        rj_kstr(j, "uri", uri);
        rj_kstr(j, "uriBaseId", "SRCROOT");
    } else {
        file_uri(fr->file, false, uri, sizeof uri);
        rj_kstr(j, "uri", uri);
    }
    rj_end_obj(j);
    if (fr->line > 0) {
        rj_key(j, "region");
        rj_begin_obj(j);
        rj_kint(j, "startLine", fr->line);
        rj_end_obj(j);
    }
    rj_end_obj(j);
    return true;
}

static void location(struct tg_report *r, struct rp_json *j, uint32_t process, uint32_t stack,
                     int id, const char *message)
{
    struct tg_frame fr;
    bool have = rp_site_frame(r, process, stack, &fr);

    rj_begin_obj(j);
    if (id >= 0)
        rj_kint(j, "id", id);
    if (have && !physical(j, &fr) && fr.module) {
        /* no source line: point at the module */
        char uri[PATH_MAX * 3];
        rj_key(j, "physicalLocation");
        rj_begin_obj(j);
        rj_key(j, "artifactLocation");
        rj_begin_obj(j);
        file_uri(fr.module, false, uri, sizeof uri);
        rj_kstr(j, "uri", uri);
        rj_end_obj(j);
        rj_end_obj(j);
    }
    if (have && fr.function) {
        rj_key(j, "logicalLocations");
        rj_begin_arr(j);
        rj_begin_obj(j);
        rj_kstr(j, "name", fr.function);
        rj_kstr(j, "kind", "function");
        rj_end_obj(j);
        rj_end_arr(j);
    }
    rj_key(j, "message");
    rj_begin_obj(j);
    rj_kstr(j, "text", message);
    rj_end_obj(j);
    rj_end_obj(j);
}

static void stack_of(struct tg_report *r, struct rp_json *j, uint32_t process, uint32_t stack,
                     const char *message)
{
    struct tg_frame fr[RP_MAX_FRAMES];
    size_t n = rp_frames(r, process, stack, fr, RP_MAX_FRAMES);
    char text[1024];

    rj_begin_obj(j);
    rj_key(j, "message");
    rj_begin_obj(j);
    rj_kstr(j, "text", message);
    rj_end_obj(j);
    rj_key(j, "frames");
    rj_begin_arr(j);
    for (size_t i = 0; i < n; i++) {
        rj_begin_obj(j);
        rj_key(j, "location");
        rj_begin_obj(j);
        physical(j, &fr[i]);
        if (fr[i].function) {
            rj_key(j, "logicalLocations");
            rj_begin_arr(j);
            rj_begin_obj(j);
            rj_kstr(j, "name", fr[i].function);
            rj_kstr(j, "kind", "function");
            rj_end_obj(j);
            rj_end_arr(j);
        }
        rj_key(j, "message");
        rj_begin_obj(j);
        rj_kstr(j, "text", tg_symbols_format_frame(&fr[i], text, sizeof text));
        rj_end_obj(j);
        rj_end_obj(j);
        if (fr[i].module) {
            const char *base = strrchr(fr[i].module, '/');
            rj_kstr(j, "module", base ? base + 1 : fr[i].module);
        }
        rj_end_obj(j);
    }
    rj_end_arr(j);
    rj_end_obj(j);
}

/* What a step's site is, as a location message. */
static const char *step_message(struct tg_report *r, const struct tg_finding *f,
                                const struct tg_step *s, bool held, char *buf, size_t len)
{
    char obj[512], h[512];
    const char *who = rp_thread_name(r, s->thread);

    if (held) {
        snprintf(buf, len, "%s acquired %s here", who, rp_obj_name(r, f, s->held.obj, h, sizeof h));
        return buf;
    }
    rp_obj_name(r, f, s->obj, obj, sizeof obj);
    switch (s->role) {
    case TG_ROLE_EDGE:
        snprintf(buf, len, "%s takes %s here while holding %s", who, obj,
                 rp_obj_name(r, f, s->held.obj, h, sizeof h));
        break;
    case TG_ROLE_WAITS:
        if (s->wait == TG_WAIT_JOIN)
            snprintf(buf, len, "%s waits here in pthread_join for %s", who,
                     rp_thread_name(r, s->other_thread));
        else
            snprintf(buf, len, "%s is blocked here on %s", who, obj);
        break;
    case TG_ROLE_ACCESS:
        snprintf(buf, len, "%s by %s", s->access & 1 ? "write" : "read", who);
        break;
    default:
        snprintf(buf, len, "%s calls %s on %s here", who, rp_call_name(s->event), obj);
    }
    return buf;
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull;
}

/* Stable across runs and builds: kinds, object names, and each step's
 * function and file, never addresses, lines or thread numbers. */
static uint64_t fingerprint(struct tg_report *r, const struct tg_finding *f)
{
    char name[512];
    struct tg_frame fr;
    uint64_t h = fnv(0xcbf29ce484222325ull, tg_finding_kind_name(f->kind));

    h = fnv(h, tg_finding_sub_name(f->kind, f->sub));
    for (uint32_t i = 0; i < f->nobjs; i++)
        h = fnv(h, rp_obj_global(r, &f->objs[i], name, sizeof name) ? name : tg_obj_kind_name(f->objs[i].kind));
    for (uint32_t i = 0; i < f->nsteps; i++)
        if (rp_site_frame(r, f->process, f->steps[i].stack, &fr)) {
            h = fnv(h, fr.function);
            h = fnv(h, fr.file);
        }
    return h;
}

/* Step I of a lock cycle makes the move step I-1 made (the same thread at
 * the same code: hand over hand down a chain): its locations and stack say
 * nothing new, and a 10,000-lock chain would make 10,000 of each. */
static bool repeats(const struct tg_finding *f, uint32_t i)
{
    const struct tg_step *a = &f->steps[i - (i > 0)], *b = &f->steps[i];

    return i > 0 && (f->kind == TG_FIND_LOCK_ORDER || f->kind == TG_FIND_DEADLOCK) &&
           a->thread == b->thread && a->stack == b->stack && a->held.stack == b->held.stack;
}

static void write_result(struct tg_report *r, struct rp_json *j, const struct tg_finding *f,
                         size_t rule_index, const struct rule *rule)
{
    char text[4096], fix[1024], msg[1024];

    rj_begin_obj(j);
    rj_kstr(j, "ruleId", rule->id);
    rj_kint(j, "ruleIndex", (long long)rule_index);
    rj_kstr(j, "level", rule->level);
    rp_summary(r, f, text, sizeof text);
    if (rp_fix(r, f, fix, sizeof fix)[0]) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, ". Fix: %s.", fix);
    }
    rj_key(j, "message");
    rj_begin_obj(j);
    rj_kstr(j, "text", text);
    rj_end_obj(j);

    rj_key(j, "locations");
    rj_begin_arr(j);
    const struct tg_step *s0 = f->nsteps ? &f->steps[0] : NULL;
    location(r, j, f->process, s0 ? s0->stack : 0, -1,
             s0 ? step_message(r, f, s0, false, msg, sizeof msg) : text);
    rj_end_arr(j);

    rj_key(j, "relatedLocations");
    rj_begin_arr(j);
    int id = 1;
    for (uint32_t i = 0; i < f->nsteps; i++) {
        const struct tg_step *s = &f->steps[i];
        if (repeats(f, i))
            continue;
        if (i > 0 && s->stack)
            location(r, j, f->process, s->stack, id++, step_message(r, f, s, false, msg, sizeof msg));
        if (s->held.obj != TG_NO_OBJ && s->held.stack && s->held.stack != s->stack)
            location(r, j, f->process, s->held.stack, id++,
                     step_message(r, f, s, true, msg, sizeof msg));
    }
    rj_end_arr(j);

    rj_key(j, "stacks");
    rj_begin_arr(j);
    for (uint32_t i = 0; i < f->nsteps; i++)
        if (f->steps[i].stack && !repeats(f, i))
            stack_of(r, j, f->process, f->steps[i].stack,
                     step_message(r, f, &f->steps[i], false, msg, sizeof msg));
    rj_end_arr(j);

    snprintf(msg, sizeof msg, "%016" PRIx64, fingerprint(r, f));
    rj_key(j, "partialFingerprints");
    rj_begin_obj(j);
    rj_kstr(j, "tangleFinding/v1", msg);
    rj_end_obj(j);
    rj_key(j, "properties");
    rj_begin_obj(j);
    rj_kint(j, "count", f->count);
    rj_kstr(j, "cycle", rp_cycle(r, f, text, sizeof text)[0] ? text : NULL);
    rj_end_obj(j);
    rj_end_obj(j);
}

int rp_sarif_write(struct tg_report *r, const struct tg_finding *const *fs, size_t n, FILE *out)
{
    struct rp_json j = { .f = out };
    struct rule_list *l = calloc(1, sizeof *l);
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    char uri[PATH_MAX * 3];

    if (!l || !idx) {
        free(l);
        free(idx);
        return -ENOMEM;
    }
    /* every rule this build knows, then races' as they appear */
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        l->r[l->n] = rules[i];
        snprintf(l->ids[l->n], sizeof l->ids[0], "%s", rules[i].id);
        l->n++;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = rule_of(l, fs[i]);
    know_repo();

    rj_begin_obj(&j);
    rj_kstr(&j, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
    rj_kstr(&j, "version", "2.1.0");
    rj_key(&j, "runs");
    rj_begin_arr(&j);
    rj_begin_obj(&j);
    rj_key(&j, "tool");
    rj_begin_obj(&j);
    rj_key(&j, "driver");
    rj_begin_obj(&j);
    rj_kstr(&j, "name", "tangle");
    rj_kstr(&j, "version", TANGLE_VERSION);
    rj_kstr(&j, "semanticVersion", TANGLE_VERSION);
    rj_key(&j, "rules");
    rj_begin_arr(&j);
    for (size_t i = 0; i < l->n; i++)
        write_rule(&j, &l->r[i]);
    rj_end_arr(&j);
    rj_end_obj(&j);
    rj_end_obj(&j);
    if (repo_root[0]) {
        rj_key(&j, "originalUriBaseIds");
        rj_begin_obj(&j);
        rj_key(&j, "SRCROOT");
        rj_begin_obj(&j);
        file_uri(repo_root, true, uri, sizeof uri);
        rj_kstr(&j, "uri", uri);
        rj_end_obj(&j);
        rj_end_obj(&j);
    }
    rj_key(&j, "results");
    rj_begin_arr(&j);
    for (size_t i = 0; i < n; i++)
        write_result(r, &j, fs[i], idx[i], &l->r[idx[i]]);
    rj_end_arr(&j);
    rj_end_obj(&j);
    rj_end_arr(&j);
    rj_end_obj(&j);
    free(l);
    free(idx);
    return ferror(out) ? -EIO : 0;
}
