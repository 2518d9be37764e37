/* counter_race - seeds/001 §9.4 › 4.6 数据共享 (threads share data)
 *
 * "Don't modify globals from threads carelessly": n = 100, a hundred
 * threads each do n -= 1 with no lock, main joins them all and prints n.
 * Every decrement races with the others; a lost update leaves n above 0.
 *
 * verdict: race
 * args: [threads] - how many threads (default 100)
 */
#include "common.h"

int n = 100;

static void *son(void *arg)
{
    (void)arg;
    n -= 1; /* unlocked read-modify-write */
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t *t_l;
    long nthreads;

    sample_init(argc, argv, 1, "[threads]");
    nthreads = arg_long(argc, argv, 1, 100, 1, 1000);
    t_l = calloc((size_t)nthreads, sizeof *t_l);
    if (t_l == NULL)
        return 1;

    for (long i = 0; i < nthreads; i++)
        start_thread(&t_l[i], son, NULL, "Thread-%ld", i + 1);
    for (long i = 0; i < nthreads; i++)
        join_thread(t_l[i]);
    printf("%d\n", n);
    free(t_l);
    return 0;
}
