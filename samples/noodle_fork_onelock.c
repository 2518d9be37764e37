/* noodle_fork_onelock - seeds/001 §9.5 锁&池 › 2.2 解决方案 › 代码优化 (one mutex)
 *
 * The fix by design: one plain mutex, lock, stands for both noodles and
 * fork. eat1 and eat2 take it once, print that they got both, eat for
 * 0.1 s and put both down. With a single lock there is no order to invert.
 * henry and dean run eat1, echo and daniel run eat2, all started at once.
 *
 * verdict: clean
 * args: [eat_ms] - time spent eating while holding the lock (default 100)
 */
#include "common.h"

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long eat_ms = 100;

struct eater {
    const char *name;
    pthread_mutex_t *lock;
};

static void *eat1(void *p)
{
    const struct eater *e = p;

    CHECK(pthread_mutex_lock(e->lock));
    printf("%s got the noodles\n", e->name);
    printf("%s got the fork\n", e->name);
    printf("%s ate a bite of noodles\n", e->name);
    msleep(eat_ms);
    printf("%s put down the fork\n", e->name);
    printf("%s put down the noodles\n", e->name);
    CHECK(pthread_mutex_unlock(e->lock));
    return NULL;
}

static void *eat2(void *p)
{
    const struct eater *e = p;

    CHECK(pthread_mutex_lock(e->lock));
    printf("%s got the fork\n", e->name);
    printf("%s got the noodles\n", e->name);
    printf("%s ate a bite of noodles\n", e->name);
    msleep(eat_ms);
    printf("%s put down the noodles\n", e->name);
    printf("%s put down the fork\n", e->name);
    CHECK(pthread_mutex_unlock(e->lock));
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const lst[] = { "henry", "echo", "dean", "daniel" };
    struct eater eaters[4];
    pthread_t t[4];

    sample_init(argc, argv, 1, "[eat_ms]");
    eat_ms = arg_long(argc, argv, 1, eat_ms, 0, 600000);

    for (int i = 0; i < 4; i++) {
        eaters[i] = (struct eater){ lst[i], &lock };
        start_thread(&t[i], i % 2 == 0 ? eat1 : eat2, &eaters[i], "%s", lst[i]);
    }
    for (int i = 0; i < 4; i++)
        join_thread(t[i]);
    return 0;
}
