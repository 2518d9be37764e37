/* relock_self - seeds/001 §9.5 锁&池 › 1.1 互斥锁 (acquire twice)
 *
 * "A mutex cannot be acquired twice in a row by one thread": lock =
 * Lock(); acquire, print a line, acquire again. The second acquire waits
 * for a release that can never come: main deadlocks on itself and the
 * second line is never printed. The mutex is explicitly
 * PTHREAD_MUTEX_NORMAL, the type whose relock is defined to deadlock
 * (relocking a PTHREAD_MUTEX_DEFAULT one would be undefined behaviour).
 *
 * verdict: deadlock
 * args: none
 */
#include "common.h"

pthread_mutex_t lock;

int main(int argc, char **argv)
{
    pthread_mutexattr_t attr;

    sample_init(argc, argv, 0, "");
    CHECK(pthread_mutexattr_init(&attr));
    CHECK(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_NORMAL));
    CHECK(pthread_mutex_init(&lock, &attr));
    CHECK(pthread_mutexattr_destroy(&attr));

    CHECK(pthread_mutex_lock(&lock));
    printf("-------------\n");
    CHECK(pthread_mutex_lock(&lock)); /* never returns */
    printf("-------------\n");
    return 0;
}
