/* A program for the tracer's integration tests: `tracee MODE [ARGS]` does
 * one small, deterministic thing with pthreads and prints what it saw, so
 * the test can compare the trace with the truth. No sleeps as
 * synchronisation: where a thread must really be blocked before the next
 * step, the other waits until /proc says it sleeps.
 */
#include "tracee.h"

#include <sched.h>

pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

/* ---- helpers ---- */

static pid_t gettid_(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Waits until thread TID sleeps in the kernel (blocked in a futex). */
static void wait_blocked(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    for (;;) {
        int fd = open(path, O_RDONLY);
        CHECK(fd >= 0);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        CHECK(n > 0);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (p && p[2] == 'S')
            return;
        sched_yield();
    }
}

static struct timespec in_ms(clockid_t clock, long ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_nsec += (ms % 1000) * 1000000L;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

/* ---- modes ---- */

static int mode_mutex_types(void)
{
    pthread_mutex_t mx[4];
    int types[4] = { PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_RECURSIVE,
                     PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_NORMAL };
    for (int i = 0; i < 4; i++) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_settype(&a, types[i]);
        if (i == 3)
            pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        CHECK(pthread_mutex_init(&mx[i], &a) == 0);
        pthread_mutexattr_destroy(&a);
        printf("mutex %d %p\n", i, (void *)&mx[i]);
    }
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_mutex_lock(&mx[i]) == 0);
        CHECK(pthread_mutex_unlock(&mx[i]) == 0);
    }
    CHECK(pthread_mutex_lock(&mx[1]) == 0);       /* recursive: twice */
    CHECK(pthread_mutex_lock(&mx[1]) == 0);
    CHECK(pthread_mutex_unlock(&mx[1]) == 0);
    CHECK(pthread_mutex_unlock(&mx[1]) == 0);
    CHECK(pthread_mutex_unlock(&mx[2]) == EPERM); /* errorcheck: not held */
    for (int i = 0; i < 4; i++)
        CHECK(pthread_mutex_destroy(&mx[i]) == 0);
    return 0;
}

static int mode_errorcheck_relock(void)
{
    pthread_mutex_t mx;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&mx, &a);
    CHECK(pthread_mutex_lock(&mx) == 0);
    int r = pthread_mutex_lock(&mx);
    printf("relock %d\n", r);
    CHECK(r == EDEADLK);
    CHECK(pthread_mutex_unlock(&mx) == 0);
    return 0;
}

static int tid_pipe[2];

static void *contender(void *arg)
{
    pid_t tid = gettid_();
    CHECK(write(tid_pipe[1], &tid, sizeof tid) == sizeof tid);
    CHECK(pthread_mutex_lock(&m) == 0);
    CHECK(pthread_mutex_unlock(&m) == 0);
    return arg;
}

static int mode_contended(void)
{
    pthread_t th;
    pid_t tid;
    CHECK(pipe(tid_pipe) == 0);
    CHECK(pthread_mutex_lock(&m) == 0);
    CHECK(pthread_create(&th, NULL, contender, NULL) == 0);
    CHECK(read(tid_pipe[0], &tid, sizeof tid) == sizeof tid);
    wait_blocked(tid);
    CHECK(pthread_mutex_unlock(&m) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    printf("mutex %p\n", (void *)&m);
    return 0;
}

static void *try_busy(void *arg)
{
    int r = pthread_mutex_trylock(&m);
    printf("trylock %d\n", r);
    return arg;
}

static void *timed_out(void *arg)
{
    struct timespec ts = in_ms(CLOCK_REALTIME, 20);
    int r = pthread_mutex_timedlock(&m, &ts);
    printf("timedlock %d\n", r);
    ts = in_ms(CLOCK_MONOTONIC, 20);
    r = pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts);
    printf("clocklock %d\n", r);
    return arg;
}

static int mode_trylock(void)
{
    pthread_t th;
    CHECK(pthread_mutex_lock(&m) == 0);
    CHECK(pthread_create(&th, NULL, try_busy, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(pthread_create(&th, NULL, timed_out, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(pthread_mutex_unlock(&m) == 0);
    /* glibc rejects a bad clock before trying: EINVAL even when free */
    struct timespec ts = in_ms(CLOCK_MONOTONIC, 20);
    int r = pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID, &ts);
    printf("badclock %d\n", r);
    CHECK(r == EINVAL);
    CHECK(pthread_mutex_trylock(&m) == 0);
    CHECK(pthread_mutex_unlock(&m) == 0);
    printf("mutex %p\n", (void *)&m);
    return 0;
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void *rw_try(void *arg)
{
    printf("tryrdlock %d\n", pthread_rwlock_tryrdlock(&rw));
    printf("trywrlock %d\n", pthread_rwlock_trywrlock(&rw));
    return arg;
}

static int mode_rwlock(void)
{
    pthread_t th;
    CHECK(pthread_rwlock_rdlock(&rw) == 0);
    CHECK(pthread_rwlock_rdlock(&rw) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    CHECK(pthread_rwlock_wrlock(&rw) == 0);
    CHECK(pthread_create(&th, NULL, rw_try, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(pthread_rwlock_unlock(&rw) == 0);
    printf("rwlock %p\n", (void *)&rw);
    return 0;
}

static int mode_spin(void)
{
    pthread_spinlock_t s;
    CHECK(pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE) == 0);
    CHECK(pthread_spin_lock(&s) == 0);
    CHECK(pthread_spin_trylock(&s) == EBUSY);
    CHECK(pthread_spin_unlock(&s) == 0);
    CHECK(pthread_spin_destroy(&s) == 0);
    printf("spin %p\n", (void *)&s);
    return 0;
}

pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

static void *signaller(void *arg)
{
    pthread_mutex_lock(&m);
    ready = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
    return arg;
}

static int mode_cond(void)
{
    pthread_t th;
    pthread_mutex_lock(&m);
    CHECK(pthread_create(&th, NULL, signaller, NULL) == 0);
    while (!ready)
        CHECK(pthread_cond_wait(&cv, &m) == 0);
    struct timespec ts = in_ms(CLOCK_REALTIME, 5);
    int r = pthread_cond_timedwait(&cv, &m, &ts);
    CHECK(r == ETIMEDOUT);
    pthread_mutex_unlock(&m);
    CHECK(pthread_join(th, NULL) == 0);
    pthread_cond_broadcast(&cv);
    printf("cond %p mutex %p\n", (void *)&cv, (void *)&m);
    return 0;
}

static sem_t sem;

static void *sem_waiter(void *arg)
{
    pid_t tid = gettid_();
    CHECK(write(tid_pipe[1], &tid, sizeof tid) == sizeof tid);
    CHECK(sem_wait(&sem) == 0);
    return arg;
}

static int mode_sem(void)
{
    pthread_t th;
    pid_t tid;
    CHECK(pipe(tid_pipe) == 0);
    CHECK(sem_init(&sem, 0, 0) == 0);
    errno = 0;
    CHECK(sem_trywait(&sem) == -1 && errno == EAGAIN);
    CHECK(pthread_create(&th, NULL, sem_waiter, NULL) == 0);
    CHECK(read(tid_pipe[0], &tid, sizeof tid) == sizeof tid);
    wait_blocked(tid);
    CHECK(sem_post(&sem) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(sem_post(&sem) == 0);
    CHECK(sem_wait(&sem) == 0);                  /* uncontended */
    struct timespec ts = in_ms(CLOCK_REALTIME, 5);
    errno = 0;
    CHECK(sem_timedwait(&sem, &ts) == -1 && errno == ETIMEDOUT);
    CHECK(sem_destroy(&sem) == 0);
    printf("sem %p\n", (void *)&sem);
    return 0;
}

static pthread_barrier_t bar;

static void *barrier_thread(void *arg)
{
    int r = pthread_barrier_wait(&bar);
    CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
    return arg;
}

static int mode_barrier(void)
{
    pthread_t th[2];
    CHECK(pthread_barrier_init(&bar, NULL, 3) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, barrier_thread, NULL) == 0);
    barrier_thread(NULL);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    CHECK(pthread_barrier_destroy(&bar) == 0);
    printf("barrier %p\n", (void *)&bar);
    return 0;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;

static void once_init(void)
{
    once_runs++;
}

static void *once_thread(void *arg)
{
    CHECK(pthread_once(&once, once_init) == 0);
    return arg;
}

static int mode_once(void)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, once_thread, NULL) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    printf("once %p runs %d\n", (void *)&once, once_runs);
    return 0;
}

static int mode_sleep(void)
{
    CHECK(usleep(1000) == 0);
    struct timespec req = { 0, 2000000 };
    CHECK(nanosleep(&req, NULL) == 0);
    req.tv_nsec = 3000000;
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0);
    CHECK(sleep(0) == 0);
    return 0;
}

static void *named(void *arg)
{
    CHECK(pthread_setname_np(pthread_self(), "worker-one") == 0);
    return arg;
}

static int mode_names(void)
{
    pthread_t th;
    CHECK(pthread_create(&th, NULL, named, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(pthread_setname_np(pthread_self(), "main-thread") == 0);
    return 0;
}

/* main names a thread it created, before that thread has run: main's
 * THREAD_NAME comes before the thread's THREAD_START in time order. */
static pthread_barrier_t named_gate;

static void *routine_alpha(void *arg)
{
    pthread_barrier_wait(&named_gate);
    return arg;
}

static int mode_name_other(void)
{
    /* on main's CPU the child seldom runs before main's next call */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    (void)sched_setaffinity(0, sizeof one, &one);
    pthread_t th;
    CHECK(pthread_barrier_init(&named_gate, NULL, 2) == 0);
    CHECK(pthread_create(&th, NULL, routine_alpha, NULL) == 0);
    CHECK(pthread_setname_np(th, "renamed-by-main") == 0);
    pthread_barrier_wait(&named_gate);
    CHECK(pthread_join(th, NULL) == 0);
    return 0;
}

static void *returns(void *arg)
{
    (void)arg;
    return (void *)0x1234;
}

static void *exits(void *arg)
{
    (void)arg;
    pthread_exit((void *)0x5678);
}

static void *cancelled(void *arg)
{
    for (;;)
        pause();                          /* a cancellation point */
    return arg;
}

static int mode_threads(void)
{
    pthread_t a, b, c;
    void *ra, *rb, *rc;
    CHECK(pthread_create(&a, NULL, returns, NULL) == 0);
    CHECK(pthread_create(&b, NULL, exits, NULL) == 0);
    CHECK(pthread_create(&c, NULL, cancelled, NULL) == 0);
    CHECK(pthread_join(a, &ra) == 0 && ra == (void *)0x1234);
    CHECK(pthread_join(b, &rb) == 0 && rb == (void *)0x5678);
    CHECK(pthread_cancel(c) == 0);
    CHECK(pthread_join(c, &rc) == 0 && rc == PTHREAD_CANCELED);
    printf("routines %p %p %p\n", (void *)returns, (void *)exits, (void *)cancelled);
    return 0;
}

static __attribute__((noinline)) void lock_site_a(void)
{
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void lock_site_b(void)
{
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void both_sites(void)
{
    lock_site_a();
    lock_site_b();
}

/* 24 lock sites called through one call site, call_site(): their stacks
 * differ in frame 0 only. 48 stack ids (each site's lock and unlock) are
 * more than a thread captures by stepping (tracer/stack.c), so the later
 * ones are captured by unw_backtrace. */
#define SITE(k) \
    static __attribute__((noinline)) void site_##k(void) \
    { \
        pthread_mutex_lock(&m); \
        pthread_mutex_unlock(&m); \
        __asm__ volatile("" ::: "memory"); \
    }
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7) SITE(8) SITE(9) SITE(10)
SITE(11) SITE(12) SITE(13) SITE(14) SITE(15) SITE(16) SITE(17) SITE(18) SITE(19) SITE(20)
SITE(21) SITE(22) SITE(23)

static void (*const site_fns[])(void) = {
    site_0, site_1, site_2, site_3, site_4, site_5, site_6, site_7, site_8, site_9, site_10,
    site_11, site_12, site_13, site_14, site_15, site_16, site_17, site_18, site_19, site_20,
    site_21, site_22, site_23,
};

static __attribute__((noinline)) void call_site(void (*fn)(void))
{
    fn();
    __asm__ volatile("" ::: "memory");
}

static int mode_many_sites(void)
{
    for (size_t k = 0; k < sizeof site_fns / sizeof site_fns[0]; k++)
        call_site(site_fns[k]);
    return 0;
}

static int mode_stacks(void)
{
    /* one call site in main, so each site's stack is the same three times */
    for (volatile int i = 0; i < 3; i++)
        both_sites();
    printf("sites %p %p\n", (void *)lock_site_a, (void *)lock_site_b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tracee MODE [ARGS]\n");
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "mutex_types") == 0) return mode_mutex_types();
    if (strcmp(mode, "errorcheck_relock") == 0) return mode_errorcheck_relock();
    if (strcmp(mode, "contended") == 0) return mode_contended();
    if (strcmp(mode, "trylock") == 0) return mode_trylock();
    if (strcmp(mode, "rwlock") == 0) return mode_rwlock();
    if (strcmp(mode, "spin") == 0) return mode_spin();
    if (strcmp(mode, "cond") == 0) return mode_cond();
    if (strcmp(mode, "sem") == 0) return mode_sem();
    if (strcmp(mode, "barrier") == 0) return mode_barrier();
    if (strcmp(mode, "once") == 0) return mode_once();
    if (strcmp(mode, "sleep") == 0) return mode_sleep();
    if (strcmp(mode, "names") == 0) return mode_names();
    if (strcmp(mode, "name_other") == 0) return mode_name_other();
    if (strcmp(mode, "threads") == 0) return mode_threads();
    if (strcmp(mode, "stacks") == 0) return mode_stacks();
    if (strcmp(mode, "many_sites") == 0) return mode_many_sites();
    if (strcmp(mode, "fork") == 0) return mode_fork();
    if (strcmp(mode, "exec") == 0) return mode_exec(argv[0]);
    if (strcmp(mode, "exec_target") == 0) return mode_exec_target();
    if (strcmp(mode, "exec_fail") == 0) return mode_exec_fail();
    if (strcmp(mode, "errno") == 0) return mode_errno();
    if (strcmp(mode, "exit") == 0 && argc == 4) return mode_exit(argv[2], atoi(argv[3]));
    if (strcmp(mode, "kill") == 0 && argc == 3) return mode_kill(atoi(argv[2]));
    if (strcmp(mode, "many_locks") == 0 && argc == 3) return mode_many_locks(atol(argv[2]));
    if (strcmp(mode, "stdout") == 0) return mode_stdout();
    if (strcmp(mode, "vfork") == 0) return mode_vfork();
    if (strcmp(mode, "signals") == 0 && argc == 3) return mode_signals(atol(argv[2]));
    if (strcmp(mode, "fork_storm") == 0 && argc == 3) return mode_fork_storm(atoi(argv[2]));
    if (strcmp(mode, "main_exits_first") == 0 && argc == 3)
        return mode_main_exits_first(atol(argv[2]));
    if (strcmp(mode, "main_exits_then_loads") == 0) return mode_main_exits_then_loads();
    fprintf(stderr, "tracee: unknown mode %s\n", mode);
    return 2;
}
