// verdict: lock-order/cycle
// cycle-steps: 10000
// 10,000 locks taken hand over hand down a chain by two walkers (a chain:
// clean on its own), then one thread takes the last before the first: a
// 10,000-lock cycle, which must be found and reported (shortest cycle,
// the whole chain) when the program ends.
#include <pthread.h>

#define LOCKS 10000
pthread_mutex_t chain_lock[LOCKS];
static long chain_value[LOCKS];

static void *walk(void *arg)
{
    pthread_mutex_lock(&chain_lock[0]);
    for (int i = 0; i < LOCKS - 1; i++) {
        pthread_mutex_lock(&chain_lock[i + 1]);
        chain_value[i]++;
        pthread_mutex_unlock(&chain_lock[i]);
    }
    pthread_mutex_unlock(&chain_lock[LOCKS - 1]);
    return arg;
}

static void *wrap_around(void *arg)
{
    pthread_mutex_lock(&chain_lock[LOCKS - 1]);
    pthread_mutex_lock(&chain_lock[0]);
    chain_value[0]++;
    pthread_mutex_unlock(&chain_lock[0]);
    pthread_mutex_unlock(&chain_lock[LOCKS - 1]);
    return arg;
}

int main(void)
{
    for (int i = 0; i < LOCKS; i++)
        pthread_mutex_init(&chain_lock[i], NULL);
    pthread_t t[3];
    pthread_create(&t[0], NULL, walk, NULL);
    pthread_create(&t[1], NULL, walk, NULL);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    pthread_create(&t[2], NULL, wrap_around, NULL);
    pthread_join(t[2], NULL);
    return 0;
}
