// verdict: clean
// A recursive mutex taken twice by its holder (no self-deadlock, no edge
// R -> R), then another lock under it; a second thread uses the same order.
#include <pthread.h>

pthread_mutex_t rec_lock;
pthread_mutex_t inner_lock = PTHREAD_MUTEX_INITIALIZER;
static int shared;

static void *work(void *arg)
{
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&rec_lock);
        pthread_mutex_lock(&rec_lock);
        pthread_mutex_lock(&inner_lock);
        shared++;
        pthread_mutex_unlock(&inner_lock);
        pthread_mutex_unlock(&rec_lock);
        pthread_mutex_unlock(&rec_lock);
    }
    return arg;
}

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&rec_lock, &attr);
    pthread_mutexattr_destroy(&attr);

    pthread_t t;
    pthread_create(&t, NULL, work, NULL);
    work(NULL);
    pthread_join(t, NULL);
    pthread_mutex_destroy(&rec_lock);
    return shared != 200;
}
