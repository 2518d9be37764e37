// verdict: clean
// ABBA inversion, but both orders are always taken under one gate mutex:
// the two threads can never interleave inside, so no deadlock is possible.
#include <pthread.h>

pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static int shared;

static void *a_then_b(void *arg)
{
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&gate);
        pthread_mutex_lock(&lock_a);
        pthread_mutex_lock(&lock_b);
        shared++;
        pthread_mutex_unlock(&lock_b);
        pthread_mutex_unlock(&lock_a);
        pthread_mutex_unlock(&gate);
    }
    return arg;
}

static void *b_then_a(void *arg)
{
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&gate);
        pthread_mutex_lock(&lock_b);
        pthread_mutex_lock(&lock_a);
        shared--;
        pthread_mutex_unlock(&lock_a);
        pthread_mutex_unlock(&lock_b);
        pthread_mutex_unlock(&gate);
    }
    return arg;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, a_then_b, NULL);
    pthread_create(&t2, NULL, b_then_a, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    return shared != 0;
}
