// verdict: clean
// A waiter in pthread_cond_timedwait (never signalled) while main joins it:
// a timed wait is not blocked forever, so this is not all-blocked.
#include <pthread.h>
#include <time.h>

pthread_mutex_t poll_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t poll_cond = PTHREAD_COND_INITIALIZER;
static int stop, rounds;

static void *poller(void *arg)
{
    pthread_mutex_lock(&poll_lock);
    while (!stop && rounds < 3) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += 150 * 1000 * 1000;     /* longer than tangle's settle */
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&poll_cond, &poll_lock, &deadline);
        rounds++;
    }
    pthread_mutex_unlock(&poll_lock);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, poller, NULL);
    pthread_join(t, NULL);
    return rounds < 3;
}
