// verdict: lock-order/cycle
// Spinlocks take part in the lock graph like mutexes: A then B, B then A
// (threads one after the other).
#include <pthread.h>

pthread_spinlock_t spin_a, spin_b;

static void *a_then_b(void *arg)
{
    pthread_spin_lock(&spin_a);
    pthread_spin_lock(&spin_b);
    pthread_spin_unlock(&spin_b);
    pthread_spin_unlock(&spin_a);
    return arg;
}

static void *b_then_a(void *arg)
{
    pthread_spin_lock(&spin_b);
    pthread_spin_lock(&spin_a);
    pthread_spin_unlock(&spin_a);
    pthread_spin_unlock(&spin_b);
    return arg;
}

int main(void)
{
    pthread_spin_init(&spin_a, PTHREAD_PROCESS_PRIVATE);
    pthread_spin_init(&spin_b, PTHREAD_PROCESS_PRIVATE);
    pthread_t t;
    pthread_create(&t, NULL, a_then_b, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, b_then_a, NULL);
    pthread_join(t, NULL);
    pthread_spin_destroy(&spin_a);
    pthread_spin_destroy(&spin_b);
    return 0;
}
