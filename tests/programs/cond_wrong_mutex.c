// verdict: misuse/cond-two-mutexes
// Two threads wait on one condition at the same time, each with its own
// mutex: POSIX leaves that undefined. main wakes both when both wait.
#include <pthread.h>
#include <sched.h>

pthread_mutex_t lock_one = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_two = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t shared_cond = PTHREAD_COND_INITIALIZER;
static int waiting_one, waiting_two, go;

static void wait_with(pthread_mutex_t *m, int *waiting)
{
    pthread_mutex_lock(m);
    *waiting = 1;          /* read by main under m: once main gets m, we wait */
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        pthread_cond_wait(&shared_cond, m);
    pthread_mutex_unlock(m);
}

static void *waiter_one(void *arg) { wait_with(&lock_one, &waiting_one); return arg; }
static void *waiter_two(void *arg) { wait_with(&lock_two, &waiting_two); return arg; }

static void await_waiter(pthread_mutex_t *m, int *waiting)
{
    for (;;) {
        pthread_mutex_lock(m);
        int w = *waiting;
        pthread_mutex_unlock(m);
        if (w)
            return;
        sched_yield();
    }
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, waiter_one, NULL);
    pthread_create(&t2, NULL, waiter_two, NULL);
    await_waiter(&lock_one, &waiting_one);
    await_waiter(&lock_two, &waiting_two);
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&shared_cond);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    return 0;
}
