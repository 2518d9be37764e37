/* ticket_lock - seeds/000 线程理论 › 线程互斥锁 (thread mutex)
 *
 * ticket = 100; ten threads each do ticket -= 1 under mutex. The note's
 * main starts them and prints ticket at once, without join() and without
 * the mutex, so its read races with the locked writes (it prints anything
 * from 90 to 100). Python then waits for the threads before exiting; so
 * does this port, after the print. ticket_lock_joined is the fix.
 *
 * verdict: race
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
    printf("%d\n", ticket); /* the note's bug: no join, no lock */

    for (long i = 0; i < nthreads; i++) /* what Python does at exit */
        join_thread(li[i]);
    free(li);
    return 0;
}
