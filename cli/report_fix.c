/* The fix a finding usually needs, one sentence, named with the finding's
 * own locks, threads and functions: a report that makes the fix obvious
 * (report_names.c has the other sentences). */
#include <string.h>

#include "cli/report_int.h"

/* The function of a step's site, for advice that names code. */
static const char *site_function(struct tg_report *r, const struct tg_finding *f, uint32_t stack)
{
    struct tg_frame fr;
    return rp_site_frame(r, f->process, stack, &fr) && fr.function ? fr.function : NULL;
}

/* A race's fix from the locks each access held (the lockset): one side
 * with a lock the other lacks makes it obvious. */
static void race_fix(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len)
{
    char mem[512], lock[512];

    rp_mem_name(r, f, mem, sizeof mem);
    if (f->nsteps >= 2) {
        for (int i = 0; i < 2; i++) {
            const struct tg_step *has = &f->steps[i], *lacks = &f->steps[1 - i];
            for (uint32_t k = 0; k < has->nothers; k++) {
                bool shared = false;
                for (uint32_t m = 0; m < lacks->nothers; m++)
                    shared |= lacks->others[m].obj == has->others[k].obj;
                if (shared)
                    continue;
                const char *fn = site_function(r, f, lacks->stack);
                snprintf(buf, len, "the %s in %s holds %s, the %s in %s does not: take %s "
                         "around that %s too (or make both accesses atomic)",
                         has->access & 1 ? "write" : "read", site_function(r, f, has->stack) ?
                         site_function(r, f, has->stack) : rp_thread_name(r, has->thread),
                         rp_obj_name(r, f, has->others[k].obj, lock, sizeof lock),
                         lacks->access & 1 ? "write" : "read", fn ? fn : rp_thread_name(r, lacks->thread),
                         lock, lacks->access & 1 ? "write" : "read");
                return;
            }
        }
    }
    snprintf(buf, len, "protect every access to %s with one lock, or make the accesses atomic",
             mem);
}

/* "func (thread)", or the one of them there is when they are the same. */
static void who(struct tg_report *r, const char *fn, uint32_t thread, char *buf, size_t len)
{
    const char *name = rp_thread_name(r, thread);

    if (!fn || strcmp(fn, name) == 0)
        snprintf(buf, len, "%s", fn ? fn : name);
    else
        snprintf(buf, len, "%s (%s)", fn, name);
}

const char *rp_fix(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len)
{
    char a[512], c[512];
    const struct tg_step *s0 = f->nsteps ? &f->steps[0] : NULL;

    buf[0] = '\0';
    if (!s0)
        return buf;
    bool lock_cycle = f->kind == TG_FIND_LOCK_ORDER ||
                      (f->kind == TG_FIND_DEADLOCK && f->sub == TG_DEADLOCK_CYCLE);
    for (uint32_t i = 0; lock_cycle && i < f->nsteps; i++)
        if (f->steps[i].wait == TG_WAIT_JOIN)
            lock_cycle = false;
    if (lock_cycle && f->nsteps == 2) {
        const struct tg_step *s1 = &f->steps[1];
        const char *fn0 = site_function(r, f, s0->stack), *fn1 = site_function(r, f, s1->stack);
        char who0[256], who1[256], site0[512], site1[512];
        who(r, fn0, s0->thread, who0, sizeof who0);
        who(r, fn1, s1->thread, who1, sizeof who1);
        rp_obj_name(r, f, s0->held.obj, a, sizeof a);
        rp_obj_name(r, f, s0->obj, c, sizeof c);
        if (fn0 && strcmp(rp_site(r, f->process, s0->stack, site0, sizeof site0),
                          rp_site(r, f->process, s1->stack, site1, sizeof site1)) == 0) {
            /* one function, two orders: transfer(from, to) called both ways */
            snprintf(buf, len, "%s takes its two locks in the order its callers pass them, and "
                     "they pass %s and %s both ways; take them in one fixed order inside %s "
                     "(by address or by an id, for example), or hold only one at a time",
                     fn0, a, c, fn0);
            return buf;
        }
        snprintf(buf, len, "take %s and %s in one order everywhere: %s takes %s then %s, but %s "
                 "takes %s then %s; make %s take %s first too, or hold only one of them at a time",
                 a, c, who0, a, c, who1, c, a, fn1 ? fn1 : who1, a);
        return buf;
    }
    if (lock_cycle) {
        snprintf(buf, len, "take these locks in one global order in every thread (the order "
                 "of the cycle's first edge, %s before %s, for example), or hold fewer at a time",
                 rp_obj_name(r, f, s0->held.obj, a, sizeof a), rp_obj_name(r, f, s0->obj, c, sizeof c));
        return buf;
    }
    switch (f->kind) {
    case TG_FIND_DEADLOCK:
        if (f->sub == TG_DEADLOCK_SELF)
            snprintf(buf, len, "unlock %s before locking it again, or make it a recursive mutex "
                     "(PTHREAD_MUTEX_RECURSIVE) if the code is meant to re-enter",
                     rp_obj_name(r, f, s0->obj, a, sizeof a));
        else if (f->sub == TG_DEADLOCK_LOST_WAKEUP)
            snprintf(buf, len, "a signal sent while no thread waits is lost: set a flag under the "
                     "mutex before signalling, and wait in a loop `while (!flag) "
                     "pthread_cond_wait(...)`");
        else if (f->sub == TG_DEADLOCK_CYCLE)
            snprintf(buf, len, "a thread must not join a thread that waits for it, nor hold a "
                     "lock the joined thread needs");
        else
            snprintf(buf, len, "each thread waits for something only another blocked thread "
                     "could do: find the post, signal, unlock or thread end that never came");
        break;
    case TG_FIND_MISUSE:
        switch (f->sub) {
        case TG_MISUSE_UNLOCK_NOT_HELD:
            snprintf(buf, len, "unlock only what this thread locked (look for a double unlock or "
                     "an unlock on a path that did not lock)");
            break;
        case TG_MISUSE_UNLOCK_OTHER:
            snprintf(buf, len, "a mutex is unlocked by the thread that locked it; to hand work "
                     "between threads use a semaphore or a condition variable");
            break;
        case TG_MISUSE_DESTROY_LOCKED:
        case TG_MISUSE_DESTROY_WAITERS:
            snprintf(buf, len, "join or wake every thread that uses it, and unlock it, before "
                     "destroying it");
            break;
        case TG_MISUSE_EXIT_HOLDING:
            snprintf(buf, len, "unlock on every path out of the thread (early returns, "
                     "pthread_exit, cancellation: pthread_cleanup_push)");
            break;
        case TG_MISUSE_COND_NOT_HELD:
            snprintf(buf, len, "lock the mutex before pthread_cond_wait and pass that mutex");
            break;
        case TG_MISUSE_COND_TWO_MUTEXES:
            snprintf(buf, len, "use one mutex with each condition variable");
            break;
        case TG_MISUSE_RELOCK_TIMED:
            snprintf(buf, len, "the timed lock can only time out: unlock first, or use a "
                     "recursive mutex");
            break;
        default:
            switch (s0->result) {
            case TG_BUSY:
                snprintf(buf, len, "%s is still locked or in use: unlock it and join the "
                         "threads that use it first", rp_obj_name(r, f, s0->obj, a, sizeof a));
                break;
            case TG_INVAL:
                snprintf(buf, len, "%s is not a valid object here: initialise it first and do "
                         "not use it after destroying it", rp_obj_name(r, f, s0->obj, a, sizeof a));
                break;
            case TG_PERM:
                snprintf(buf, len, "only the thread that holds %s may unlock it",
                         rp_obj_name(r, f, s0->obj, a, sizeof a));
                break;
            case TG_DEADLK:
                snprintf(buf, len, "the thread already holds %s (or joins itself): unlock "
                         "first", rp_obj_name(r, f, s0->obj, a, sizeof a));
                break;
            default:
                snprintf(buf, len, "check what %s returns and handle the error",
                         rp_call_name(s0->event));
            }
        }
        break;
    case TG_FIND_RACE:
        race_fix(r, f, buf, len);
        break;
    }
    return buf;
}
