/* gil_contention - seeds/000 线程理论 › GIL全局解释锁, seeds/001 §9.4 › 3.2 GIL锁
 *
 * "In CPython only one thread of a process runs at a time": four CPU-bound
 * threads, each taking the one global lock, gil, for every step of work
 * (a batch of "bytecodes"), the way a CPython thread holds the GIL while it
 * executes. The threads get no parallelism: the run takes as long as doing
 * the four jobs one after another, and a contention view shows gil held
 * nearly all the time with three threads waiting for it. bytecodes, the
 * interpreter's shared state, is only touched under gil.
 *
 * verdict: clean
 * args: [steps [work]] - steps per thread (default 20000), loop iterations
 *       per step (default 10000)
 */
#include "common.h"

pthread_mutex_t gil = PTHREAD_MUTEX_INITIALIZER;
long bytecodes; /* guarded by gil */
static long steps = 20000, work = 10000;

struct job {
    pthread_t tid;
    unsigned long seed;
    unsigned long value; /* what the computation produced */
};

static void *count(void *arg)
{
    struct job *job = arg;
    unsigned long x = job->seed;

    for (long s = 0; s < steps; s++) {
        CHECK(pthread_mutex_lock(&gil));
        for (long k = 0; k < work; k++)
            x = x * 6364136223846793005u + 1442695040888963407u;
        bytecodes += work;
        CHECK(pthread_mutex_unlock(&gil));
    }
    job->value = x;
    return NULL;
}

int main(int argc, char **argv)
{
    struct job jobs[4];
    long start;

    sample_init(argc, argv, 2, "[steps [work]]");
    steps = arg_long(argc, argv, 1, steps, 0, LONG_MAX / 4);
    work = arg_long(argc, argv, 2, work, 0, 100000000);

    start = now_ms();
    for (int i = 0; i < 4; i++) {
        jobs[i].seed = (unsigned long)i;
        start_thread(&jobs[i].tid, count, &jobs[i], "Thread-%d", i + 1);
    }
    for (int i = 0; i < 4; i++) {
        join_thread(jobs[i].tid);
        printf("Thread-%d done (%lx)\n", i + 1, jobs[i].value);
    }
    printf("%ld bytecodes in %.3f s\n", bytecodes, (now_ms() - start) / 1000.0);
    return 0;
}
