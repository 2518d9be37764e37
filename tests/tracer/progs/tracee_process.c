/* The tracee's process modes: fork, exec, errno, the ways to end, SIGKILL,
 * output, vfork, signal handlers, fork under load. */
#include "tracee.h"

#include <dlfcn.h>
#include <sched.h>

int mode_fork(void)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
        exit(7);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    printf("child %d\n", (int)pid);
    return 0;
}

int mode_exec(const char *self)
{
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    fflush(stdout);
    execl(self, self, "exec_target", (char *)NULL);
    return 98;
}

int mode_exec_target(void)
{
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    return 5;
}

/* Every hooked call that succeeds leaves errno alone, also when tangle's
 * slow paths (new chunks, new stacks) run: many distinct stacks, many
 * records. */
#define SENTINEL 4242
#define KEEP(call) \
    do { errno = SENTINEL; (void)(call); if (errno != SENTINEL) { \
        fprintf(stderr, "errno changed by %s: %d\n", #call, errno); bad++; } } while (0)

static __attribute__((noinline)) int errno_round(int depth)
{
    int bad = 0;
    if (depth > 0)
        return errno_round(depth - 1);   /* a new call stack per depth */
    static pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
    static pthread_spinlock_t s;
    static sem_t sm;
    static int inited;
    if (!inited) {
        pthread_spin_init(&s, 0);
        sem_init(&sm, 0, 1);
        inited = 1;
    }
    KEEP(pthread_mutex_lock(&m));
    KEEP(pthread_mutex_unlock(&m));
    KEEP(pthread_mutex_trylock(&m));
    KEEP(pthread_mutex_unlock(&m));
    KEEP(pthread_rwlock_rdlock(&l));
    KEEP(pthread_rwlock_unlock(&l));
    KEEP(pthread_rwlock_wrlock(&l));
    KEEP(pthread_rwlock_unlock(&l));
    KEEP(pthread_spin_lock(&s));
    KEEP(pthread_spin_unlock(&s));
    KEEP(sem_wait(&sm));
    KEEP(sem_post(&sm));
    KEEP(pthread_cond_signal(&cv));
    return bad;
}

static void *errno_thread(void *arg)
{
    (void)arg;
    long bad = 0;
    for (int i = 0; i < 20000; i++)
        bad += errno_round(i % 40);
    return (void *)bad;
}

int mode_errno(void)
{
    pthread_t th[2];
    void *bad[2];
    int total = 0;
    errno = SENTINEL;
    int r = pthread_create(&th[0], NULL, errno_thread, NULL);
    if (errno != SENTINEL) total++;
    CHECK(r == 0);
    CHECK(pthread_create(&th[1], NULL, errno_thread, NULL) == 0);
    errno = SENTINEL;
    r = pthread_join(th[0], &bad[0]);
    if (errno != SENTINEL) total++;
    CHECK(r == 0);
    CHECK(pthread_join(th[1], &bad[1]) == 0);
    total += (int)(long)bad[0] + (int)(long)bad[1];
    errno = SENTINEL;
    usleep(1);
    if (errno != SENTINEL) total++;
    printf("errno changes %d\n", total);
    return total ? 1 : 0;
}

int mode_exit(const char *how, int code)
{
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    printf("exiting %s %d\n", how, code);
    fflush(stdout);
    if (strcmp(how, "exit") == 0)
        exit(code);
    if (strcmp(how, "_exit") == 0)
        _exit(code);
    if (strcmp(how, "_Exit") == 0)
        _Exit(code);
    if (strcmp(how, "pthread_exit") == 0)
        pthread_exit(NULL);              /* last thread gone: status 0 */
    return code;                          /* "return" */
}

/* PAIRS lock+unlock pairs over 4096 mutexes in turn: records no chunk's
 * dictionary can repeat, 32 bytes a pair (a trace of known size). */
int mode_many_locks(long pairs)
{
    static pthread_mutex_t locks[4096];
    for (int i = 0; i < 4096; i++)
        pthread_mutex_init(&locks[i], NULL);
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(&locks[i % 4096]);
        pthread_mutex_unlock(&locks[i % 4096]);
    }
    return 0;
}

int mode_kill(int pairs)
{
    for (int i = 0; i < pairs; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
    return 0;
}

static void *printer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&m);
        printf("thread %ld line %d\n", id, i);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

int mode_stdout(void)
{
    /* one thread at a time, so the output is the same on every run */
    for (long i = 0; i < 3; i++) {
        pthread_t th;
        CHECK(pthread_create(&th, NULL, printer, (void *)i) == 0);
        CHECK(pthread_join(th, NULL) == 0);
    }
    fprintf(stderr, "to stderr\n");
    return 3;
}

/* main leaves first; a worker writes enough to start tangle's prefault
 * helper, then ends: the process must end with it (status 0). */
static void *busy_worker(void *arg)
{
    for (long i = 0; i < (long)arg; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

int mode_main_exits_first(long pairs)
{
    pthread_t th;
    CHECK(pthread_create(&th, NULL, busy_worker, (void *)pairs) == 0);
    pthread_exit(NULL);
}

/* main leaves through pthread_exit; only then does the worker load a
 * library (so tangle looks at the modules again) and take a lock from a
 * call site of its own: the module map written now must still name the
 * program, though /proc/self/exe went with the main thread. */
static void *late_loader(void *arg)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)(intptr_t)arg);
    for (;;) {                      /* until the main thread is a zombie */
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            break;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        char *p = strrchr(buf, ')');
        if (p == NULL || p[2] == 'Z' || p[2] == 'X')
            break;
        sched_yield();
    }
    CHECK(dlopen("libm.so.6", RTLD_NOW) != NULL);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    return NULL;
}

int mode_main_exits_then_loads(void)
{
    printf("program_fn %p\n", (void *)late_loader);
    fflush(stdout);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, late_loader, (void *)(intptr_t)getpid()) == 0);
    pthread_exit(NULL);
}

/* A signal handler that posts a semaphore (async-signal-safe) lands in
 * the middle of hooks: tangle must neither corrupt the stream nor lose the
 * interrupted thread's own events. */
static sem_t sig_sem;
static volatile sig_atomic_t sig_posts;

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    sem_post(&sig_sem);
    sig_posts++;
    errno = saved;
}

int mode_signals(long pairs)
{
    CHECK(sem_init(&sig_sem, 0, 0) == 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval it = { { 0, 200 }, { 0, 200 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    printf("posts %d\n", (int)sig_posts);
    return 0;
}

/* fork while other threads are deep in tangle's slow paths (new chunks,
 * new stacks): no child may inherit a lock held by a thread it lacks. */
static volatile int storm_stop;

static __attribute__((noinline)) void storm_lock(pthread_mutex_t *mx, int depth)
{
    if (depth > 0) {
        storm_lock(mx, depth - 1);
        __asm__ volatile("" ::: "memory");
        return;
    }
    pthread_mutex_lock(mx);
    pthread_mutex_unlock(mx);
}

static void *storm_worker(void *arg)
{
    (void)arg;
    for (int i = 0; !storm_stop; i++)
        storm_lock(&m, i % 48);
    return NULL;
}

int mode_fork_storm(int forks)
{
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, storm_worker, NULL) == 0);
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            /* not m: a worker may have held it at the fork */
            pthread_mutex_t own = PTHREAD_MUTEX_INITIALIZER;
            storm_lock(&own, i % 48);
            exit(0);
        }
        int st;
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    storm_stop = 1;
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    printf("forks %d\n", forks);
    return 0;
}

int mode_vfork(void)
{
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    pid_t pid = vfork();
    if (pid == 0)
        _exit(3);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 3);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    return 0;
}


/* Two execs that fail (no such file, on a path and through PATH); the
 * program goes on, takes a lock, forks, and ends once. */
int mode_exec_fail(void)
{
    errno = 0;
    CHECK(execl("/nonexistent/prog", "x", (char *)NULL) == -1 && errno == ENOENT);
    char *argv[] = { "no-such-prog-xyz", NULL };
    errno = 0;
    CHECK(execvp("no-such-prog-xyz", argv) == -1 && errno == ENOENT);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(0);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    return 0;
}
