// verdict: misuse/unlock-not-held
// A mutex unlocked that no thread holds (a stray unlock on an error path).
#include <pthread.h>

pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static int config;

int main(void)
{
    pthread_mutex_lock(&config_lock);
    config = 1;
    pthread_mutex_unlock(&config_lock);
    pthread_mutex_unlock(&config_lock);            /* not held any more */
    return config != 1;
}
