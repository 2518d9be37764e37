// verdict: clean
// Three threads meet at a barrier every round; waiting for the others at a
// barrier whose round completes is not a deadlock.
#include <pthread.h>

pthread_barrier_t round_barrier;
pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;
static int total;

static void *worker(void *arg)
{
    for (int i = 0; i < 50; i++) {
        pthread_mutex_lock(&total_lock);
        total++;
        pthread_mutex_unlock(&total_lock);
        pthread_barrier_wait(&round_barrier);
    }
    return arg;
}

int main(void)
{
    pthread_t t[2];
    pthread_barrier_init(&round_barrier, NULL, 3);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    worker(NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&round_barrier);
    return total != 150;
}
