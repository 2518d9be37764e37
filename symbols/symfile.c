/* One ELF file on disk, opened with libdwfl, and what was learnt from it.
 *
 * The file is reported to its own Dwfl at bias 0, so libdwfl addresses are
 * the file's link-time addresses (ET_DYN from 0, ET_EXEC at its own): every
 * process that maps it, at whatever load bias, shares this one parse.
 * libdwfl finds separate debug info the usual way (.gnu_debuglink, build-id
 * under /usr/lib/debug, debuginfod when DEBUGINFOD_URLS is set).
 */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/internal.h"

struct objsym {
    uint64_t addr, size;
    const char *name;
    bool global;
};

struct data_info {
    bool found;
    const char *name, *type;
    const char *symbol;         /* set when only a global ELF symbol told */
    uint64_t symoff;
};

struct curange {
    Dwarf_Addr lo, hi;
    Dwarf_Die cu;
};

struct symfile {
    Dwfl *dwfl;                 /* NULL when the file could not be read */
    Dwfl_Module *mod;
    struct arena arena;         /* code_info records and derived strings */

    bool dwarf_tried;
    Dwarf *dwarf;
    Dwarf_Addr dwarf_bias;

    struct srcnames *names;     /* built on the first source line */
    struct datavars *vars;      /* built on the first data lookup */
    bool vars_tried;
    struct objsym *objs;        /* OBJECT symbols, sorted; first data lookup */
    size_t nobjs;
    bool objs_tried;
    struct objsym *funcs;       /* FUNC symbols, sorted; first code lookup */
    size_t nfuncs;
    bool funcs_tried;

    struct curange *curanges;   /* when .debug_aranges does not tell */
    size_t ncuranges, capcuranges;
    bool curanges_tried;

    struct tg_u64map cuscope_index;    /* CU DIE offset -> index in cuscopes */
    struct cuscopes **cuscopes;
    size_t ncuscopes, capcuscopes;

    struct tg_u64map data_cache;   /* vaddr -> index in datas */
    struct data_info *datas;
    size_t ndatas, capdatas;

    struct tg_u64map cache;        /* vaddr -> index in infos */
    struct code_info **infos;
    size_t ninfos, capinfos;
};

static char *debuginfo_path;    /* NULL: libdwfl's default search path */

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

struct symfile *tg_symbols_symfile_open(const char *path)
{
    struct symfile *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->dwfl = dwfl_begin(&offline_callbacks);
    if (!f->dwfl)
        return f;
    const char *slash = strrchr(path, '/');
    dwfl_report_begin(f->dwfl);
    f->mod = dwfl_report_elf(f->dwfl, slash ? slash + 1 : path, path, -1, 0, false);
    dwfl_report_end(f->dwfl, NULL, NULL);
    if (!f->mod) {
        dwfl_end(f->dwfl);
        f->dwfl = NULL;
    }
    return f;
}

void tg_symbols_symfile_close(struct symfile *f)
{
    if (!f)
        return;
    tg_symbols_srcnames_free(f->names);
    tg_symbols_datavars_free(f->vars);
    free(f->objs);
    free(f->funcs);
    free(f->curanges);
    for (size_t i = 0; i < f->ncuscopes; i++)
        tg_symbols_cuscopes_free(f->cuscopes[i]);
    free(f->cuscopes);
    tg_u64map_free(&f->cuscope_index);
    tg_u64map_free(&f->cache);
    tg_u64map_free(&f->data_cache);
    free(f->datas);
    free(f->infos);
    if (f->dwfl)
        dwfl_end(f->dwfl);
    tg_symbols_arena_free(&f->arena);
    free(f);
}

static Dwarf *get_dwarf(struct symfile *f)
{
    if (!f->dwarf_tried && f->mod) {
        f->dwarf_tried = true;
        f->dwarf = dwfl_module_getdwarf(f->mod, &f->dwarf_bias);
    }
    return f->dwarf;
}

/* Dynamic symbols carry their version ("pthread_mutex_lock@@GLIBC_2.2.5");
 * a person wants the function's name. */
static const char *unversioned(struct symfile *f, const char *name)
{
    const char *at = strchr(name, '@');
    return at && at != name ? tg_symbols_arena_strndup(&f->arena, name, (size_t)(at - name))
                            : name;
}

static const char *short_file(struct symfile *f, Dwarf_Die *cu, const char *full)
{
    if (!f->names) {
        f->names = tg_symbols_srcnames_new(get_dwarf(f), &f->arena);
        if (!f->names)
            return NULL;
    }
    return tg_symbols_srcnames_get(f->names, cu, full);
}

static const char *call_file(struct symfile *f, Dwarf_Die *cu, Dwarf_Die *inlined)
{
    Dwarf_Attribute attr;
    Dwarf_Word index;
    Dwarf_Files *files;
    size_t nfiles;
    if (!dwarf_attr(inlined, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &index) != 0
        || dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || index >= nfiles)
        return NULL;
    const char *full = dwarf_filesrc(files, index, NULL, NULL);
    return full ? short_file(f, cu, full) : NULL;
}

static int cmp_curange(const void *a, const void *b)
{
    const struct curange *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The compilation units' own address ranges. libdw 0.188 finds a CU for an
 * address only through .debug_aranges, which clang does not emit. */
static void load_curanges(struct symfile *f)
{
    f->curanges_tried = true;
    Dwarf *dw = get_dwarf(f);
    Dwarf_CU *cu = NULL;
    Dwarf_Die cudie;
    while (dw && dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL) == 0) {
        Dwarf_Addr base, lo, hi;
        ptrdiff_t off = 0;
        while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
            if (lo >= hi)
                continue;
            if (!tg_symbols_grow_array(&f->curanges, &f->capcuranges, f->ncuranges + 1,
                                       sizeof *f->curanges))
                return;
            f->curanges[f->ncuranges++] = (struct curange){ .lo = lo, .hi = hi, .cu = cudie };
        }
    }
    if (f->ncuranges)
        qsort(f->curanges, f->ncuranges, sizeof *f->curanges, cmp_curange);
}

/* The CU covering VADDR; *ADDR becomes VADDR in the Dwarf's address space. */
static bool cu_at(struct symfile *f, uint64_t vaddr, Dwarf_Die *cu, Dwarf_Addr *addr)
{
    Dwarf_Addr bias;
    Dwarf_Die *die = dwfl_module_addrdie(f->mod, vaddr, &bias);
    if (die) {
        *cu = *die;
        *addr = vaddr - bias;
        return true;
    }
    if (!f->curanges_tried)
        load_curanges(f);
    if (!f->dwarf)
        return false;
    *addr = vaddr - f->dwarf_bias;
    size_t lo = 0, hi = f->ncuranges;   /* first range starting above addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->curanges[mid].lo <= *addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i-- > 0 && lo - i <= 16;) {   /* ranges may nest a little */
        if (*addr < f->curanges[i].hi) {
            *cu = f->curanges[i].cu;
            return true;
        }
    }
    return false;
}

/* The caches map an address or DIE offset to an index in an array. */
static bool index_get(const struct tg_u64map *m, uint64_t key, uint32_t *index)
{
    const uint64_t *v = tg_u64map_find(m, key);
    if (v)
        *index = (uint32_t)*v;
    return v != NULL;
}

static bool index_put(struct tg_u64map *m, uint64_t key, uint32_t index)
{
    uint64_t *v = tg_u64map_slot(m, key);
    if (v)
        *v = index;
    return v != NULL;
}

static struct cuscopes *scopes_of(struct symfile *f, Dwarf_Die *cu)
{
    uint64_t key = dwarf_dieoffset(cu);
    uint32_t index;
    if (index_get(&f->cuscope_index, key, &index))
        return f->cuscopes[index];
    struct cuscopes *c = tg_symbols_cuscopes_new(cu);
    if (!c || !tg_symbols_grow_array(&f->cuscopes, &f->capcuscopes, f->ncuscopes + 1,
                                     sizeof *f->cuscopes)
        || !index_put(&f->cuscope_index, key, (uint32_t)f->ncuscopes)) {
        tg_symbols_cuscopes_free(c);
        return NULL;
    }
    f->cuscopes[f->ncuscopes++] = c;
    return c;
}

/* Levels from DWARF: the innermost function, then each function an inlined
 * one was inlined into, ending at the emitted subprogram. (dwarf_getscopes
 * would give an inlined instance's abstract definition, whose parent is the
 * CU, rather than its caller; and it walks the CU on every call.) */
static void dwarf_levels(struct symfile *f, Dwarf_Die *cu, Dwarf_Addr addr,
                         struct code_info *info)
{
    struct cuscopes *c = scopes_of(f, cu);
    int32_t innermost = c ? tg_symbols_cuscopes_find(c, addr) : -1;
    size_t nfun = 0;
    for (int32_t i = innermost; i >= 0; i = tg_symbols_cuscopes_node(c, i)->parent)
        nfun++;
    if (nfun == 0)
        return;
    struct code_level *levels = nfun > 1
        ? tg_symbols_arena_alloc(&f->arena, nfun * sizeof *levels) : info->levels;
    if (!levels)
        return;
    memset(levels, 0, nfun * sizeof *levels);
    info->levels = levels;
    info->nlevels = (uint32_t)nfun;
    size_t k = 0;
    for (int32_t i = innermost; i >= 0; k++) {
        const struct scope_node *node = tg_symbols_cuscopes_node(c, i);
        Dwarf_Die die = node->die;
        levels[k].function = dwarf_diename(&die);
        if (k + 1 < nfun) {
            Dwarf_Attribute attr;
            Dwarf_Word line = 0;
            if (dwarf_attr(&die, DW_AT_call_line, &attr))
                dwarf_formudata(&attr, &line);
            levels[k + 1].file = call_file(f, cu, &die);
            levels[k + 1].line = (int)line;
        }
        i = node->parent;
    }
}

static unsigned underscores(const char *s)
{
    unsigned n = 0;
    while (s[n] == '_')
        n++;
    return n;
}

static int cmp_sym(const void *a, const void *b)
{
    const struct objsym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    /* Aliases: global before local, the plainest name, then by name, so the
     * choice does not depend on the symbol table's order. */
    if (x->global != y->global)
        return x->global ? -1 : 1;
    unsigned ux = underscores(x->name), uy = underscores(y->name);
    if (ux != uy)
        return ux < uy ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Symbols of TYPES (a bit per STT_ value) from the symbol tables libdwfl
 * found (.symtab of the file or its debug file, else .dynsym), sorted. */
static void load_symbols(struct symfile *f, unsigned types, struct objsym **out, size_t *nout)
{
    size_t cap = 0;
    int n = f->mod ? dwfl_module_getsymtab(f->mod) : -1;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        const char *name = dwfl_module_getsym_info(f->mod, i, &sym, &addr, &shndx, NULL, NULL);
        if (!name || !*name || sym.st_shndx == SHN_UNDEF
            || !(types & (1u << GELF_ST_TYPE(sym.st_info))))
            continue;
        name = unversioned(f, name);
        if (!name || !tg_symbols_grow_array(out, &cap, *nout + 1, sizeof **out))
            break;
        (*out)[(*nout)++] = (struct objsym){ .addr = addr, .size = sym.st_size, .name = name,
                                             .global = GELF_ST_BIND(sym.st_info) != STB_LOCAL };
    }
    if (*nout)
        qsort(*out, *nout, sizeof **out, cmp_sym);
}

/* The symbol covering VADDR: a sized one that holds it, or one of size 0
 * at or below it with no sized symbol in between (as libdwfl chooses). */
static const struct objsym *covering(const struct objsym *syms, size_t n, uint64_t vaddr,
                                     bool sizeless)
{
    size_t lo = 0, hi = n;      /* first with addr > vaddr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (syms[mid].addr <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i-- > 0 && lo - i <= 64;) {
        const struct objsym *s = &syms[i];
        if (vaddr - s->addr < (s->size ? s->size : 1) || (sizeless && s->size == 0)) {
            while (i > 0 && syms[i - 1].addr == s->addr && syms[i - 1].size >= s->size)
                s = &syms[--i];     /* the preferred alias */
            return s;
        }
        if (s->size && vaddr - s->addr >= s->size && sizeless)
            break;              /* ends below VADDR: nothing further back holds it */
    }
    return NULL;
}

static struct code_info *lookup_code(struct symfile *f, uint64_t vaddr)
{
    struct code_info *info = tg_symbols_arena_alloc(&f->arena, sizeof *info);
    struct code_level *level = tg_symbols_arena_alloc(&f->arena, sizeof *level);
    if (!info || !level)
        return NULL;
    *info = (struct code_info){ .nlevels = 1, .levels = level };
    *level = (struct code_level){0};
    if (!f->mod)
        return info;

    /* dwfl_module_addrinfo scans the whole symbol table on each call (80 us
     * for a small program, 240 us in libc), so the functions are sorted once. */
    if (!f->funcs_tried) {
        f->funcs_tried = true;
        load_symbols(f, 1u << STT_FUNC | 1u << STT_GNU_IFUNC, &f->funcs, &f->nfuncs);
    }
    const struct objsym *fn = covering(f->funcs, f->nfuncs, vaddr, true);
    const char *symname = fn ? fn->name : NULL;
    if (fn) {
        info->has_symbol = true;
        info->sym_start = fn->addr;
    }
    Dwarf_Die cu;
    Dwarf_Addr addr;
    if (cu_at(f, vaddr, &cu, &addr)) {
        dwarf_levels(f, &cu, addr, info);
        Dwarf_Line *line = dwarf_getsrc_die(&cu, addr);
        int lineno = 0;
        const char *full = line ? dwarf_linesrc(line, NULL, NULL) : NULL;
        if (full && dwarf_lineno(line, &lineno) == 0 && lineno > 0) {
            info->levels[0].file = short_file(f, &cu, full);
            info->levels[0].line = lineno;
        }
    }
    if (!info->levels[info->nlevels - 1].function)
        info->levels[info->nlevels - 1].function = symname;
    return info;
}

const struct code_info *tg_symbols_symfile_code(struct symfile *f, uint64_t vaddr)
{
    uint32_t index;
    if (index_get(&f->cache, vaddr, &index))
        return f->infos[index];
    struct code_info *info = lookup_code(f, vaddr);
    if (!info || !tg_symbols_grow_array(&f->infos, &f->capinfos, f->ninfos + 1, sizeof *f->infos))
        return NULL;
    if (!index_put(&f->cache, vaddr, (uint32_t)f->ninfos))
        return info;            /* answered, just not remembered */
    f->infos[f->ninfos++] = info;
    return info;
}

/* ---- data: ELF OBJECT symbols, for files without debug info ---- */

static const struct objsym *covering_object(struct symfile *f, uint64_t vaddr)
{
    if (!f->objs_tried) {
        f->objs_tried = true;
        load_symbols(f, 1u << STT_OBJECT | 1u << STT_COMMON, &f->objs, &f->nobjs);
    }
    return covering(f->objs, f->nobjs, vaddr, false);
}

static struct datavars *vars_of(struct symfile *f)
{
    if (!f->vars_tried) {
        f->vars_tried = true;
        Dwarf *dw = get_dwarf(f);
        if (dw)
            f->vars = tg_symbols_datavars_new(dw, f->dwarf_bias);
    }
    return f->vars;
}

bool tg_symbols_symfile_named(struct symfile *f, const char *symbol, uint64_t off,
                              char *name, size_t namelen, char *type, size_t typelen)
{
    struct datavars *vars = f->mod ? vars_of(f) : NULL;
    return vars && tg_symbols_datavars_named(vars, symbol, off, name, namelen, type, typelen);
}

/* The uncached lookup, into buffers big enough for any real name. */
static bool find_data(struct symfile *f, uint64_t vaddr, struct data_info *out,
                      char *name, size_t namelen, char *type, size_t typelen)
{
    struct datavars *vars = vars_of(f);
    name[0] = type[0] = '\0';
    if (vars && tg_symbols_datavars_lookup(vars, vaddr, name, namelen, type, typelen))
        return true;
    const struct objsym *o = covering_object(f, vaddr);
    if (!o)
        return false;
    uint64_t off = vaddr - o->addr;
    if (vars && tg_symbols_datavars_named(vars, o->name, off, name, namelen, type, typelen))
        return true;
    if (off == 0)
        tg_symbols_copy_str(name, namelen, o->name);
    else
        snprintf(name, namelen, "%s+0x%" PRIx64, o->name, off);
    if (o->global) {
        out->symbol = o->name;
        out->symoff = off;
    }
    return true;
}

static const struct data_info *data_at(struct symfile *f, uint64_t vaddr)
{
    uint32_t index;
    if (index_get(&f->data_cache, vaddr, &index))
        return &f->datas[index];
    struct data_info info = {0};
    char name[1024], type[512];
    info.found = find_data(f, vaddr, &info, name, sizeof name, type, sizeof type);
    if (info.found) {
        info.name = tg_symbols_arena_strdup(&f->arena, name);
        info.type = tg_symbols_arena_strdup(&f->arena, type);
        if (!info.name || !info.type)
            return NULL;
    }
    if (!tg_symbols_grow_array(&f->datas, &f->capdatas, f->ndatas + 1, sizeof *f->datas)
        || !index_put(&f->data_cache, vaddr, (uint32_t)f->ndatas))
        return NULL;
    f->datas[f->ndatas] = info;
    return &f->datas[f->ndatas++];
}

bool tg_symbols_symfile_data(struct symfile *f, uint64_t vaddr, char *name, size_t namelen,
                             char *type, size_t typelen, const char **symbol, uint64_t *symoff)
{
    if (symbol)
        *symbol = NULL;
    const struct data_info *info = f->mod ? data_at(f, vaddr) : NULL;
    if (!info || !info->found)
        return false;
    tg_symbols_copy_str(name, namelen, info->name);
    if (type)
        tg_symbols_copy_str(type, typelen, info->type);
    if (symbol && info->symbol) {
        *symbol = info->symbol;
        *symoff = info->symoff;
    }
    return true;
}
