/* symbols/: per-process module maps, and the public lookups on top of the
 * per-file caches in symfile.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/internal.h"
#include "symbols/symbols.h"

struct procmod {
    uint32_t process;           /* whose record: a fork child's own, or inherited */
    uint64_t base, lo, hi;
    const char *path;
    struct symfile *file;       /* resolved on first use */
};

struct proc {
    bool loaded;
    size_t seen;                /* module count at the last refresh */
    struct procmod *mods;
    size_t nmods, capmods;
};

struct fileent {
    const char *path;
    struct symfile *file;
};

/* The source behind tg_symbols_new_modules. */
struct fixed_modules {
    struct tg_module_info *mods;
    size_t n;
    struct tg_module_info *scratch;  /* one process' entries */
    size_t capscratch;
};

struct tg_symbols {
    struct tg_symbols_source src;
    struct fixed_modules *fixed;     /* owned, for tg_symbols_new_modules */
    struct proc *procs;              /* indexed by process index */
    size_t nprocs;
    struct fileent *files;
    size_t nfiles, capfiles;
    struct arena arena;              /* module paths */
};

struct tg_symbols *tg_symbols_new_source(const struct tg_symbols_source *src)
{
    if (!src || !src->modules)
        return NULL;
    struct tg_symbols *s = calloc(1, sizeof *s);
    if (s)
        s->src = *src;
    return s;
}

static void free_fixed(struct fixed_modules *fm)
{
    if (!fm)
        return;
    for (size_t i = 0; i < fm->n; i++)
        free((char *)fm->mods[i].path);
    free(fm->mods);
    free(fm->scratch);
    free(fm);
}

static size_t fixed_modules(void *ctx, uint32_t process, const struct tg_module_info **mods)
{
    struct fixed_modules *fm = ctx;
    size_t n = 0;
    for (size_t i = 0; i < fm->n; i++) {
        if (fm->mods[i].process != process)
            continue;
        if (!tg_symbols_grow_array(&fm->scratch, &fm->capscratch, n + 1, sizeof *fm->scratch))
            break;
        fm->scratch[n++] = fm->mods[i];
    }
    *mods = fm->scratch;
    return n;
}

struct tg_symbols *tg_symbols_new_modules(const struct tg_module_info *mods, size_t n)
{
    struct fixed_modules *fm = calloc(1, sizeof *fm);
    if (!fm || (n && !(fm->mods = calloc(n, sizeof *fm->mods)))) {
        free(fm);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        fm->mods[i] = mods[i];
        fm->mods[i].path = strdup(mods[i].path ? mods[i].path : "");
        fm->n = i + 1;
        if (!fm->mods[i].path) {
            free_fixed(fm);
            return NULL;
        }
    }
    struct tg_symbols_source src = { .ctx = fm, .modules = fixed_modules };
    struct tg_symbols *s = tg_symbols_new_source(&src);
    if (!s) {
        free_fixed(fm);
        return NULL;
    }
    s->fixed = fm;
    return s;
}

void tg_symbols_free(struct tg_symbols *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nfiles; i++)
        tg_symbols_symfile_close(s->files[i].file);
    free(s->files);
    for (size_t i = 0; i < s->nprocs; i++)
        free(s->procs[i].mods);
    free(s->procs);
    free_fixed(s->fixed);
    tg_symbols_arena_free(&s->arena);
    free(s);
}

/* ---- module maps ---- */

static struct symfile *file_for(struct tg_symbols *s, const char *path)
{
    for (size_t i = 0; i < s->nfiles; i++)
        if (strcmp(s->files[i].path, path) == 0)
            return s->files[i].file;
    if (!tg_symbols_grow_array(&s->files, &s->capfiles, s->nfiles + 1, sizeof *s->files))
        return NULL;
    struct symfile *f = tg_symbols_symfile_open(path);
    if (!f)
        return NULL;
    s->files[s->nfiles++] = (struct fileent){ .path = path, .file = f };
    return f;
}

/* Copies the source's modules of P if it has more than last time. */
static void refresh(struct tg_symbols *s, uint32_t process, struct proc *p)
{
    const struct tg_module_info *mods = NULL;
    size_t n = s->src.modules(s->src.ctx, process, &mods);
    p->loaded = true;
    if (n == p->seen || !mods)
        return;
    if (!tg_symbols_grow_array(&p->mods, &p->capmods, n, sizeof *p->mods))
        return;
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        const char *path = mods[i].path ? mods[i].path : "";
        struct procmod *old = i < p->nmods ? &p->mods[i] : NULL;
        if (old && old->lo == mods[i].lo && old->base == mods[i].base
            && old->process == mods[i].process && strcmp(old->path, path) == 0) {
            out++;              /* unchanged: keep its resolved file */
            continue;
        }
        const char *copy = tg_symbols_arena_strdup(&s->arena, path);
        if (!copy)
            break;
        p->mods[out++] = (struct procmod){ .process = mods[i].process, .base = mods[i].base,
                                           .lo = mods[i].lo, .hi = mods[i].hi, .path = copy };
    }
    p->nmods = out;
    p->seen = out == n ? n : 0;
}

static struct proc *proc_for(struct tg_symbols *s, uint32_t process)
{
    if (process >= s->nprocs) {
        size_t n = (size_t)process + 1;
        struct proc *procs = realloc(s->procs, n * sizeof *procs);
        if (!procs)
            return NULL;
        memset(procs + s->nprocs, 0, (n - s->nprocs) * sizeof *procs);
        s->procs = procs;
        s->nprocs = n;
    }
    return &s->procs[process];
}

static struct procmod *scan(struct proc *p, uint64_t addr)
{
    /* The source lists a process' own modules, then its parent's, and so
     * on. The nearest process that maps ADDR wins, and within its records
     * the newest: after dlclose a later module can reuse the range. */
    struct procmod *found = NULL;
    for (size_t i = 0; i < p->nmods; i++) {
        struct procmod *m = &p->mods[i];
        if (addr >= m->lo && addr < m->hi && (!found || found->process == m->process))
            found = m;
    }
    return found;
}

static struct procmod *module_at(struct tg_symbols *s, uint32_t process, uint64_t addr)
{
    struct proc *p = proc_for(s, process);
    if (!p)
        return NULL;
    if (!p->loaded)
        refresh(s, process, p);
    struct procmod *m = scan(p, addr);
    if (!m) {
        refresh(s, process, p);     /* a live trace may know more now */
        m = scan(p, addr);
    }
    if (m && !m->file)
        m->file = file_for(s, m->path);
    return m && m->file ? m : NULL;
}

/* ---- code ---- */

static void fill_level(struct tg_frame *out, const struct code_info *info, size_t i)
{
    out->function = info->levels[i].function;
    out->file = info->levels[i].file;
    out->line = info->levels[i].line;
    if (i + 1 < info->nlevels) {
        out->inlined_into = info->levels[i + 1].function;
        out->call_file = info->levels[i + 1].file;
        out->call_line = info->levels[i + 1].line;
    }
}

/* The code at PC; RET: PC is a return address, so look up the call before. */
static const struct code_info *code_at(struct tg_symbols *s, uint32_t process, uint64_t pc,
                                       bool ret, struct tg_frame *base)
{
    *base = (struct tg_frame){ .pc = pc };
    if (ret && pc == 0)
        return NULL;
    struct procmod *m = module_at(s, process, ret ? pc - 1 : pc);
    if (!m)
        return NULL;
    base->module = m->path;
    base->offset = pc - m->base;
    return tg_symbols_symfile_code(m->file, pc - m->base - (ret ? 1 : 0));
}

static bool frame(struct tg_symbols *s, uint32_t process, uint64_t pc, bool ret,
                  struct tg_frame *out)
{
    const struct code_info *info = code_at(s, process, pc, ret, out);
    if (!out->module)
        return false;
    if (info) {
        fill_level(out, info, 0);
        /* The symbol is the emitted function's: an offset from it only
         * makes sense when no inlined function is named instead. */
        if (info->has_symbol && info->nlevels == 1) {
            out->has_fn_offset = true;
            out->fn_offset = out->offset - info->sym_start;
        }
    }
    return true;
}

bool tg_symbols_frame(struct tg_symbols *s, uint32_t process, uint64_t ret_addr,
                      struct tg_frame *out)
{
    return frame(s, process, ret_addr, true, out);
}

bool tg_symbols_pc(struct tg_symbols *s, uint32_t process, uint64_t pc, struct tg_frame *out)
{
    return frame(s, process, pc, false, out);
}

size_t tg_symbols_frames(struct tg_symbols *s, uint32_t process, uint64_t ret_addr,
                         struct tg_frame *out, size_t max)
{
    struct tg_frame base;
    const struct code_info *info = code_at(s, process, ret_addr, true, &base);
    if (!base.module)
        return 0;
    size_t n = info ? info->nlevels : 1;
    for (size_t i = 0; i < n && i < max; i++) {
        out[i] = base;
        if (!info)
            continue;
        fill_level(&out[i], info, i);
        if (i + 1 == n && info->has_symbol) {
            out[i].has_fn_offset = true;
            out[i].fn_offset = base.offset - info->sym_start;
        }
    }
    return n;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

const char *tg_symbols_format_frame(const struct tg_frame *f, char *buf, size_t len)
{
    if (!len)
        return buf;
    if (f->function && f->file && f->line > 0) {
        int n = snprintf(buf, len, "%s %s:%d", f->function, f->file, f->line);
        size_t used = n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
        if (f->inlined_into && f->call_file && f->call_line > 0)
            snprintf(buf + used, len - used, " (inlined into %s %s:%d)", f->inlined_into,
                     f->call_file, f->call_line);
        else if (f->inlined_into)
            snprintf(buf + used, len - used, " (inlined into %s)", f->inlined_into);
    } else if (f->function && f->module && f->has_fn_offset) {
        snprintf(buf, len, "%s+0x%" PRIx64 " (%s)", f->function, f->fn_offset,
                 base_name(f->module));
    } else if (f->function && f->module) {
        snprintf(buf, len, "%s (%s)", f->function, base_name(f->module));
    } else if (f->function) {
        snprintf(buf, len, "%s", f->function);
    } else if (f->module) {
        snprintf(buf, len, "0x%" PRIx64 " (%s+0x%" PRIx64 ")", f->pc, base_name(f->module),
                 f->offset);
    } else {
        snprintf(buf, len, "0x%" PRIx64, f->pc);
    }
    return buf;
}

/* ---- data ---- */

bool tg_symbols_data(struct tg_symbols *s, uint32_t process, uint64_t addr,
                     char *name, size_t namelen, char *type, size_t typelen)
{
    if (namelen)
        name[0] = '\0';
    if (type && typelen)
        type[0] = '\0';
    struct procmod *m = module_at(s, process, addr);
    const char *symbol;
    uint64_t off;
    if (!m || !tg_symbols_symfile_data(m->file, addr - m->base, name, namelen, type, typelen,
                                       &symbol, &off))
        return false;
    if (symbol) {
        /* Only a symbol: a copy-relocated library variable is typed by the
         * library that defines it (clang emits no declaration for it). */
        struct proc *p = proc_for(s, process);
        for (size_t i = 0; p && i < p->nmods; i++) {
            struct procmod *other = &p->mods[i];
            if (other == m || (!other->file && !(other->file = file_for(s, other->path))))
                continue;
            if (tg_symbols_symfile_named(other->file, symbol, off, name, namelen, type, typelen))
                break;
        }
    }
    return true;
}

/* The frame a person calls "where": the first with a source line outside
 * tangle's own library, else the first with a function name, else the
 * first. */
static bool site_frame(struct tg_symbols *s, uint32_t process, uint32_t stack,
                       struct tg_frame *site)
{
    const uint64_t *frames;
    uint32_t n;
    if (!stack || !s->src.stack || !s->src.stack(s->src.ctx, stack, &frames, &n) || n == 0)
        return false;
    int best = -1, named = -1;
    for (uint32_t i = 0; i < n && best < 0; i++) {
        struct tg_frame f;
        if (!tg_symbols_frame(s, process, frames[i], &f) || !f.function)
            continue;
        if (f.module && strncmp(base_name(f.module), "libtangle", 9) == 0)
            continue;
        if (named < 0)
            named = (int)i;
        if (f.file && f.line > 0)
            best = (int)i;
    }
    int pick = best >= 0 ? best : named >= 0 ? named : 0;
    tg_symbols_frame(s, process, frames[pick], site);
    return true;
}

const char *tg_symbols_object_name(struct tg_symbols *s, uint32_t process,
                                   uint64_t addr, const char *what,
                                   uint32_t site_stack, bool first_use,
                                   char *buf, size_t len)
{
    if (!len)
        return buf;
    if (tg_symbols_data(s, process, addr, buf, len, NULL, 0))
        return buf;
    if (!what)
        what = "object";
    struct tg_frame site;
    if (site_frame(s, process, site_stack, &site)) {
        char where[512];
        const char *how = !first_use ? "initialised"
                          : strstr(what, "lock") || strstr(what, "mutex") ? "first locked"
                                                                        : "first used";
        site.inlined_into = NULL;   /* a name, not a stack: keep it short */
        snprintf(buf, len, "%s %s at %s", what, how,
                 tg_symbols_format_frame(&site, where, sizeof where));
    } else {
        snprintf(buf, len, "%s 0x%" PRIx64, what, addr);
    }
    return buf;
}
