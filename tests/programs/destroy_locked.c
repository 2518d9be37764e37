// verdict: misuse/destroy-locked
// A mutex destroyed while its holder still has it (glibc says EBUSY).
#include <pthread.h>

pthread_mutex_t session_lock;

int main(void)
{
    pthread_mutex_init(&session_lock, NULL);
    pthread_mutex_lock(&session_lock);
    int rc = pthread_mutex_destroy(&session_lock); /* still held */
    pthread_mutex_unlock(&session_lock);
    pthread_mutex_destroy(&session_lock);
    return rc == 0;
}
