// verdict: clean
// One thread takes A then B; the other holds B and only *tries* A, backing
// off (releasing B) when A is busy. A trylock never blocks: no lock-order edge.
#include <pthread.h>
#include <sched.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static int shared;

static void *a_then_b(void *arg)
{
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&lock_a);
        pthread_mutex_lock(&lock_b);
        shared++;
        pthread_mutex_unlock(&lock_b);
        pthread_mutex_unlock(&lock_a);
    }
    return arg;
}

static void *b_then_try_a(void *arg)
{
    for (int i = 0; i < 1000; i++) {
        for (;;) {
            pthread_mutex_lock(&lock_b);
            if (pthread_mutex_trylock(&lock_a) == 0)
                break;
            pthread_mutex_unlock(&lock_b);      /* back off */
            sched_yield();
        }
        shared--;
        pthread_mutex_unlock(&lock_a);
        pthread_mutex_unlock(&lock_b);
    }
    return arg;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, a_then_b, NULL);
    pthread_create(&t2, NULL, b_then_try_a, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    return shared != 0;
}
