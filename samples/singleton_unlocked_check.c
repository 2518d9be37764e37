/* singleton_unlocked_check - seeds/001 §9.5 锁&池 › 1.2 单例模式, broken double-checked variant
 *
 * The singleton of singleton_lock "optimised" with the classic broken
 * double-checked locking: __new__ first tests __instance without the lock
 * and takes the lock only when it looks unset. That first read of the
 * instance pointer is not ordered with the locked write that creates it:
 * a data race (a reader may see the pointer before the object behind it).
 *
 * verdict: race
 * args: [max_sleep_ms] - upper bound of the random sleep in __new__ (default 1000)
 */
#include "common.h"

struct singleton {
    char created_by[16]; /* the object's only state: who made it */
};

struct singleton *instance = NULL;                          /* Singleton.__instance */
pthread_mutex_t singleton_lock = PTHREAD_MUTEX_INITIALIZER; /* Singleton.lock */
static long max_sleep_ms = 1000;

/* Singleton() */
static struct singleton *singleton_new(void)
{
    if (instance == NULL) { /* the unlocked check: races with the write below */
        CHECK(pthread_mutex_lock(&singleton_lock));
        if (instance == NULL) {
            struct singleton *obj;

            msleep(rand_below(max_sleep_ms)); /* time.sleep(random.random()) */
            obj = malloc(sizeof *obj);
            if (obj == NULL)
                check_failed("malloc", ENOMEM, __FILE__, __LINE__);
            memcpy(obj->created_by, thread_name, sizeof thread_name);
            instance = obj;
        }
        CHECK(pthread_mutex_unlock(&singleton_lock));
    }
    return instance;
}

static void *fun(void *arg)
{
    (void)arg;
    printf("<Singleton object at %p>\n", (void *)singleton_new());
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t li[10];

    sample_init(argc, argv, 1, "[max_sleep_ms]");
    max_sleep_ms = arg_long(argc, argv, 1, max_sleep_ms, 0, 600000);

    for (int i = 0; i < 10; i++)
        start_thread(&li[i], fun, NULL, "Thread-%d", i + 1);
    for (int i = 0; i < 10; i++)
        join_thread(li[i]);
    free(instance);
    return 0;
}
