// verdict: misuse/destroy-waiters
// only: misuse/destroy-waiters
// main destroys a semaphore a thread is blocked on (POSIX: undefined). The
// waiter is left blocked and ends with the process.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static sem_t job_ready;
static pid_t waiter_tid;

static void *waiter(void *arg)
{
    __atomic_store_n(&waiter_tid, gettid(), __ATOMIC_RELEASE);
    sem_wait(&job_ready);                     /* never posted */
    return arg;
}

/* Whether thread TID is inside a futex call: sem_wait has started waiting. */
static int in_futex_wait(pid_t tid)
{
    char path[64];
    long nr = -1;
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld", &nr) != 1)
        nr = -1;
    fclose(f);
    return nr == SYS_futex;
}

int main(void)
{
    sem_init(&job_ready, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    pid_t tid;
    while (!(tid = __atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE)) || !in_futex_wait(tid))
        sched_yield();
    sem_destroy(&job_ready);
    return 0;
}
