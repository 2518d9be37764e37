/* Writes a small trace the way the tracer does (trace/writer.h: its own
 * process record and module map, a stack, then a fork child's), and prints
 * what the test should find in it:
 *
 *   process INDEX
 *   stack PROCESS ID LINE        stack ID's first frame returns to LINE
 *   addr KEY ADDRESS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/writer.h"

pthread_mutex_t traced_lock = PTHREAD_MUTEX_INITIALIZER;

static struct tg_writer w;

__attribute__((noinline)) static void capture(int line)
{
    uint64_t frame = (uint64_t)(uintptr_t)__builtin_return_address(0);
    uint32_t id = tg_writer_stack(&w, &frame, 1);
    printf("stack %u %u %d\n", w.process, id, line);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 2 || tg_writer_open(&w, argv[1], argv[0], argv[0]) != 0)
        return 2;
    printf("process %u\n", w.process);
    printf("addr traced_lock %p\n", (void *)&traced_lock);
    void *heap = malloc(40);
    printf("addr heap %p\n", heap);
    capture(__LINE__);
    fflush(stdout);
    uint32_t parent = w.process;
    pid_t pid = fork();
    if (pid == 0) {
        if (tg_writer_after_fork(&w, parent) != 0)
            _exit(3);
        capture(__LINE__);
        _exit(0);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
        return 4;
    free(heap);
    tg_writer_finish(&w, 0);
    return 0;
}
