// verdict: deadlock/cycle
// main holds a mutex and joins a thread that is blocked on that mutex.
#include <pthread.h>

pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static int state;

static void *worker(void *arg)
{
    pthread_mutex_lock(&state_lock);
    state++;
    pthread_mutex_unlock(&state_lock);
    return arg;
}

int main(void)
{
    pthread_mutex_lock(&state_lock);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);                         /* waits for worker, worker for us */
    pthread_mutex_unlock(&state_lock);
    return state != 1;
}
