/* ticket_lock_joined - seeds/000 线程理论 › 线程互斥锁, fixed
 *
 * The ticket_lock sample with the fix: main joins every buyer before it
 * prints ticket, so the read is ordered after every locked write and
 * always prints 90.
 *
 * verdict: clean
 * args: [threads] - how many buyers (default 10)
 */
#include "common.h"

int ticket = 100;
pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;

static void *buy_ticket(void *arg)
{
    (void)arg;
    CHECK(pthread_mutex_lock(&mutex));
    ticket -= 1;
    CHECK(pthread_mutex_unlock(&mutex));
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t *li;
    long nthreads;

    sample_init(argc, argv, 1, "[threads]");
    nthreads = arg_long(argc, argv, 1, 10, 1, 1000);
    li = calloc((size_t)nthreads, sizeof *li);
    if (li == NULL)
        return 1;

    for (long i = 0; i < nthreads; i++)
        start_thread(&li[i], buy_ticket, NULL, "Thread-%ld", i + 1);
    for (long i = 0; i < nthreads; i++)
        join_thread(li[i]);
    printf("%d\n", ticket);
    free(li);
    return 0;
}
