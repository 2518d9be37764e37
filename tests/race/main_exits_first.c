/* main() leaves through pthread_exit before its two workers write `shared`
 * unordered: the report is made once main is gone, when /proc/self/exe no
 * longer reads, and must still name the variable and the program's frames.
 * Built with `tangle cc`; the verdict is a race on `shared`.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int shared;

/* Waits until the main thread is a zombie (its own /proc entry says so). */
static void wait_main_gone(pid_t main_tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)main_tid);
    for (;;) {
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            return;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        char *p = strrchr(buf, ')');
        if (p == NULL || p[2] == 'Z' || p[2] == 'X')
            return;
        sched_yield();
    }
}

static void *writer(void *arg)
{
    wait_main_gone((pid_t)(intptr_t)arg);
    shared++;
    return NULL;
}

int main(void)
{
    for (int i = 0; i < 2; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, writer, (void *)(intptr_t)getpid()) != 0)
            return 1;
        pthread_detach(th);
    }
    pthread_exit(NULL);
}
