// verdict: clean
// Lock coupling down a list: take node i+1 before releasing node i. Both
// threads walk in the same direction, so the lock graph is a chain.
#include <pthread.h>

#define NODES 16
pthread_mutex_t node_lock[NODES];
static int node_value[NODES];

static void *walk(void *arg)
{
    for (int round = 0; round < 50; round++) {
        pthread_mutex_lock(&node_lock[0]);
        for (int i = 0; i < NODES - 1; i++) {
            pthread_mutex_lock(&node_lock[i + 1]);
            node_value[i]++;
            pthread_mutex_unlock(&node_lock[i]);
        }
        node_value[NODES - 1]++;
        pthread_mutex_unlock(&node_lock[NODES - 1]);
    }
    return arg;
}

int main(void)
{
    for (int i = 0; i < NODES; i++)
        pthread_mutex_init(&node_lock[i], NULL);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, walk, NULL);
    pthread_create(&t2, NULL, walk, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    for (int i = 0; i < NODES; i++)
        pthread_mutex_destroy(&node_lock[i]);
    return node_value[0] != 100;
}
