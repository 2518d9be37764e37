// verdict: lock-order/cycle
// A then timedlock B, and B then timedlock A, in two threads run one after
// the other (so it never hangs). A timed lock still waits: it makes an edge.
#include <pthread.h>
#include <time.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static int timed_lock(pthread_mutex_t *m)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    return pthread_mutex_timedlock(m, &deadline);
}

static void *a_then_b(void *arg)
{
    pthread_mutex_lock(&lock_a);
    if (timed_lock(&lock_b) == 0)
        pthread_mutex_unlock(&lock_b);
    pthread_mutex_unlock(&lock_a);
    return arg;
}

static void *b_then_a(void *arg)
{
    pthread_mutex_lock(&lock_b);
    if (timed_lock(&lock_a) == 0)
        pthread_mutex_unlock(&lock_a);
    pthread_mutex_unlock(&lock_b);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, a_then_b, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, b_then_a, NULL);
    pthread_join(t, NULL);
    return 0;
}
