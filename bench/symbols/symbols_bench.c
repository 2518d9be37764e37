/* bench/symbols: what symbolising costs.
 *
 * For each module (default: a generated program with 15,000 call sites and
 * libc), takes N distinct code addresses from its line table as return
 * addresses and symbolises them three ways in one run:
 *   cold:   a fresh tg_symbols (opening the file and its debug info included)
 *   cached: the same addresses again
 *   libdw:  eu-addr2line's way (dwfl_module_addrinfo + dwfl_module_getsrc),
 *           no inlined frames, no cache: the floor for a cold lookup
 * and N data addresses from its OBJECT symbols through tg_symbols_data.
 * Prints times and ratios; no figure is asserted.
 *
 * usage: symbols_bench [-n N] [-q] [MODULE...]     (-q: skip the libdw baseline)
 */
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "symbols/symbols.h"

static const uint64_t BIAS = 0x7f0000000000ull;     /* a plausible load bias */
static bool with_baseline = true;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static Dwfl_Module *open_module(const char *path, Dwfl **dwfl)
{
    *dwfl = dwfl_begin(&callbacks);
    dwfl_report_begin(*dwfl);
    Dwfl_Module *m = dwfl_report_elf(*dwfl, "m", path, -1, 0, false);
    dwfl_report_end(*dwfl, NULL, NULL);
    return m;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Up to WANT distinct addresses spread evenly over SORTED[0..n). */
static size_t spread(uint64_t *sorted, size_t n, size_t want)
{
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || sorted[i] != sorted[u - 1])
            sorted[u++] = sorted[i];
    if (u <= want)
        return u;
    for (size_t i = 0; i < want; i++)
        sorted[i] = sorted[i * u / want];
    return want;
}

/* Line table addresses (as return addresses: +1) and OBJECT symbol
 * addresses of PATH, in its link-time address space. */
static bool collect(const char *path, size_t want, uint64_t **code, size_t *ncode,
                    uint64_t **data, size_t *ndata, uint64_t *lo, uint64_t *hi)
{
    Dwfl *dwfl;
    Dwfl_Module *m = open_module(path, &dwfl);
    if (!m)
        return false;
    Dwarf_Addr mlo, mhi, bias;
    dwfl_module_info(m, NULL, &mlo, &mhi, NULL, NULL, NULL, NULL);
    *lo = mlo;
    *hi = mhi;
    size_t n = 0, cap = 1 << 16;
    uint64_t *a = malloc(cap * sizeof *a);
    Dwarf *dw = dwfl_module_getdwarf(m, &bias);
    Dwarf_CU *cu = NULL;
    Dwarf_Die cudie;
    while (dw && dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL) == 0) {
        Dwarf_Lines *lines;
        size_t nlines;
        if (dwarf_getsrclines(&cudie, &lines, &nlines) != 0)
            continue;
        for (size_t i = 0; i < nlines; i++) {
            Dwarf_Addr addr;
            bool end = false;
            Dwarf_Line *l = dwarf_onesrcline(lines, i);
            dwarf_lineendsequence(l, &end);
            if (end || dwarf_lineaddr(l, &addr) != 0)
                continue;
            if (n == cap)
                a = realloc(a, (cap *= 2) * sizeof *a);
            a[n++] = addr + bias + 1;
        }
    }
    *ncode = spread(a, n, want);
    *code = a;

    size_t nd = 0;
    uint64_t *d = malloc(((size_t)dwfl_module_getsymtab(m) + 1) * sizeof *d);
    for (int i = 1; i < dwfl_module_getsymtab(m); i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        const char *name = dwfl_module_getsym_info(m, i, &sym, &addr, NULL, NULL, NULL);
        if (name && GELF_ST_TYPE(sym.st_info) == STT_OBJECT && sym.st_shndx != SHN_UNDEF)
            d[nd++] = addr + sym.st_size / 2;
    }
    *ndata = spread(d, nd, want);
    *data = d;
    dwfl_end(dwfl);
    return true;
}

static double baseline(const char *path, const uint64_t *code, size_t n)
{
    double t0 = now();
    Dwfl *dwfl;
    Dwfl_Module *m = open_module(path, &dwfl);
    size_t named = 0;
    for (size_t i = 0; i < n; i++) {
        GElf_Off off;
        GElf_Sym sym;
        const char *name = dwfl_module_addrinfo(m, code[i] - 1, &off, &sym, NULL, NULL, NULL);
        Dwfl_Line *line = dwfl_module_getsrc(m, code[i] - 1);
        int lineno;
        const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
        named += name && file;
    }
    dwfl_end(dwfl);
    double t = now() - t0;
    if (named == 0)
        fprintf(stderr, "symbols_bench: libdw named nothing in %s\n", path);
    return t;
}

static void bench(const char *path, size_t want)
{
    uint64_t *code, *data, lo, hi;
    size_t ncode, ndata;
    if (!collect(path, want, &code, &ncode, &data, &ndata, &lo, &hi)) {
        printf("%s: cannot read\n", path);
        return;
    }
    struct tg_module_info mod = { .process = 0, .base = BIAS, .lo = BIAS + lo, .hi = BIAS + hi,
                                  .path = path };
    char buf[512];
    size_t with_line = 0, inlined = 0, named_data = 0;

    double t0 = now();
    struct tg_symbols *s = tg_symbols_new_modules(&mod, 1);
    for (size_t i = 0; i < ncode; i++) {
        struct tg_frame f;
        tg_symbols_frame(s, 0, BIAS + code[i], &f);
        tg_symbols_format_frame(&f, buf, sizeof buf);
        with_line += f.line > 0;
        inlined += f.inlined_into != NULL;
    }
    double cold = now() - t0;

    t0 = now();
    for (size_t i = 0; i < ncode; i++) {
        struct tg_frame f;
        tg_symbols_frame(s, 0, BIAS + code[i], &f);
        tg_symbols_format_frame(&f, buf, sizeof buf);
    }
    double cached = now() - t0;

    t0 = now();
    for (size_t i = 0; i < ndata; i++) {
        char name[256], type[128];
        named_data += tg_symbols_data(s, 0, BIAS + data[i], name, sizeof name, type, sizeof type);
    }
    double data_first = now() - t0;
    t0 = now();
    for (size_t i = 0; i < ndata; i++) {
        char name[256], type[128];
        tg_symbols_data(s, 0, BIAS + data[i], name, sizeof name, type, sizeof type);
    }
    double data_again = now() - t0;
    tg_symbols_free(s);

    double base = with_baseline ? baseline(path, code, ncode) : 0;

    printf("%s\n", path);
    printf("  frames: %zu distinct (%zu with a line, %zu inlined)\n", ncode, with_line, inlined);
    printf("    cold   %8.1f ms  %7.2f us/frame  (file open and debug info included)\n",
           cold * 1e3, cold * 1e6 / (double)ncode);
    printf("    cached %8.2f ms  %7.0f ns/frame  cold/cached %.0fx\n", cached * 1e3,
           cached * 1e9 / (double)ncode, cold / cached);
    if (with_baseline)
        printf("    libdw addrinfo+getsrc, no inlines, no cache %8.1f ms  cold/libdw %.2fx\n",
               base * 1e3, cold / base);
    printf("  data: %zu addresses, %zu named\n", ndata, named_data);
    printf("    first  %8.1f ms  %7.2f us/lookup (variable index included)\n", data_first * 1e3,
           data_first * 1e6 / (double)(ndata ? ndata : 1));
    printf("    again  %8.1f ms  %7.2f us/lookup\n", data_again * 1e3,
           data_again * 1e6 / (double)(ndata ? ndata : 1));
    free(code);
    free(data);
}

static const char *libc_path(void)
{
    Dl_info info;
    return dladdr((void *)printf, &info) && info.dli_fname ? info.dli_fname : NULL;
}

int main(int argc, char **argv)
{
    size_t want = 10000;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            want = strtoul(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "-q") == 0) {
            with_baseline = false;
        } else {
            fprintf(stderr, "usage: symbols_bench [-n N] [-q] [MODULE...]\n");
            return 2;
        }
    }
    if (i < argc) {
        for (; i < argc; i++)
            bench(argv[i], want);
        return 0;
    }
    bench(BENCH_CALLS, want);
    const char *libc = libc_path();
    if (libc)
        bench(libc, want);
    return 0;
}
