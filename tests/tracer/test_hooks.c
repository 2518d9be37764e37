/* The hook table: every interposed function resolves, to the right symbol
 * version, and libtangle.so exports the hooks and hides its insides. The
 * resolver (tracer/resolve.c) is linked into this test directly: from here
 * RTLD_NEXT is libc, as it is from libtangle.so in a traced program. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "tracer/tracer.h"

static void *libc(void)
{
    void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    cr_assert_not_null(h, "libc is loaded");
    return h;
}

Test(hooks, every_hook_resolves)
{
    cr_assert_gt(tg_tracer_nhooks, 60);
    for (size_t i = 0; i < tg_tracer_nhooks; i++)
        cr_expect_not_null(tg_tracer_real(i), "%s resolves", tg_tracer_hooks[i].name);
}

Test(hooks, names_are_unique)
{
    for (size_t i = 0; i < tg_tracer_nhooks; i++)
        for (size_t j = i + 1; j < tg_tracer_nhooks; j++)
            cr_expect_str_neq(tg_tracer_hooks[i].name, tg_tracer_hooks[j].name);
}

Test(hooks, resolved_to_the_version_asked_for)
{
    void *h = libc();
    for (size_t i = 0; i < tg_tracer_nhooks; i++) {
        const struct tg_hook_info *k = &tg_tracer_hooks[i];
        void *want = k->version ? dlvsym(h, k->name, k->version) : dlsym(h, k->name);
        cr_expect_not_null(want, "%s@%s exists in libc", k->name, k->version ? k->version : "default");
        cr_expect_eq(tg_tracer_real(i), want, "%s resolved to libc's %s", k->name,
                     k->version ? k->version : "default version");
    }
}

/* The condition variables exist in two versions; the old one works on an
 * incompatible layout, so the table must name the new one. */
Test(hooks, condition_variables_use_glibc_2_3_2)
{
    void *h = libc();
    const char *conds[] = { "pthread_cond_init", "pthread_cond_destroy", "pthread_cond_wait",
                            "pthread_cond_timedwait", "pthread_cond_signal",
                            "pthread_cond_broadcast" };
    for (size_t c = 0; c < sizeof conds / sizeof conds[0]; c++) {
        size_t i = 0;
        while (i < tg_tracer_nhooks && strcmp(tg_tracer_hooks[i].name, conds[c]) != 0)
            i++;
        cr_assert_lt(i, tg_tracer_nhooks, "%s is hooked", conds[c]);
        cr_expect_str_eq(tg_tracer_hooks[i].version, "GLIBC_2.3.2");
        void *old = dlvsym(h, conds[c], "GLIBC_2.2.5");
        cr_expect_neq(tg_tracer_real(i), old, "%s is not the 2.2.5 compat one", conds[c]);
    }
}

/* Reads libtangle.so's dynamic symbol table. */
struct exported {
    char **names;
    size_t n;
};

static void read_exports(struct exported *x)
{
    memset(x, 0, sizeof *x);
    cr_assert_neq(elf_version(EV_CURRENT), EV_NONE);
    int fd = open(LIBTANGLE, O_RDONLY);
    cr_assert_geq(fd, 0, "open %s", LIBTANGLE);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    cr_assert_not_null(elf);
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        if (sh.sh_type != SHT_DYNSYM)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t count = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; i < count; i++) {
            GElf_Sym sym;
            gelf_getsym(data, (int)i, &sym);
            if (sym.st_shndx == SHN_UNDEF || GELF_ST_BIND(sym.st_info) == STB_LOCAL)
                continue;
            const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (name == NULL || *name == '\0')
                continue;
            x->names = realloc(x->names, (x->n + 1) * sizeof *x->names);
            x->names[x->n++] = strdup(name);
        }
    }
    elf_end(elf);
    close(fd);
}

static bool has(const struct exported *x, const char *name)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->names[i], name) == 0)
            return true;
    return false;
}

Test(hooks, library_exports_every_hook)
{
    struct exported x;
    read_exports(&x);
    for (size_t i = 0; i < tg_tracer_nhooks; i++)
        cr_expect(has(&x, tg_tracer_hooks[i].name), "libtangle.so exports %s",
                  tg_tracer_hooks[i].name);
}

/* The trace writer, libunwind and tangle's own functions are linked in; if
 * they were exported they would interpose on the program's symbols. */
Test(hooks, library_hides_its_insides)
{
    struct exported x;
    read_exports(&x);
    cr_assert_gt(x.n, 0);
    for (size_t i = 0; i < x.n; i++) {
        const char *s = x.names[i];
        cr_expect(strncmp(s, "tg_", 3) != 0 && strncmp(s, "unw_", 4) != 0
                  && strncmp(s, "_U", 2) != 0, "%s is not exported", s);
    }
}
