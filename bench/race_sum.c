/* bench/race_sum: the race bench's programs (bench/race_bench.sh).
 *
 *   race_sum sum [THREADS [MIB [PASSES]]]
 *     a memory-heavy clean program: THREADS threads each fill and then sum
 *     their own slice of one MIB-mebibyte array of longs, PASSES times;
 *     main joins them and checks the total. No data is shared unordered,
 *     so a race detector must stay silent; what it costs is shadow memory
 *     and a check per access.
 *   race_sum loop [N]
 *     one thread adds 1 to the global `watched` N times: what one access
 *     to a watched variable costs under `tangle run --watch watched`.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long watched;

struct slice {
    long *a;
    size_t n;
    int passes;
    long sum;
};

static void *work(void *p)
{
    struct slice *s = p;
    for (int pass = 0; pass < s->passes; pass++) {
        for (size_t i = 0; i < s->n; i++)
            s->a[i] = (long)(i + (size_t)pass);
        long sum = 0;
        for (size_t i = 0; i < s->n; i++)
            sum += s->a[i];
        s->sum += sum;
    }
    return NULL;
}

static int sum(int threads, size_t mib, int passes)
{
    size_t n = mib * 1024 * 1024 / sizeof(long), per = n / (size_t)threads;
    long *a = malloc(n * sizeof *a);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    struct slice *s = calloc((size_t)threads, sizeof *s);
    if (a == NULL || t == NULL || s == NULL)
        return 1;
    for (int i = 0; i < threads; i++) {
        s[i] = (struct slice){ a + (size_t)i * per, per, passes, 0 };
        if (pthread_create(&t[i], NULL, work, &s[i]) != 0)
            return 1;
    }
    long total = 0, want = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += s[i].sum;
    }
    for (int pass = 0; pass < passes; pass++)
        want += (long)threads * ((long)per * (long)(per - 1) / 2 + (long)per * pass);
    printf("%ld\n", total);
    free(a);
    free(t);
    free(s);
    return total == want ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "loop") == 0) {
        long n = argc > 2 ? atol(argv[2]) : 100000;
        for (long i = 0; i < n; i++) {
            watched += 1;
            __asm__ __volatile__("" ::: "memory");
        }
        printf("%ld\n", watched);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "sum") == 0)
        return sum(argc > 2 ? atoi(argv[2]) : 2, argc > 3 ? (size_t)atol(argv[3]) : 256,
                   argc > 4 ? atoi(argv[4]) : 4);
    fprintf(stderr, "usage: race_sum sum [THREADS [MIB [PASSES]]] | loop [N]\n");
    return 2;
}
