/* The program the symbols tests look at. Built with -g -O0 (and variants:
 * no PIE, clang, stripped). It prints its module map and the addresses the
 * tests then name, one per line, and exits; the tests symbolise after it is
 * gone, as tangle does with a trace:
 *
 *   module BASE LO HI PATH
 *   addr KEY ADDRESS            a data or code address
 *   ret KEY ADDRESS LINE        a return address and the line of its call
 *   line KEY LINE
 */
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symlib.h"
#include "target.h"

pthread_mutex_t mutexA = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t fork_[5];
struct pool {
    int count;
    pthread_mutex_t lock;
} pool;
struct philosopher {
    int id;
    pthread_mutex_t left, right;
} philosophers[5];
static int counter;
int grid[3][4];
struct node {
    struct node *next;
} *head_ptr;
struct tagged {
    char tag;
    union {
        int i;
        float f;
    };
} tagged;
__thread int tls_var;

static int *bump(void)
{
    static int calls;
    calls++;
    return &calls;
}

__attribute__((noinline)) void record(const char *key, int line)
{
    printf("ret %s %p %d\n", key, __builtin_return_address(0), line);
}

static inline __attribute__((always_inline)) void inlined_helper(void)
{
    record("inlined", __LINE__);
}

__attribute__((noinline)) void known_function(void)
{
    record("known", __LINE__);
    inlined_helper(); printf("line inline_call %d\n", __LINE__);
}

__attribute__((noinline)) static void lib_cb(int line)
{
    printf("ret lib %p %d\n", __builtin_return_address(0), line);
}

static int compare(const void *a, const void *b)
{
    static int once;
    if (!once++)
        printf("ret libc %p 0\n", __builtin_return_address(0));
    return *(const int *)a - *(const int *)b;
}

static int print_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t start = info->dlpi_addr + ph->p_vaddr;
        if (start < lo)
            lo = start;
        if (start + ph->p_memsz > hi)
            hi = start + ph->p_memsz;
    }
    char path[PATH_MAX];
    const char *name = info->dlpi_name;
    if (!name || !*name) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        path[n > 0 ? n : 0] = '\0';
        name = path;
    }
    if (hi > lo && name[0] == '/')
        printf("module %#llx %#llx %#llx %s\n", (unsigned long long)info->dlpi_addr,
               (unsigned long long)lo, (unsigned long long)hi, name);
    return 0;
}

int main(void)
{
    dl_iterate_phdr(print_module, NULL);
    printf("addr mutexA %p\n", (void *)&mutexA);
    printf("addr mutexA_inside %p\n", (void *)((char *)&mutexA + 8));
    printf("addr fork_3 %p\n", (void *)&fork_[3]);
    printf("addr fork_0 %p\n", (void *)&fork_[0]);
    printf("addr pool_lock %p\n", (void *)&pool.lock);
    printf("addr pool_count %p\n", (void *)&pool.count);
    printf("addr pool_padding %p\n", (void *)((char *)&pool.count + 4));
    printf("addr phil_2_left %p\n", (void *)&philosophers[2].left);
    printf("addr phil_4_right %p\n", (void *)&philosophers[4].right);
    printf("addr counter %p\n", (void *)&counter);
    printf("addr counter_2 %p\n", (void *)((char *)&counter + 2));
    printf("addr grid_1_2 %p\n", (void *)&grid[1][2]);
    printf("addr head_ptr %p\n", (void *)&head_ptr);
    printf("addr tagged_f %p\n", (void *)&tagged.f);
    printf("addr bump_calls %p\n", (void *)bump());
    printf("addr lib_lock %p\n", (void *)&lib_lock);
    printf("addr tls_var %p\n", (void *)&tls_var);
    int local = 0;
    printf("addr stack %p\n", (void *)&local);
    void *heap = malloc(64);
    printf("addr heap %p\n", heap);
    free(heap);
    printf("addr known_function %p\n", (void *)known_function);
    printf("addr pthread_mutex_lock %p\n", (void *)pthread_mutex_lock);

    known_function();
    dup_one();
    dup_two();
    symlib_call(lib_cb);
    int v[] = { 3, 1, 2 };
    qsort(v, 3, sizeof v[0], compare);
    return 0;
}
