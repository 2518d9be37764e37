// verdict: clean
// A condition used right: the predicate is checked in a loop under the mutex,
// so a signal sent before the consumer waits is not lost.
#include <pthread.h>

pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static int items;

static void *consumer(void *arg)
{
    int taken = 0;
    while (taken < 100) {
        pthread_mutex_lock(&queue_lock);
        while (items == 0)
            pthread_cond_wait(&queue_cond, &queue_lock);
        items--;
        taken++;
        pthread_mutex_unlock(&queue_lock);
    }
    return arg;
}

int main(void)
{
    /* Signal once before anyone waits: harmless with a predicate. */
    pthread_mutex_lock(&queue_lock);
    items++;
    pthread_cond_signal(&queue_cond);
    pthread_mutex_unlock(&queue_lock);

    pthread_t t;
    pthread_create(&t, NULL, consumer, NULL);
    for (int i = 1; i < 100; i++) {
        pthread_mutex_lock(&queue_lock);
        items++;
        pthread_cond_signal(&queue_cond);
        pthread_mutex_unlock(&queue_lock);
    }
    pthread_join(t, NULL);
    return items != 0;
}
