// verdict: clean
// rdlock A then wrlock B, and wrlock B then rdlock A (concurrently). The
// second thread's read of A never waits on the first's read hold (readers
// are preferred), so this cannot deadlock: the rwlock rule must stay quiet.
#include <pthread.h>

pthread_rwlock_t rw_a = PTHREAD_RWLOCK_INITIALIZER;
pthread_rwlock_t rw_b = PTHREAD_RWLOCK_INITIALIZER;
static int table_b;

static void *read_a_write_b(void *arg)
{
    for (int i = 0; i < 500; i++) {
        pthread_rwlock_rdlock(&rw_a);
        pthread_rwlock_wrlock(&rw_b);
        table_b++;
        pthread_rwlock_unlock(&rw_b);
        pthread_rwlock_unlock(&rw_a);
    }
    return arg;
}

static void *write_b_read_a(void *arg)
{
    for (int i = 0; i < 500; i++) {
        pthread_rwlock_wrlock(&rw_b);
        pthread_rwlock_rdlock(&rw_a);
        table_b++;
        pthread_rwlock_unlock(&rw_a);
        pthread_rwlock_unlock(&rw_b);
    }
    return arg;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, read_a_write_b, NULL);
    pthread_create(&t2, NULL, write_b_read_a, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    return table_b != 1000;
}
