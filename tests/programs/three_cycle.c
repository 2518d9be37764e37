// verdict: lock-order/cycle
// A -> B, B -> C, C -> A, one pair per thread, the threads run one after the
// other: no single thread or pair closes it, only the three together.
#include <pthread.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_c = PTHREAD_MUTEX_INITIALIZER;

struct pair { pthread_mutex_t *first, *second; };

static void *take_pair(void *arg)
{
    struct pair *p = arg;
    pthread_mutex_lock(p->first);
    pthread_mutex_lock(p->second);
    pthread_mutex_unlock(p->second);
    pthread_mutex_unlock(p->first);
    return NULL;
}

int main(void)
{
    struct pair pairs[3] = {
        { &lock_a, &lock_b }, { &lock_b, &lock_c }, { &lock_c, &lock_a },
    };
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        pthread_create(&t, NULL, take_pair, &pairs[i]);
        pthread_join(t, NULL);
    }
    return 0;
}
