/* daemon_thread - seeds/000 线程理论 › 守护线程, seeds/001 §4.7 守护线程 (daemon threads)
 *
 * 000: task('egon') runs as a daemon thread (t.daemon = True): it prints
 * "egon is running" and sleeps 1 s, but main prints "main" and ends first,
 * so the process ends with it and "egon is over" is never printed.
 * 001 §4.7 adds a daemon son() that loops forever on sleep(0.5); it is
 * ended the same way. A daemon is a detached thread that nobody waits for.
 *
 * verdict: clean
 * args: [sleep_ms] - how long task sleeps, son's period is half of it (default 1000)
 */
#include "common.h"

static long sleep_ms = 1000;

static void *task(void *arg)
{
    const char *name = arg;

    printf("%s is running\n", name);
    msleep(sleep_ms);
    printf("%s is over\n", name);
    return NULL;
}

static void *son(void *arg)
{
    (void)arg;
    for (;;)
        msleep(sleep_ms / 2);
    return NULL;
}

static void start_daemon(void *(*fn)(void *), void *arg, const char *name)
{
    pthread_t t;

    start_thread(&t, fn, arg, "%s", name);
    CHECK(pthread_detach(t));
}

int main(int argc, char **argv)
{
    sample_init(argc, argv, 1, "[sleep_ms]");
    sleep_ms = arg_long(argc, argv, 1, sleep_ms, 1, 600000);

    start_daemon(task, "egon", "Thread-1");
    start_daemon(son, NULL, "Thread-2");
    printf("main\n");
    return 0; /* the process ends, and the daemons with it */
}
