/* process_ticket - seeds/001 §9.3 锁&进程间通信 › 2. 锁 (a lock between processes)
 *
 * Ten buyers, user1..user10: for each, the parent first queries the count
 * ("user1 query: 3 tickets left") and then starts a process that buys:
 * under the lock it reads the count, and if a ticket is left prints
 * "user1 bought a ticket" and takes one, else "user1 got no ticket".
 * The note keeps the count in tickets.txt and passes a multiprocessing
 * Lock to each Process; here the processes are fork()ed children, the
 * count lives in shared memory (mmap MAP_SHARED|MAP_ANONYMOUS) and the
 * lock is a PTHREAD_PROCESS_SHARED mutex beside it. The parent waits for
 * every child (Python joins its children at exit). The note does not say
 * how many tickets the file holds: 3 by default. The note's query reads
 * the file without the lock; one read of a file is a consistent snapshot,
 * which in memory means reading the count under the lock.
 *
 * verdict: clean
 * args: [tickets [users]] - tickets to sell (default 3), buyers (default 10)
 */
#include "common.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
    pthread_mutex_t lock;
    int count; /* dic["count"] */
};

struct shared *shm; /* tickets.txt */

static void search_ticket(const char *user)
{
    int count;

    CHECK(pthread_mutex_lock(&shm->lock));
    count = shm->count;
    CHECK(pthread_mutex_unlock(&shm->lock));
    printf("%s query: %d tickets left\n", user, count);
}

static void buy_ticket(const char *user, pthread_mutex_t *lock)
{
    CHECK(pthread_mutex_lock(lock));
    if (shm->count > 0) {
        printf("%s bought a ticket\n", user);
        shm->count -= 1;
    } else {
        printf("%s got no ticket\n", user);
    }
    CHECK(pthread_mutex_unlock(lock));
}

int main(int argc, char **argv)
{
    pthread_mutexattr_t attr;
    pid_t *children;
    long users;
    int failed = 0;

    sample_init(argc, argv, 2, "[tickets [users]]");
    shm = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    shm->count = (int)arg_long(argc, argv, 1, 3, 0, 1000000);
    users = arg_long(argc, argv, 2, 10, 1, 1000);
    children = calloc((size_t)users, sizeof *children);
    if (children == NULL)
        return 1;

    CHECK(pthread_mutexattr_init(&attr)); /* lock = Lock() */
    CHECK(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED));
    CHECK(pthread_mutex_init(&shm->lock, &attr));
    CHECK(pthread_mutexattr_destroy(&attr));

    for (long i = 0; i < users; i++) {
        char user[32];

        snprintf(user, sizeof user, "user%ld", i + 1);
        search_ticket(user);
        fflush(stdout); /* or the child would print the parent's buffer again */
        children[i] = fork();
        if (children[i] < 0) {
            perror("fork");
            return 1;
        }
        if (children[i] == 0) {
            buy_ticket(user, &shm->lock);
            fflush(stdout);
            _exit(0);
        }
    }
    for (long i = 0; i < users; i++) {
        int status;

        while (waitpid(children[i], &status, 0) < 0)
            if (errno != EINTR) {
                perror("waitpid");
                return 1;
            }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = 1;
    }
    CHECK(pthread_mutex_destroy(&shm->lock));
    munmap(shm, sizeof *shm);
    free(children);
    return failed;
}
