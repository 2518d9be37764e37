/* noodle_fork - seeds/001 §9.5 锁&池 › 2.1 死锁原因 (why deadlocks happen)
 *
 * Two locks used in opposite orders: eat1 takes noodle_lock then
 * fork_lock, eat2 takes fork_lock then noodle_lock (both put the noodles
 * down first, as in the note). Four eaters as in §2.2: henry and dean run
 * eat1, echo and daniel run eat2. The order inversion is there on every
 * run: a potential deadlock.
 *
 * Timing: §2.1 has no sleep inside eat1/eat2, so each meal is a few
 * microseconds; this port starts the eaters gap_ms (default 10 ms) apart,
 * so one has finished before the next starts and the default run
 * completes in practice. With an eat_ms at least as long as gap_ms (§2.2
 * eats for 100 ms holding both), e.g. `noodle_fork 0 100`, the eaters queue
 * up behind each other and the run hangs whenever one of them gets the
 * noodles while another has the fork.
 *
 * verdict: lock-order
 * args: [gap_ms [eat_ms]] - pause between starting eaters (default 10),
 *       time spent eating while holding both locks (default 0)
 */
#include "common.h"

pthread_mutex_t noodle_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static long eat_ms = 0;

struct eater {
    const char *name;
    pthread_mutex_t *noodle_lock, *fork_lock;
};

static void *eat1(void *p)
{
    const struct eater *e = p;

    CHECK(pthread_mutex_lock(e->noodle_lock));
    printf("%s got the noodles\n", e->name);
    CHECK(pthread_mutex_lock(e->fork_lock));
    printf("%s got the fork\n", e->name);
    printf("%s ate a bite of noodles\n", e->name);
    msleep(eat_ms);
    CHECK(pthread_mutex_unlock(e->noodle_lock));
    printf("%s put down the noodles\n", e->name);
    CHECK(pthread_mutex_unlock(e->fork_lock));
    printf("%s put down the fork\n", e->name);
    return NULL;
}

static void *eat2(void *p)
{
    const struct eater *e = p;

    CHECK(pthread_mutex_lock(e->fork_lock));
    printf("%s got the fork\n", e->name);
    CHECK(pthread_mutex_lock(e->noodle_lock));
    printf("%s got the noodles\n", e->name);
    printf("%s ate a bite of noodles\n", e->name);
    msleep(eat_ms);
    CHECK(pthread_mutex_unlock(e->noodle_lock));
    printf("%s put down the noodles\n", e->name);
    CHECK(pthread_mutex_unlock(e->fork_lock));
    printf("%s put down the fork\n", e->name);
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const lst[] = { "henry", "echo", "dean", "daniel" };
    struct eater eaters[4];
    pthread_t t[4];
    long gap_ms;

    sample_init(argc, argv, 2, "[gap_ms [eat_ms]]");
    gap_ms = arg_long(argc, argv, 1, 10, 0, 600000);
    eat_ms = arg_long(argc, argv, 2, eat_ms, 0, 600000);

    for (int i = 0; i < 4; i++) {
        eaters[i] = (struct eater){ lst[i], &noodle_lock, &fork_lock };
        if (i > 0)
            msleep(gap_ms);
        start_thread(&t[i], i % 2 == 0 ? eat1 : eat2, &eaters[i], "%s", lst[i]);
    }
    for (int i = 0; i < 4; i++)
        join_thread(t[i]);
    return 0;
}
