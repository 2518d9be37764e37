/* singleton_lock - seeds/001 §9.5 锁&池 › 1.2 单例模式 (singleton)
 *
 * class Singleton keeps __instance and a class-level lock; __new__ takes
 * the lock, and only if there is no instance yet sleeps a random time
 * (to provoke a thread switch) and creates it. Ten threads each call
 * Singleton() and print the object: all print the same address.
 *
 * verdict: clean
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
    struct singleton *self;

    CHECK(pthread_mutex_lock(&singleton_lock)); /* with cls.lock: */
    if (instance == NULL) {
        msleep(rand_below(max_sleep_ms)); /* time.sleep(random.random()) */
        instance = malloc(sizeof *instance);
        if (instance == NULL)
            check_failed("malloc", ENOMEM, __FILE__, __LINE__);
        memcpy(instance->created_by, thread_name, sizeof thread_name);
    }
    self = instance;
    CHECK(pthread_mutex_unlock(&singleton_lock));
    return self;
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
