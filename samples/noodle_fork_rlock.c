/* noodle_fork_rlock - seeds/001 §9.5 锁&池 › 2.2 解决方案 › 递归锁 (recursive lock)
 *
 * The fix by recursive lock: noodle_lock = fork_lock = RLock(). Both names
 * are one recursive mutex, so eat1 (noodles, then fork) and eat2 (fork,
 * then noodles) each take the same lock twice and no order can invert.
 * Each eater holds it for 0.1 s while eating; henry and dean run eat1,
 * echo and daniel run eat2, all started at once.
 *
 * verdict: clean
 * args: [eat_ms] - time spent eating while holding the lock (default 100)
 */
#include "common.h"

pthread_mutex_t rlock; /* RLock(): PTHREAD_MUTEX_RECURSIVE */
static long eat_ms = 100;

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
    CHECK(pthread_mutex_unlock(e->fork_lock));
    printf("%s put down the fork\n", e->name);
    CHECK(pthread_mutex_unlock(e->noodle_lock));
    printf("%s put down the noodles\n", e->name);
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
    pthread_mutex_t *noodle_lock = &rlock, *fork_lock = &rlock;
    pthread_mutexattr_t attr;
    struct eater eaters[4];
    pthread_t t[4];

    sample_init(argc, argv, 1, "[eat_ms]");
    eat_ms = arg_long(argc, argv, 1, eat_ms, 0, 600000);

    CHECK(pthread_mutexattr_init(&attr));
    CHECK(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE));
    CHECK(pthread_mutex_init(&rlock, &attr));
    CHECK(pthread_mutexattr_destroy(&attr));

    for (int i = 0; i < 4; i++) {
        eaters[i] = (struct eater){ lst[i], noodle_lock, fork_lock };
        start_thread(&t[i], i % 2 == 0 ? eat1 : eat2, &eaters[i], "%s", lst[i]);
    }
    for (int i = 0; i < 4; i++)
        join_thread(t[i]);
    CHECK(pthread_mutex_destroy(&rlock));
    return 0;
}
