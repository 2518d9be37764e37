// verdict: deadlock/lost-wakeup
// The signal is sent before anyone waits, and the waiter has no predicate:
// it waits forever, and main waits forever to join it.
#include <pthread.h>

pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;

static void *waiter(void *arg)
{
    pthread_mutex_lock(&ready_lock);
    pthread_cond_wait(&ready_cond, &ready_lock);   /* no predicate */
    pthread_mutex_unlock(&ready_lock);
    return arg;
}

int main(void)
{
    pthread_mutex_lock(&ready_lock);
    pthread_cond_signal(&ready_cond);              /* nobody listens yet */
    pthread_mutex_unlock(&ready_lock);

    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    pthread_join(t, NULL);
    return 0;
}
