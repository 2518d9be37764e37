// verdict: lock-order/cycle
// wrlock A then rdlock B, and wrlock B then rdlock A (sequential threads).
// Each read request meets a write hold on the other edge: it would block.
#include <pthread.h>

pthread_rwlock_t rw_a = PTHREAD_RWLOCK_INITIALIZER;
pthread_rwlock_t rw_b = PTHREAD_RWLOCK_INITIALIZER;
static int table_a, table_b;

static void *write_a_read_b(void *arg)
{
    pthread_rwlock_wrlock(&rw_a);
    pthread_rwlock_rdlock(&rw_b);
    table_a = table_b + 1;
    pthread_rwlock_unlock(&rw_b);
    pthread_rwlock_unlock(&rw_a);
    return arg;
}

static void *write_b_read_a(void *arg)
{
    pthread_rwlock_wrlock(&rw_b);
    pthread_rwlock_rdlock(&rw_a);
    table_b = table_a + 1;
    pthread_rwlock_unlock(&rw_a);
    pthread_rwlock_unlock(&rw_b);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, write_a_read_b, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, write_b_read_a, NULL);
    pthread_join(t, NULL);
    return table_b != 2;
}
