// verdict: lock-order/cycle
// ABBA under a common rwlock held only for reading: readers do not exclude
// each other, so the "gate" protects nothing (threads run one after the other).
#include <pthread.h>

pthread_rwlock_t gate = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *ordered(void *arg)
{
    pthread_mutex_t **order = arg;
    pthread_rwlock_rdlock(&gate);
    pthread_mutex_lock(order[0]);
    pthread_mutex_lock(order[1]);
    pthread_mutex_unlock(order[1]);
    pthread_mutex_unlock(order[0]);
    pthread_rwlock_unlock(&gate);
    return NULL;
}

int main(void)
{
    pthread_mutex_t *ab[2] = { &lock_a, &lock_b }, *ba[2] = { &lock_b, &lock_a };
    pthread_t t;
    pthread_create(&t, NULL, ordered, ab);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, ordered, ba);
    pthread_join(t, NULL);
    return 0;
}
