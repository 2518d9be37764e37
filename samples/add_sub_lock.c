/* add_sub_lock - seeds/001 §9.5 锁&池 › 1.1 互斥锁 (mutex)
 *
 * a = 0; add_f does a += 1 two million times, sub_f does a -= 1 two
 * million times, each holding lock around its whole loop (with lock:), so
 * the two loops run one after the other and main prints 0 after joining.
 * add_sub_nolock is the same program without the lock.
 *
 * With a second argument `each`, each update takes and releases the lock
 * on its own (2 x iterations lock pairs): not the note's code, but the
 * lock-heavy workload the overhead bench measures (bench/run_overhead.sh).
 *
 * verdict: clean
 * args: [iterations] [each] - loop count of each thread (default 2000000);
 *       `each`: lock around every update instead of the whole loop
 */
#include "common.h"

/* Keeps the compiler from folding a loop of a += 1 into one a += N: every
 * iteration then loads and stores a, like Python's LOAD_GLOBAL/STORE_GLOBAL.
 * The accesses themselves stay plain. */
#define ONE_BYTECODE_AT_A_TIME() __asm__ __volatile__("" ::: "memory")

long a = 0;
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long iterations = 2000000;
static int lock_each;                   /* 1: one lock pair per update */

static void *add_f(void *arg)
{
    pthread_mutex_t *l = arg;

    if (lock_each) {
        for (long i = 0; i < iterations; i++) {
            CHECK(pthread_mutex_lock(l));
            a += 1;
            CHECK(pthread_mutex_unlock(l));
        }
        return NULL;
    }
    CHECK(pthread_mutex_lock(l));
    for (long i = 0; i < iterations; i++) {
        a += 1;
        ONE_BYTECODE_AT_A_TIME();
    }
    CHECK(pthread_mutex_unlock(l));
    return NULL;
}

static void *sub_f(void *arg)
{
    pthread_mutex_t *l = arg;

    if (lock_each) {
        for (long i = 0; i < iterations; i++) {
            CHECK(pthread_mutex_lock(l));
            a -= 1;
            CHECK(pthread_mutex_unlock(l));
        }
        return NULL;
    }
    CHECK(pthread_mutex_lock(l));
    for (long i = 0; i < iterations; i++) {
        a -= 1;
        ONE_BYTECODE_AT_A_TIME();
    }
    CHECK(pthread_mutex_unlock(l));
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t1, t2;

    sample_init(argc, argv, 2, "[iterations] [each]");
    iterations = arg_long(argc, argv, 1, iterations, 0, LONG_MAX);
    if (argc > 2) {
        if (strcmp(argv[2], "each") != 0)
            usage_exit();
        lock_each = 1;
    }

    start_thread(&t1, add_f, &lock, "Thread-1");
    start_thread(&t2, sub_f, &lock, "Thread-2");
    join_thread(t1);
    join_thread(t2);
    printf("%ld\n", a);
    return 0;
}
