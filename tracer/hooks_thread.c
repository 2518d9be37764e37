/* tracer/: thread hooks.
 *
 * pthread_create starts the child in a trampoline that gives it its stream
 * and records THREAD_START (creation site captured in the parent), runs the
 * user's routine, and records THREAD_EXIT when it returns. The child's
 * thread index is allocated in the parent before the real call, so the
 * parent's THREAD_CREATE and the child's THREAD_START name the same thread,
 * and THREAD_CREATE carries the time taken before the real call, so it
 * always comes first in time order.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "tracer/internal.h"

struct start_block {
    void *(*start)(void *);
    void *arg;
    uint32_t index;             /* the child's thread index */
    uint32_t parent;            /* the creating thread's */
    uint32_t site;              /* stack id of the pthread_create call */
};

/* Cancellation (and pthread_exit, which unwinds the same way) skips the
 * return path of the trampoline; the cleanup handler records the exit. The
 * pthread_exit hook records first with the real value, so this one is then
 * a no-op. */
static void on_cancel(void *arg)
{
    tg_thread_end(arg, PTHREAD_CANCELED);
}

static void *run_user(struct tg_thread *t, void *(*start)(void *), void *arg)
{
    void *ret;
    pthread_cleanup_push(on_cancel, t);
    ret = start(arg);
    pthread_cleanup_pop(0);
    return ret;
}

static void *trampoline(void *p)
{
    struct tg_thread *t = &tg_self;
    struct start_block b = *(struct start_block *)p;
    tg_busy(t);
    free(p);
    tg_stack_bounds(t);
    tg_thread_begin(t, b.index, b.parent, TG_OBJ(b.start), b.site);
    tg_idle(t);
    tg_sync(TG_EV_THREAD_START, b.index, 0);
    void *ret = run_user(t, b.start, b.arg);
    tg_thread_end(t, ret);
    return ret;
}

TG_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                             void *(*start)(void *), void *arg)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_create(thread, attr, start, arg);
    tg_busy(t);
    uint32_t site = TG_STACK(t);
    int saved = errno;
    struct start_block *b = malloc(sizeof *b);
    errno = saved;
    if (b == NULL) {
        /* the program's own call may still succeed: run it untraced */
        tg_failure("thread start block", ENOMEM);
        tg_idle(t);
        return tg_pass_pthread_create(thread, attr, start, arg);
    }
    b->start = start;
    b->arg = arg;
    b->index = tg_tracer_new_thread_index();
    b->parent = t->index;
    b->site = site;
    uint32_t child = b->index;
    uint64_t tick = tg_now();
    tg_idle(t);
    tg_sync(TG_EV_THREAD_CREATE, child, 0);
    int r = REAL(pthread_create)(thread, attr, trampoline, b);
    tg_busy(t);
    if (r != 0)
        free(b);
    tg_emit1(t, TG_EV_THREAD_CREATE, TG_ARG(0, 0, 0, tg_result(r)),
             r == 0 ? TG_OBJ(*thread) : 0, site, tick, child, TG_OBJ(start));
    tg_idle(t);
    return r;
}

static inline __attribute__((always_inline))
int join_record(struct tg_thread *t, uint32_t stack, unsigned kind, pthread_t th,
                bool timed, int r)
{
    tg_busy(t);
    uint64_t tick = tg_now();
    if (kind == TG_EV_JOIN_DONE && r == 0)
        tick = tg_tick_acquire(t, TG_OBJ(th), tick);   /* after the THREAD_EXIT */
    tg_emit(t, kind, TG_ARG(0, 0, timed, tg_result(r)), TG_OBJ(th), stack, tick);
    tg_idle(t);
    if (kind == TG_EV_JOIN_DONE && r == 0)
        tg_sync(TG_EV_JOIN_DONE, TG_OBJ(th), 0);
    return r;
}

TG_EXPORT int pthread_join(pthread_t thread, void **retval)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_join(thread, retval);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    tg_idle(t);
    join_record(t, stack, TG_EV_JOIN_REQ, thread, false, 0);
    int r = tg_pass_pthread_join(thread, retval);
    return join_record(t, stack, TG_EV_JOIN_DONE, thread, false, r);
}

TG_EXPORT int pthread_tryjoin_np(pthread_t thread, void **retval)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_tryjoin_np(thread, retval);
    int r = tg_pass_pthread_tryjoin_np(thread, retval);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    tg_idle(t);
    return join_record(t, stack, TG_EV_JOIN_DONE, thread, false, r);
}

TG_EXPORT int pthread_timedjoin_np(pthread_t thread, void **retval, const struct timespec *abstime)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_timedjoin_np(thread, retval, abstime);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    tg_idle(t);
    join_record(t, stack, TG_EV_JOIN_REQ, thread, true, 0);
    int r = tg_pass_pthread_timedjoin_np(thread, retval, abstime);
    return join_record(t, stack, TG_EV_JOIN_DONE, thread, true, r);
}

TG_EXPORT int pthread_detach(pthread_t thread)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_detach(thread);
    int r = REAL(pthread_detach)(thread);
    tg_busy(t);
    uint32_t stack = TG_STACK(t);
    tg_emit(t, TG_EV_DETACH, TG_ARG(0, 0, 0, tg_result(r)), TG_OBJ(thread), stack, tg_now());
    tg_idle(t);
    return r;
}

TG_EXPORT void pthread_exit(void *retval)
{
    struct tg_thread *t = tg_enter();
    if (t != NULL)
        tg_thread_end(t, retval);
    tg_pass_pthread_exit(retval);
    /* only reached if libc's pthread_exit could not be found */
    for (;;)
        syscall(SYS_exit, 0);
}

TG_EXPORT int pthread_setname_np(pthread_t thread, const char *name)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_pthread_setname_np(thread, name);
    int r = REAL(pthread_setname_np)(thread, name);
    if (r == 0) {
        tg_busy(t);
        uint32_t stack = TG_STACK(t);
        tg_emit_var(t, TG_EV_THREAD_NAME, TG_OBJ(thread), stack, tg_now(), name,
                    strlen(name) + 1);
        tg_idle(t);
    }
    return r;
}
