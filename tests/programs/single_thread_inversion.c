// verdict: clean
// One thread takes A then B, later B then A. A cycle made by a single thread
// is sequential by construction; a second thread only ever takes A alone.
#include <pthread.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static int shared;

static void *only_a(void *arg)
{
    pthread_mutex_lock(&lock_a);
    shared++;
    pthread_mutex_unlock(&lock_a);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, only_a, NULL);

    pthread_mutex_lock(&lock_a);
    pthread_mutex_lock(&lock_b);
    shared++;
    pthread_mutex_unlock(&lock_b);
    pthread_mutex_unlock(&lock_a);

    pthread_mutex_lock(&lock_b);
    pthread_mutex_lock(&lock_a);
    shared++;
    pthread_mutex_unlock(&lock_a);
    pthread_mutex_unlock(&lock_b);

    pthread_join(t, NULL);
    return shared != 3;
}
