/* Global variables from DWARF: which variable covers an address, and the
 * path through its type down to what the address is ("philosophers[2].left").
 *
 * The index holds every DW_TAG_variable whose location is a single
 * DW_OP_addr (or DW_OP_addrx, which clang emits for DWARF 5): file-scope
 * globals, file-local statics and function-local statics. Thread-locals
 * (their location adds a TLS operator) and locals on the stack are left out.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/internal.h"

struct datavar {
    uint64_t addr, size;        /* addr in the Dwarf's address space */
    Dwarf_Die die;
    const char *scope;          /* enclosing function of a static local */
};

/* Global variables by name, declarations ("extern pthread_mutex_t
 * lib_lock;") and exported definitions: a program that uses a library's
 * variable gets its own copy (a copy relocation), which the program's symbol
 * table names but only these type. */
struct datadecl {
    const char *name;
    Dwarf_Die die;
};

struct datavars {
    struct datavar *vars;       /* sorted by addr */
    size_t count, cap;
    struct datadecl *decls;     /* sorted by name */
    size_t ndecls, capdecls;
    uint64_t bias;              /* vaddr = Dwarf address + bias */
};

/* A growing string that silently truncates at its end. */
struct sbuf {
    char *buf;
    size_t len, pos;
};

static void sb_add(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len && b->pos < b->len - 1) {
        size_t k = n < b->len - 1 - b->pos ? n : b->len - 1 - b->pos;
        memcpy(b->buf + b->pos, s, k);
        b->buf[b->pos + k] = '\0';
    }
    b->pos += n;
}

static void sb_fmt(struct sbuf *b, const char *fmt, uint64_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, fmt, v);
    sb_add(b, tmp);
}

static bool type_of(Dwarf_Die *die, Dwarf_Die *type)
{
    Dwarf_Attribute attr;
    return dwarf_attr_integrate(die, DW_AT_type, &attr) && dwarf_formref_die(&attr, type);
}

static bool udata(Dwarf_Die *die, unsigned name, Dwarf_Word *v)
{
    Dwarf_Attribute attr;
    return dwarf_attr_integrate(die, name, &attr) && dwarf_formudata(&attr, v) == 0;
}

/* The address of a variable whose location is one address operator. */
static bool static_address(Dwarf_Die *var, Dwarf_Addr *addr)
{
    Dwarf_Attribute attr;
    Dwarf_Op *ops;
    size_t nops;
    if (!dwarf_attr(var, DW_AT_location, &attr) || dwarf_getlocation(&attr, &ops, &nops) != 0
        || nops != 1)
        return false;
    if (ops[0].atom == DW_OP_addr) {
        *addr = ops[0].number;
        return true;
    }
    if (ops[0].atom == DW_OP_addrx || ops[0].atom == DW_OP_GNU_addr_index) {
        Dwarf_Attribute slot;
        return dwarf_getlocation_attr(&attr, &ops[0], &slot) == 0
               && dwarf_formaddr(&slot, addr) == 0;
    }
    return false;
}

static bool add_decl(struct datavars *v, Dwarf_Die *die, const char *name)
{
    if (!dwarf_hasattr(die, DW_AT_declaration) || !dwarf_hasattr_integrate(die, DW_AT_type))
        return true;
    if (!tg_symbols_grow_array(&v->decls, &v->capdecls, v->ndecls + 1, sizeof *v->decls))
        return false;
    v->decls[v->ndecls++] = (struct datadecl){ .name = name, .die = *die };
    return true;
}

static bool add_var(struct datavars *v, Dwarf_Die *die, const char *scope)
{
    Dwarf_Addr addr;
    Dwarf_Die type;
    Dwarf_Word size = 0;
    const char *name = dwarf_diename(die);
    if (!name)
        return true;
    if (!static_address(die, &addr))
        return scope ? true : add_decl(v, die, name);
    if (type_of(die, &type) && dwarf_aggregate_size(&type, &size) != 0)
        size = 0;
    if (!tg_symbols_grow_array(&v->vars, &v->cap, v->count + 1, sizeof *v->vars))
        return false;
    v->vars[v->count++] = (struct datavar){ .addr = addr, .size = size, .die = *die,
                                            .scope = scope };
    /* An exported definition also types the copies other modules make. */
    if (!scope && dwarf_hasattr(die, DW_AT_external)) {
        if (!tg_symbols_grow_array(&v->decls, &v->capdecls, v->ndecls + 1, sizeof *v->decls))
            return false;
        v->decls[v->ndecls++] = (struct datadecl){ .name = name, .die = *die };
    }
    return true;
}

static bool walk(struct datavars *v, Dwarf_Die *parent, const char *scope)
{
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0)
        return true;
    do {
        switch (dwarf_tag(&child)) {
        case DW_TAG_variable:
            if (!add_var(v, &child, scope))
                return false;
            break;
        case DW_TAG_subprogram:
            /* Static locals: concrete out-of-line instances and abstract
             * ones both nest them; the address dedup keeps one. */
            if (!walk(v, &child, dwarf_diename(&child)))
                return false;
            break;
        case DW_TAG_lexical_block:
        case DW_TAG_namespace:
            if (!walk(v, &child, scope))
                return false;
            break;
        default:
            break;              /* types, parameters, inlined instances */
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return true;
}

static int cmp_addr(const void *a, const void *b)
{
    const struct datavar *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    /* Same address: the larger object first (the dedup keeps it). */
    return x->size != y->size ? (x->size > y->size ? -1 : 1) : 0;
}

static int cmp_decl(const void *a, const void *b)
{
    return strcmp(((const struct datadecl *)a)->name, ((const struct datadecl *)b)->name);
}

struct datavars *tg_symbols_datavars_new(Dwarf *dw, uint64_t bias)
{
    struct datavars *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->bias = bias;
    Dwarf_CU *cu = NULL;
    Dwarf_Die cudie;
    while (dw && dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL) == 0) {
        if (!walk(v, &cudie, NULL)) {
            tg_symbols_datavars_free(v);
            return NULL;
        }
    }
    if (v->count) {
        qsort(v->vars, v->count, sizeof *v->vars, cmp_addr);
        size_t out = 1;
        for (size_t i = 1; i < v->count; i++)
            if (v->vars[i].addr != v->vars[out - 1].addr)
                v->vars[out++] = v->vars[i];
        v->count = out;
    }
    if (v->ndecls)
        qsort(v->decls, v->ndecls, sizeof *v->decls, cmp_decl);
    return v;
}

void tg_symbols_datavars_free(struct datavars *v)
{
    if (!v)
        return;
    free(v->vars);
    free(v->decls);
    free(v);
}

/* ---- C type names ---- */

static void type_name(Dwarf_Die *type, struct sbuf *b, int depth);

static void type_name_of(Dwarf_Die *die, struct sbuf *b, int depth)
{
    Dwarf_Die inner;
    if (type_of(die, &inner))
        type_name(&inner, b, depth + 1);
    else
        sb_add(b, "void");
}

static void array_dims(Dwarf_Die *array, struct sbuf *b)
{
    Dwarf_Die sub;
    if (dwarf_child(array, &sub) != 0)
        return;
    do {
        if (dwarf_tag(&sub) != DW_TAG_subrange_type)
            continue;
        Dwarf_Word count, upper;
        if (udata(&sub, DW_AT_count, &count))
            sb_fmt(b, "[%" PRIu64 "]", count);
        else if (udata(&sub, DW_AT_upper_bound, &upper))
            sb_fmt(b, "[%" PRIu64 "]", upper + 1);
        else
            sb_add(b, "[]");
    } while (dwarf_siblingof(&sub, &sub) == 0);
}

static void type_name(Dwarf_Die *type, struct sbuf *b, int depth)
{
    if (depth > 16) {           /* a malformed cycle */
        sb_add(b, "?");
        return;
    }
    const char *name = dwarf_diename(type);
    Dwarf_Die inner;
    switch (dwarf_tag(type)) {
    case DW_TAG_structure_type:
    case DW_TAG_class_type:
        sb_add(b, "struct ");
        sb_add(b, name ? name : "{...}");
        break;
    case DW_TAG_union_type:
        sb_add(b, "union ");
        sb_add(b, name ? name : "{...}");
        break;
    case DW_TAG_enumeration_type:
        sb_add(b, "enum ");
        sb_add(b, name ? name : "{...}");
        break;
    case DW_TAG_const_type:
        sb_add(b, "const ");
        type_name_of(type, b, depth);
        break;
    case DW_TAG_volatile_type:
        sb_add(b, "volatile ");
        type_name_of(type, b, depth);
        break;
    case DW_TAG_atomic_type:
        sb_add(b, "_Atomic ");
        type_name_of(type, b, depth);
        break;
    case DW_TAG_restrict_type:
        type_name_of(type, b, depth);
        break;
    case DW_TAG_pointer_type:
        if (type_of(type, &inner) && dwarf_tag(&inner) == DW_TAG_subroutine_type) {
            type_name_of(&inner, b, depth);
            sb_add(b, " (*)()");
        } else {
            size_t before = b->pos;
            type_name_of(type, b, depth);
            bool star = b->pos > before && b->len && b->pos <= b->len - 1
                        && b->buf[b->pos - 1] == '*';
            sb_add(b, star ? "*" : " *");
        }
        break;
    case DW_TAG_array_type:
        type_name_of(type, b, depth);
        sb_add(b, " ");
        array_dims(type, b);
        break;
    case DW_TAG_subroutine_type:
        type_name_of(type, b, depth);
        sb_add(b, " ()");
        break;
    default:                    /* base types, typedefs */
        sb_add(b, name ? name : "?");
        break;
    }
}

/* ---- descending into a variable's type ---- */

static bool member_offset(Dwarf_Die *member, Dwarf_Word *off)
{
    Dwarf_Attribute attr;
    if (dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)) {
        if (dwarf_formudata(&attr, off) == 0)
            return true;
        Dwarf_Op *ops;          /* DWARF 2 style: DW_OP_plus_uconst N */
        size_t nops;
        if (dwarf_getlocation(&attr, &ops, &nops) == 0 && nops == 1
            && ops[0].atom == DW_OP_plus_uconst) {
            *off = ops[0].number;
            return true;
        }
        return false;
    }
    Dwarf_Word bits;
    *off = udata(member, DW_AT_data_bit_offset, &bits) ? bits / 8 : 0;
    return true;                /* union members have no location */
}

/* The member of struct/union AGG covering OFF; false in padding. */
static bool find_member(Dwarf_Die *agg, uint64_t off, Dwarf_Die *member, uint64_t *start)
{
    Dwarf_Die m;
    if (dwarf_child(agg, &m) != 0)
        return false;
    do {
        Dwarf_Die mtype;
        Dwarf_Word moff, msize;
        if (dwarf_tag(&m) != DW_TAG_member || !member_offset(&m, &moff)
            || !type_of(&m, &mtype) || dwarf_aggregate_size(&mtype, &msize) != 0)
            continue;
        if (off >= moff && off - moff < (msize ? msize : 1)) {
            *member = m;
            *start = moff;
            return true;
        }
    } while (dwarf_siblingof(&m, &m) == 0);
    return false;
}

/* Appends "[i][j]" for OFF inside ARRAY; leaves *off inside the element and
 * *elem its type. False when the element size or a dimension is unknown. */
static bool index_array(Dwarf_Die *array, uint64_t *off, Dwarf_Die *elem, struct sbuf *name)
{
    Dwarf_Word esize, counts[8];
    size_t ndims = 0;
    if (!type_of(array, elem) || dwarf_aggregate_size(elem, &esize) != 0 || esize == 0)
        return false;
    Dwarf_Die sub;
    if (dwarf_child(array, &sub) == 0) {
        do {
            if (dwarf_tag(&sub) != DW_TAG_subrange_type)
                continue;
            if (ndims == 8)
                return false;
            Dwarf_Word count = 0, upper, lower = 0;
            if (!udata(&sub, DW_AT_count, &count) && udata(&sub, DW_AT_upper_bound, &upper)) {
                udata(&sub, DW_AT_lower_bound, &lower);
                count = upper - lower + 1;
            }
            counts[ndims++] = count;
        } while (dwarf_siblingof(&sub, &sub) == 0);
    }
    if (ndims == 0)
        counts[ndims++] = 0;
    uint64_t stride = esize;
    for (size_t d = 1; d < ndims; d++) {
        if (counts[d] == 0)
            return false;
        stride *= counts[d];
    }
    for (size_t d = 0; d < ndims; d++) {
        uint64_t i = *off / stride;
        if (counts[d] && i >= counts[d])
            return false;
        sb_fmt(name, "[%" PRIu64 "]", i);
        *off -= i * stride;
        if (d + 1 < ndims)
            stride /= counts[d + 1];
    }
    return true;
}

/* Walks from a variable of type TYPE down to what OFF points at, appending
 * to NAME; leaves *type the (unpeeled) type of what was reached. Stops at
 * scalars, pointers and named unions (pthread_mutex_t is a union of its
 * fields and a char array: neither is what a person means). */
static uint64_t descend(Dwarf_Die *type, uint64_t off, struct sbuf *name)
{
    bool anonymous = false;     /* reached through an unnamed member */
    for (int depth = 0; depth < 32; depth++) {
        Dwarf_Die peeled, next;
        uint64_t start;
        if (dwarf_peel_type(type, &peeled) != 0)
            break;
        int tag = dwarf_tag(&peeled);
        if (tag == DW_TAG_array_type) {
            if (!index_array(&peeled, &off, &next, name))
                break;
            *type = next;
            anonymous = false;
            continue;
        }
        bool agg = tag == DW_TAG_structure_type || tag == DW_TAG_class_type
                   || (tag == DW_TAG_union_type && anonymous);
        if (!agg || !find_member(&peeled, off, &next, &start))
            break;
        const char *mname = dwarf_diename(&next);
        if (mname) {
            sb_add(name, ".");
            sb_add(name, mname);
        }
        anonymous = mname == NULL;
        off -= start;
        if (!type_of(&next, type))
            break;
    }
    return off;
}

static int cmp_key(const void *key, const void *elem)
{
    uint64_t a = *(const uint64_t *)key;
    const struct datavar *v = elem;
    return a < v->addr ? -1 : a > v->addr ? 1 : 0;
}

static const struct datavar *covering(const struct datavars *v, uint64_t addr)
{
    if (!v->count || addr < v->vars[0].addr)
        return NULL;
    const struct datavar *hit = bsearch(&addr, v->vars, v->count, sizeof *v->vars, cmp_key);
    if (!hit) {
        size_t lo = 0, hi = v->count;     /* last with addr <= ADDR */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (v->vars[mid].addr <= addr)
                lo = mid;
            else
                hi = mid;
        }
        hit = &v->vars[lo];
    }
    uint64_t size = hit->size ? hit->size : 1;
    return addr - hit->addr < size ? hit : NULL;
}

/* Writes SCOPE::NAME and the path OFF bytes into the variable DIE. */
static void describe(Dwarf_Die *die, const char *scope, const char *name, uint64_t off,
                     char *out, size_t outlen, char *type, size_t typelen)
{
    struct sbuf nb = { out, outlen, 0 };
    if (outlen)
        out[0] = '\0';
    if (scope) {
        sb_add(&nb, scope);
        sb_add(&nb, "::");
    }
    sb_add(&nb, name);
    Dwarf_Die t;
    bool typed = type_of(die, &t);
    uint64_t rest = typed ? descend(&t, off, &nb) : off;
    if (rest)
        sb_fmt(&nb, "+0x%" PRIx64, rest);
    if (type && typelen) {
        struct sbuf tb = { type, typelen, 0 };
        type[0] = '\0';
        if (typed)
            type_name(&t, &tb, 0);
    }
}

bool tg_symbols_datavars_lookup(struct datavars *v, uint64_t vaddr, char *name, size_t namelen,
                                char *type, size_t typelen)
{
    uint64_t addr = vaddr - v->bias;
    const struct datavar *var = covering(v, addr);
    if (!var)
        return false;
    Dwarf_Die die = var->die;
    describe(&die, var->scope, dwarf_diename(&die), addr - var->addr, name, namelen, type,
             typelen);
    return true;
}

bool tg_symbols_datavars_named(struct datavars *v, const char *symbol, uint64_t off,
                                  char *name, size_t namelen, char *type, size_t typelen)
{
    struct datadecl key = { .name = symbol };
    if (!v->ndecls)
        return false;
    const struct datadecl *d = bsearch(&key, v->decls, v->ndecls, sizeof *v->decls, cmp_decl);
    if (!d)
        return false;
    Dwarf_Die die = d->die;
    describe(&die, NULL, symbol, off, name, namelen, type, typelen);
    return true;
}
