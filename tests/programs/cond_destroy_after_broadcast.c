// verdict: clean
// A condition destroyed right after broadcasting to its waiters: POSIX
// allows it (the woken waiters do not count as waiters any more).
#include <pthread.h>

pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done, waiting;

static void *waiter(void *arg)
{
    pthread_mutex_lock(&done_lock);
    waiting++;
    while (!done)
        pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);
    return arg;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, waiter, NULL);
    for (int seen = 0; seen < 2;) {                /* both are in the wait */
        pthread_mutex_lock(&done_lock);
        seen = waiting;
        pthread_mutex_unlock(&done_lock);
    }
    pthread_mutex_lock(&done_lock);
    done = 1;
    pthread_cond_broadcast(&done_cond);
    pthread_cond_destroy(&done_cond);
    pthread_mutex_unlock(&done_lock);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return 0;
}
