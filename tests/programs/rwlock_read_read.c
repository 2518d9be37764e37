// verdict: clean
// Two threads: read A then read B, and read B then read A, concurrently.
// Readers do not exclude each other (glibc's default prefers readers).
#include <pthread.h>

pthread_rwlock_t rw_a = PTHREAD_RWLOCK_INITIALIZER;
pthread_rwlock_t rw_b = PTHREAD_RWLOCK_INITIALIZER;
static int table_a = 1, table_b = 2;

static void *read_a_then_b(void *arg)
{
    (void)arg;
    long sum = 0;
    for (int i = 0; i < 1000; i++) {
        pthread_rwlock_rdlock(&rw_a);
        pthread_rwlock_rdlock(&rw_b);
        sum += table_a + table_b;
        pthread_rwlock_unlock(&rw_b);
        pthread_rwlock_unlock(&rw_a);
    }
    return (void *)sum;
}

static void *read_b_then_a(void *arg)
{
    (void)arg;
    long sum = 0;
    for (int i = 0; i < 1000; i++) {
        pthread_rwlock_rdlock(&rw_b);
        pthread_rwlock_rdlock(&rw_a);
        sum += table_a + table_b;
        pthread_rwlock_unlock(&rw_a);
        pthread_rwlock_unlock(&rw_b);
    }
    return (void *)sum;
}

int main(void)
{
    pthread_t t1, t2;
    void *r1, *r2;
    pthread_create(&t1, NULL, read_a_then_b, NULL);
    pthread_create(&t2, NULL, read_b_then_a, NULL);
    pthread_join(t1, &r1);
    pthread_join(t2, &r2);
    return (long)r1 != 3000 || (long)r2 != 3000;
}
