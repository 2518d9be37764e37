/* tracer/: fork, exec and the ways a process ends.
 *
 * fork: the parent reserves the child's process index, holds the fork gate
 * (no thread of this process inside the writer or libunwind) and its own
 * busy flag (atfork handlers run untraced, in the child they would write
 * into the parent's stream) across the real fork. The child registers under
 * the reserved index and starts a fresh stream for its one thread; the
 * parent records FORK with the child's pid and index.
 *
 * exec: the image records PROCESS_EXIT (how = exec) before the call, as a
 * successful exec never returns; the new image, which keeps the environment
 * and so LD_PRELOAD and TANGLE_TRACE, opens the same trace as a new process.
 * An exec that returns failed: EXEC_FAIL (errno) voids that exit and the
 * image goes on. A vfork child shares our memory: it records nothing (the
 * pid differs from ours).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "tracer/internal.h"

static void child_after_fork(struct tg_thread *t, uint32_t parent_process,
                             uint32_t parent_thread, uint32_t process, uint32_t site)
{
    tg_g.pid = getpid();
    tg_prefault_after_fork();
    tg_threads_after_fork();
    int err = tg_tracer_writer() == NULL ? 0      /* no trace: nothing to join */
              : tg_writer_after_fork_as(&tg_g.w, parent_process, process);
    if (err < 0) {
        /* the child runs on untraced; its parent's trace is unharmed */
        __atomic_store_n(&tg_g.state, TG_RUN_OFF, __ATOMIC_RELEASE);
        t->state = TG_T_DONE;
        tg_failure("fork child cannot join the trace", -err);
        return;
    }
    tg_thread_begin(t, tg_g.w.first_thread, parent_thread, 0, site);
}

TG_EXPORT pid_t fork(void)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return tg_pass_fork();
    tg_busy(t);
    uint32_t site = TG_STACK(t);
    uint32_t parent_process = tg_g.w.process;
    uint32_t child_process = tg_writer_reserve_process(&tg_g.w);
    uint64_t tick = tg_now();
    tg_gate_fork_begin();
    pid_t pid = tg_pass_fork();
    if (pid == 0) {
        tg_gate_fork_end(true);
        int saved = errno;
        child_after_fork(t, parent_process, t->index, child_process, site);
        errno = saved;
        tg_idle(t);
        return 0;
    }
    tg_gate_fork_end(false);
    int err = pid < 0 ? errno : 0;
    tg_emit1(t, TG_EV_FORK, tg_with_result(0, err), 0, site, tick,
             pid < 0 ? 0 : (uint64_t)pid, pid < 0 ? TG_NO_THREAD : child_process);
    tg_idle(t);
    return pid;
}

TG_EXPORT void _exit(int status)
{
    tg_process_exit((status & 0xff) << 8, TG_EXIT_UNDERSCORE);
    tg_pass__exit(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

TG_EXPORT void _Exit(int status)
{
    tg_process_exit((status & 0xff) << 8, TG_EXIT_UNDERSCORE);
    tg_pass__Exit(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

/* The exit is written before the call: an image that is replaced by an
 * untraced one (its environment drops LD_PRELOAD, a static or setuid
 * program) or killed during the exec still ends in the trace. */
static void exec_begin(void)
{
    tg_process_exit(0, TG_EXIT_EXEC);
}

/* The exec returned R: it failed, and the image goes on. */
static int exec_failed(int r)
{
    int err = errno;
    if (__atomic_load_n(&tg_g.state, __ATOMIC_ACQUIRE) != TG_RUN_TRACING || getpid() != tg_g.pid)
        return r;                 /* untraced, or a vfork child: exec_begin wrote nothing */
    struct tg_thread *t = &tg_self;
    if (!(t->state == TG_T_LAST && !t->busy))
        t = tg_enter();           /* as tg_process_exit finds the thread */
    if (t != NULL) {
        tg_busy(t);
        uint32_t stack = TG_STACK(t);
        tg_writer_add_features(&tg_g.w, TG_FEAT_EXEC_FAIL);
        tg_emit1(t, TG_EV_EXEC_FAIL, 0, 0, stack, tg_now(), (uint64_t)err, 0);
        tg_idle(t);
    }
    errno = err;
    return r;
}

TG_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    exec_begin();
    return exec_failed(tg_pass_execve(path, argv, envp));
}

TG_EXPORT int execv(const char *path, char *const argv[])
{
    exec_begin();
    return exec_failed(tg_pass_execv(path, argv));
}

TG_EXPORT int execvp(const char *file, char *const argv[])
{
    exec_begin();
    return exec_failed(tg_pass_execvp(file, argv));
}

TG_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    exec_begin();
    return exec_failed(tg_pass_execvpe(file, argv, envp));
}

TG_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    exec_begin();
    return exec_failed(tg_pass_fexecve(fd, argv, envp));
}

/* The execl family: the arguments become an argv on the stack and go to
 * the v variant, as libc's own execl does. */
#define COLLECT_ARGS(argv, arg, last) \
    size_t n_ = 1; \
    va_list ap_; \
    va_start(ap_, last); \
    while (va_arg(ap_, const char *) != NULL) \
        n_++; \
    va_end(ap_); \
    const char *argv[n_ + 1]; \
    argv[0] = (arg); \
    va_start(ap_, last); \
    for (size_t i_ = 1; i_ <= n_; i_++) \
        argv[i_] = va_arg(ap_, const char *);

TG_EXPORT int execl(const char *path, const char *arg, ...)
{
    COLLECT_ARGS(argv, arg, arg)
    va_end(ap_);
    exec_begin();
    return exec_failed(tg_pass_execv(path, (char *const *)argv));
}

TG_EXPORT int execlp(const char *file, const char *arg, ...)
{
    COLLECT_ARGS(argv, arg, arg)
    va_end(ap_);
    exec_begin();
    return exec_failed(tg_pass_execvp(file, (char *const *)argv));
}

TG_EXPORT int execle(const char *path, const char *arg, ...)
{
    COLLECT_ARGS(argv, arg, arg)
    char *const *envp = va_arg(ap_, char *const *);   /* after the NULL */
    va_end(ap_);
    exec_begin();
    return exec_failed(tg_pass_execve(path, (char *const *)argv, envp));
}
