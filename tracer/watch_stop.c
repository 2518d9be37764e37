/* tracer/: keeping the other threads out while a watched page is open.
 *
 * An instruction the handler cannot carry out itself (watch_emul.c) is
 * single-stepped with the watched pages given their permissions back; for
 * that moment any other thread could touch a watched variable unseen. So
 * before opening the pages the stepping thread stops every other thread of
 * the process: it sends each one a real-time signal (tagged, so a program's
 * own use of that signal is told apart and chained to), and each waits in
 * the handler until the step is done. A thread that blocks the signal (one
 * glibc is creating or ending blocks them all) or has ended is not waited
 * for, and none for more than a second (one stopped by a debugger).
 *
 * All of this runs inside signal handlers: raw system calls, no malloc.
 * The watch lock is held throughout, so one stop at a time.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "tracer/watch.h"

#define STOP_TAG      0x7467000000000000ull    /* si_value: ours, plus the generation */
#define MAX_TIDS      4096
#define WAIT_NS       (1000 * 1000 * 1000ll)   /* per round, at most */

static int stop_sig;
static uint32_t generation;     /* of the current or last stop; futex word while stopped */
static uint32_t stopped_gen;    /* == generation while the world is stopped */
static uint32_t arrived;        /* threads waiting in the handler this generation */
static pid_t tids[MAX_TIDS];    /* signalled this generation (under the watch lock) */
static uint64_t arrived_tids[MAX_TIDS]; /* generation << 32 | tid, in arrival order */
static unsigned ntids;

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, val, ts, NULL, 0);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static bool signalled(pid_t tid)
{
    for (unsigned i = 0; i < ntids; i++)
        if (tids[i] == tid)
            return true;
    return false;
}

/* Signals every thread not signalled yet; returns how many it signalled. */
static unsigned signal_new_threads(pid_t pid, pid_t self)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned sent = 0;
    char buf[4096] __attribute__((aligned(8)));
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            const struct dirent64 *d = (const struct dirent64 *)(buf + off);
            off += d->d_reclen;
            pid_t tid = 0;
            for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++)
                tid = tid * 10 + (*c - '0');
            if (tid <= 0 || tid == self || signalled(tid) || ntids == MAX_TIDS)
                continue;
            siginfo_t si;
            memset(&si, 0, sizeof si);
            si.si_signo = stop_sig;
            si.si_code = SI_QUEUE;
            si.si_pid = pid;
            si.si_uid = getuid();
            si.si_value.sival_ptr = (void *)(uintptr_t)(STOP_TAG | generation);
            if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, stop_sig, &si) == 0) {
                tids[ntids++] = tid;
                sent++;
            }
        }
    }
    syscall(SYS_close, fd);
    return sent;
}

/* Whether TID is waiting in the handler for this stop (a thread that came
 * late for an earlier one may have taken a place in the count, not this
 * mark). */
static bool arrived_tid(pid_t tid, unsigned n)
{
    uint64_t want = (uint64_t)generation << 32 | (uint32_t)tid;
    for (unsigned i = 0; i < n && i < MAX_TIDS; i++)
        if (__atomic_load_n(&arrived_tids[i], __ATOMIC_ACQUIRE) == want)
            return true;
    return false;
}

static bool all_arrived(unsigned n)
{
    for (unsigned i = 0; i < ntids; i++)
        if (!arrived_tid(tids[i], n))
            return false;
    return true;
}

/* Whether TID cannot come now: it ended, is ending, or blocks the signal
 * (a thread glibc is creating or ending has every signal blocked). */
static bool excused(pid_t tid)
{
    char path[64] = "/proc/self/task/", digits[16];
    int k = 0;
    for (pid_t v = tid; v > 0 && k < 15; v /= 10)
        digits[k++] = (char)('0' + v % 10);
    size_t len = strlen(path);
    while (k > 0)
        path[len++] = digits[--k];
    memcpy(path + len, "/status", 8);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;                /* gone */
    char buf[2048];
    long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    const char *state = strstr(buf, "\nState:\t"), *blk = strstr(buf, "\nSigBlk:\t");
    if (state != NULL && (state[8] == 'Z' || state[8] == 'X'))
        return true;
    if (blk == NULL)
        return false;
    uint64_t mask = 0;
    for (const char *c = blk + 9; (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'); c++)
        mask = mask << 4 | (uint64_t)(*c <= '9' ? *c - '0' : *c - 'a' + 10);
    return (mask >> (stop_sig - 1)) & 1;
}

/* Waits until every signalled thread is in the handler or excused, or the
 * time is up (a thread that never comes, e.g. stopped by a debugger). */
static void wait_arrivals(void)
{
    int64_t start = now_ns(), last_check = start;
    for (unsigned spins = 1;; spins++) {
        unsigned n = __atomic_load_n(&arrived, __ATOMIC_ACQUIRE);
        if (n >= ntids && all_arrived(n))
            return;
        if (spins % 16 == 0) {
            int64_t t = now_ns();
            if (t - start > WAIT_NS)
                return;
            if (t - last_check > 200 * 1000) {      /* every 0.2 ms: who is missing, and why */
                last_check = t;
                unsigned missing = 0;
                for (unsigned i = 0; i < ntids; i++)
                    missing += !arrived_tid(tids[i], n) && !excused(tids[i]);
                if (missing == 0)
                    return;
            }
        }
        sched_yield();
    }
}

void tg_watch_stop_world(void)
{
    if (stop_sig == 0)
        return;
    pid_t pid = getpid(), self = (pid_t)syscall(SYS_gettid);
    generation = (generation + 1) & 0xffffffu;
    if (generation == 0)
        generation = 1;         /* 0 means "not stopped" */
    __atomic_store_n(&arrived, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&stopped_gen, generation, __ATOMIC_RELEASE);
    ntids = 0;
    /* a thread that was inside clone when we listed them appears once its
     * parent is stopped: list again until nobody new shows up */
    for (int round = 0; round < 8 && signal_new_threads(pid, self) > 0; round++)
        wait_arrivals();
}

void tg_watch_start_world(void)
{
    if (stop_sig == 0)
        return;
    __atomic_store_n(&stopped_gen, 0, __ATOMIC_RELEASE);
    futex(&stopped_gen, FUTEX_WAKE, INT32_MAX, NULL);
}

static void on_stop(int sig, siginfo_t *si, void *ctx)
{
    uint64_t tag = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
    if (si->si_code != SI_QUEUE || si->si_pid != getpid() || (tag & ~0xffffffull) != STOP_TAG) {
        tg_watch_chain(sig, si, ctx);
        return;
    }
    int saved = errno;
    uint32_t gen = (uint32_t)(tag & 0xffffff);
    if (__atomic_load_n(&stopped_gen, __ATOMIC_ACQUIRE) == gen) {
        unsigned i = __atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
        if (i < MAX_TIDS)
            __atomic_store_n(&arrived_tids[i],
                             (uint64_t)gen << 32 | (uint32_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
        while (__atomic_load_n(&stopped_gen, __ATOMIC_ACQUIRE) == gen)
            futex(&stopped_gen, FUTEX_WAIT, gen, NULL);
    }
    errno = saved;                  /* a late signal of a stop that is over: nothing to do */
}

int tg_watch_stop_init(void)
{
    /* near the top of the real-time range, away from programs' usual SIGRTMIN + n */
    int sig = SIGRTMAX - 2;
    int err = tg_watch_take_signal(sig, on_stop);
    if (err < 0)
        return err;
    stop_sig = sig;
    return 0;
}
