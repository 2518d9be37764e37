/* abba_mythread - seeds/000 线程理论 › 死锁与递归锁 › 死锁 (the ABBA deadlock)
 *
 * Ten MyThread objects; run() calls func1 then func2. func1 takes mutexA
 * then mutexB; func2 takes mutexB, sleeps 2 s, then takes mutexA.
 * Thread-1 gets through func1 and holds B asleep in func2; meanwhile
 * Thread-2 takes A in func1 and waits for B; Thread-1 wakes and waits for
 * A: the note's output ends with
 *     Thread-1 got lock A / Thread-1 got lock B / Thread-1 got lock B /
 *     Thread-2 got lock A
 * and the program hangs. Any sleep longer than it takes to start the next
 * thread (well under a millisecond) gives the same hang, so a short sleep
 * argument deadlocks just as reliably. Colours as in the note, on a tty only.
 *
 * verdict: deadlock
 * args: [sleep] - func2's sleep holding mutexB: seconds, or milliseconds
 *       with an "ms" suffix, e.g. 2 or 100ms (default 2)
 */
#include "common.h"

#include <unistd.h>

pthread_mutex_t mutexA = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t mutexB = PTHREAD_MUTEX_INITIALIZER;
static long sleep_ms = 2000;
static int tty;

/* '\033[41m%s ...\033[0m': the note's background colours */
static const char *paint(int code)
{
    static const char *const bg[] = { "\033[41m", "\033[42m", "\033[43m", "\033[44m" };

    return tty ? bg[code - 41] : "";
}

static const char *unpaint(void)
{
    return tty ? "\033[0m" : "";
}

struct my_thread {
    pthread_t tid;
    char name[16];
};

static void func1(struct my_thread *self)
{
    CHECK(pthread_mutex_lock(&mutexA));
    printf("%s%s got lock A%s\n", paint(41), self->name, unpaint());

    CHECK(pthread_mutex_lock(&mutexB));
    printf("%s%s got lock B%s\n", paint(42), self->name, unpaint());
    CHECK(pthread_mutex_unlock(&mutexB));

    CHECK(pthread_mutex_unlock(&mutexA));
}

static void func2(struct my_thread *self)
{
    CHECK(pthread_mutex_lock(&mutexB));
    printf("%s%s got lock B%s\n", paint(43), self->name, unpaint());
    msleep(sleep_ms);

    CHECK(pthread_mutex_lock(&mutexA));
    printf("%s%s got lock A%s\n", paint(44), self->name, unpaint());
    CHECK(pthread_mutex_unlock(&mutexA));

    CHECK(pthread_mutex_unlock(&mutexB));
}

static void *run(void *p)
{
    struct my_thread *self = p;

    func1(self);
    func2(self);
    return NULL;
}

/* "2" is two seconds, "100ms" a tenth of one. */
static long parse_sleep(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || v < 0 || v > 3600000)
        usage_exit();
    if (strcmp(end, "ms") == 0)
        return v;
    if (*end != '\0' || v > 3600)
        usage_exit();
    return v * 1000;
}

int main(int argc, char **argv)
{
    struct my_thread threads[10];

    sample_init(argc, argv, 1, "[seconds | <n>ms]");
    if (argc > 1)
        sleep_ms = parse_sleep(argv[1]);
    tty = isatty(STDOUT_FILENO);

    for (int i = 0; i < 10; i++) {
        snprintf(threads[i].name, sizeof threads[i].name, "Thread-%d", i + 1);
        start_thread(&threads[i].tid, run, &threads[i], "%s", threads[i].name);
    }
    for (int i = 0; i < 10; i++) /* Python waits for them at exit: forever */
        join_thread(threads[i].tid);
    return 0;
}
