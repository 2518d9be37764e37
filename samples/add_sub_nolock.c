/* add_sub_nolock - seeds/001 §9.5 锁&池 › 1.1 互斥锁, with the lock removed
 *
 * The note's point before it adds the lock: a += 1 is a load, an add and a
 * store (STORE_GLOBAL), so two threads doing a += 1 and a -= 1 two million
 * times each lose updates, and main prints something other than 0.
 *
 * verdict: race
 * args: [iterations] - loop count of each thread (default 2000000)
 */
#include "common.h"

/* Keeps the compiler from folding a loop of a += 1 into one a += N: every
 * iteration then loads and stores a, like Python's LOAD_GLOBAL/STORE_GLOBAL.
 * The accesses themselves stay plain. */
#define ONE_BYTECODE_AT_A_TIME() __asm__ __volatile__("" ::: "memory")

long a = 0;
static long iterations = 2000000;

static void *add_f(void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        a += 1;
        ONE_BYTECODE_AT_A_TIME();
    }
    return NULL;
}

static void *sub_f(void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        a -= 1;
        ONE_BYTECODE_AT_A_TIME();
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t1, t2;

    sample_init(argc, argv, 1, "[iterations]");
    iterations = arg_long(argc, argv, 1, iterations, 0, LONG_MAX);

    start_thread(&t1, add_f, NULL, "Thread-1");
    start_thread(&t2, sub_f, NULL, "Thread-2");
    join_thread(t1);
    join_thread(t2);
    printf("%ld\n", a);
    return 0;
}
