// verdict: lock-order/cycle
// A taken by a successful trylock is held like any other: blocking on B
// while holding it is an edge A -> B, against B -> A in another thread.
#include <pthread.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *try_a_then_b(void *arg)
{
    if (pthread_mutex_trylock(&lock_a) == 0) {
        pthread_mutex_lock(&lock_b);
        pthread_mutex_unlock(&lock_b);
        pthread_mutex_unlock(&lock_a);
    }
    return arg;
}

static void *b_then_a(void *arg)
{
    pthread_mutex_lock(&lock_b);
    pthread_mutex_lock(&lock_a);
    pthread_mutex_unlock(&lock_a);
    pthread_mutex_unlock(&lock_b);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, try_a_then_b, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, b_then_a, NULL);
    pthread_join(t, NULL);
    return 0;
}
