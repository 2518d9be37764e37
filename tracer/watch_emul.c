/* tracer/: running the common accesses to a watched page without opening
 * it. Opening the page for one thread's single step opens it for every
 * thread, and an access another thread makes then goes unseen; so the
 * instructions compilers emit for plain scalar accesses are carried out by
 * the handler instead, on the memory behind the page through /proc/self/mem
 * (which the kernel lets us read and write whatever the protection), with
 * the registers and flags of the signal context:
 *   mov r,m / mov m,r / mov m,imm, movzx, movsx, movsxd,
 *   add or adc sbb and sub xor cmp (m,r / r,m / m,imm), inc, dec, test,
 *   and the atomics glibc's locks use: xchg, cmpxchg, xadd (with lock),
 *   and call, jmp and push through memory (the PLT jumps through the GOT,
 *   which is often on the same page as the globals).
 * Everything else is single-stepped (watch.c). The watch lock is held, so
 * an emulated read-modify-write is atomic with respect to every other
 * access to the watched pages, which all fault and queue on the lock. */
#include <fcntl.h>
#include <string.h>
#include <ucontext.h>

#include "tracer/watch.h"

#define FLAGS_ARITH 0x8d5ull    /* CF PF AF ZF SF OF */

static int mem_fd = -1;

int tg_watch_emul_init(void)
{
    int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* out of the way of the program's own descriptors */
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 900);
    if (high >= 0) {
        close(fd);
        fd = high;
    }
    mem_fd = fd;
    return 0;
}

void tg_watch_emul_after_fork(void)
{
    /* /proc/self/mem of the parent: the child needs its own */
    if (mem_fd >= 0) {
        int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            dup3(fd, mem_fd, O_CLOEXEC);
            close(fd);
        }
    }
}

static bool mem_read(uintptr_t addr, void *buf, unsigned size)
{
    return pread(mem_fd, buf, size, (off_t)addr) == (ssize_t)size;
}

bool tg_watch_peek(uintptr_t addr, void *buf, unsigned size)
{
    return mem_fd >= 0 && mem_read(addr, buf, size);
}

static bool mem_write(uintptr_t addr, const void *buf, unsigned size)
{
    return pwrite(mem_fd, buf, size, (off_t)addr) == (ssize_t)size;
}

static const int gpr[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

/* Register REG (0-15) as an operand of SIZE bytes; without REX, byte
 * registers 4-7 are ah ch dh bh. */
static uint64_t reg_get(const greg_t *g, unsigned reg, unsigned size, bool rex)
{
    if (size == 1 && !rex && reg >= 4)
        return ((uint64_t)g[gpr[reg - 4]] >> 8) & 0xff;
    uint64_t v = (uint64_t)g[gpr[reg]];
    return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
}

static void reg_set(greg_t *g, unsigned reg, unsigned size, bool rex, uint64_t v)
{
    if (size == 1 && !rex && reg >= 4) {
        uint64_t *r = (uint64_t *)&g[gpr[reg - 4]];
        *r = (*r & ~0xff00ull) | (v & 0xff) << 8;
        return;
    }
    uint64_t *r = (uint64_t *)&g[gpr[reg]];
    switch (size) {
    case 1: *r = (*r & ~0xffull) | (v & 0xff); break;
    case 2: *r = (*r & ~0xffffull) | (v & 0xffff); break;
    case 4: *r = v & 0xffffffffull; break;          /* 32-bit writes zero the top */
    default: *r = v; break;
    }
}

/* The ALU operation OP (0 add, 1 or, 2 adc, 3 sbb, 4 and, 5 sub, 6 xor,
 * 7 cmp, 8 inc, 9 dec, 10 test) on SIZE-byte operands, run by the CPU
 * itself so the flags are exactly its own; *flags in and out. */
#define ALU_ONE(NAME, INSN, SFX, T, CONS)                                           \
    static T NAME(T x, T y, uint64_t cf_in, uint8_t *ah, uint8_t *of)               \
    {                                                                               \
        __asm__("bt $0, %[cf]\n\t" INSN SFX " %[y], %[x]\n\t"                       \
                "lahf\n\tseto %[of]\n\tmov %%ah, %[ah]"                             \
                : [x] "+" CONS(x), [ah] "=m"(*ah), [of] "=m"(*of)                   \
                : [y] CONS(y), [cf] "r"(cf_in) : "cc", "rax");                      \
        return x;                                                                   \
    }
#define ALU_SIZES(OP, INSN)                                                         \
    ALU_ONE(OP##_1, INSN, "b", uint8_t, "q")                                        \
    ALU_ONE(OP##_2, INSN, "w", uint16_t, "r")                                       \
    ALU_ONE(OP##_4, INSN, "l", uint32_t, "r")                                       \
    ALU_ONE(OP##_8, INSN, "q", uint64_t, "r")
ALU_SIZES(op_add, "add")
ALU_SIZES(op_or, "or")
ALU_SIZES(op_adc, "adc")
ALU_SIZES(op_sbb, "sbb")
ALU_SIZES(op_and, "and")
ALU_SIZES(op_sub, "sub")
ALU_SIZES(op_xor, "xor")
ALU_SIZES(op_cmp, "cmp")
ALU_SIZES(op_test, "test")

#define DISPATCH(OP)                                                                \
    switch (size) {                                                                 \
    case 1: r = OP##_1((uint8_t)x, (uint8_t)y, cf, &ah, &of); break;                \
    case 2: r = OP##_2((uint16_t)x, (uint16_t)y, cf, &ah, &of); break;              \
    case 4: r = OP##_4((uint32_t)x, (uint32_t)y, cf, &ah, &of); break;              \
    default: r = OP##_8(x, y, cf, &ah, &of); break;                                 \
    }

static uint64_t alu(unsigned op, unsigned size, uint64_t x, uint64_t y, uint64_t *flags)
{
    uint64_t cf = *flags & 1, r = x;
    uint8_t ah = 0, of = 0;
    uint64_t keep = FLAGS_ARITH;
    switch (op) {
    case 0: DISPATCH(op_add) break;
    case 1: DISPATCH(op_or) break;
    case 2: DISPATCH(op_adc) break;
    case 3: DISPATCH(op_sbb) break;
    case 4: DISPATCH(op_and) break;
    case 5: DISPATCH(op_sub) break;
    case 6: DISPATCH(op_xor) break;
    case 7: DISPATCH(op_cmp) break;
    case 8: y = 1; DISPATCH(op_add) keep &= ~1ull; break;     /* inc: CF untouched */
    case 9: y = 1; DISPATCH(op_sub) keep &= ~1ull; break;     /* dec */
    default: DISPATCH(op_test) break;
    }
    uint64_t nf = (uint64_t)ah | (uint64_t)(of ? 0x800 : 0);
    *flags = (*flags & ~keep) | (nf & keep);
    return r;
}

static uint64_t sext(uint64_t v, unsigned from)
{
    unsigned shift = 64 - from * 8;
    return (uint64_t)((int64_t)(v << shift) >> shift);
}

/* The operand bytes after the opcode: ModRM, SIB and displacement. */
static unsigned modrm_len(const uint8_t *m)
{
    unsigned mod = m[0] >> 6, rm = m[0] & 7, n = 1;
    if (mod == 3)
        return 1;
    if (rm == 4) {
        n++;
        if (mod == 0 && (m[1] & 7) == 5)
            return n + 4;
    }
    if (mod == 0 && rm == 5)
        return n + 4;           /* rip-relative */
    return n + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

/* The memory operand's address from ModRM/SIB, the registers and, for
 * rip-relative operands, the address of the next instruction. */
static uintptr_t effective_address(const greg_t *g, const uint8_t *m, unsigned rex_x,
                                   unsigned rex_b, const uint8_t *end)
{
    unsigned mod = m[0] >> 6, rm = m[0] & 7;
    const uint8_t *d = m + 1;
    uint64_t ea = 0;
    if (rm == 4) {
        uint8_t sib = *d++;
        unsigned base = sib & 7, index = ((sib >> 3) & 7) | rex_x;
        if (index != 4)
            ea += (uint64_t)g[gpr[index]] << (sib >> 6);
        if (mod == 0 && base == 5) {
            int32_t disp;
            memcpy(&disp, d, 4);
            return (uintptr_t)(ea + (uint64_t)(int64_t)disp);
        }
        ea += (uint64_t)g[gpr[base | rex_b]];
    } else if (mod == 0 && rm == 5) {
        int32_t disp;
        memcpy(&disp, d, 4);
        return (uintptr_t)end + (uintptr_t)(intptr_t)disp;
    } else {
        ea = (uint64_t)g[gpr[rm | rex_b]];
    }
    if (mod == 1)
        ea += (uint64_t)(int64_t)(int8_t)*d;
    else if (mod == 2) {
        int32_t disp;
        memcpy(&disp, d, 4);
        ea += (uint64_t)(int64_t)disp;
    }
    return (uintptr_t)ea;
}

static uint64_t imm(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    memcpy(&v, p, n);
    return sext(v, n);
}

bool tg_watch_emulate(ucontext_t *uc, uintptr_t addr)
{
    if (mem_fd < 0)
        return false;
    greg_t *g = uc->uc_mcontext.gregs;
    const uint8_t *pc = (const uint8_t *)g[REG_RIP], *p = pc;
    bool opsize = false, rex = false, w = false, bnd = false;
    unsigned rex_r = 0, rex_x = 0, rex_b = 0;
    for (;; p++) {
        if (*p == 0x66)
            opsize = true;
        else if (*p == 0xf0 || *p == 0x2e || *p == 0x3e)
            ;                   /* lock (we hold the lock), branch hints, notrack */
        else if (*p == 0xf2)
            bnd = true;         /* bnd jmp/call in PLTs; anything else refused below */
        else
            break;
        if (p - pc > 4)
            return false;
    }
    if ((*p & 0xf0) == 0x40) {
        rex = true;
        w = (*p & 8) != 0;
        rex_r = (*p & 4) ? 8 : 0;
        rex_x = (*p & 2) ? 8 : 0;
        rex_b = (*p & 1) ? 8 : 0;
        p++;
    }
    unsigned osz = w ? 8 : opsize ? 2 : 4;
    uint8_t op = *p++;
    bool two = false;
    if (op == 0x0f) {
        two = true;
        op = *p++;
    }
    const uint8_t *m = p;
    if ((m[0] >> 6) == 3)
        return false;           /* register operand: not a memory access */
    unsigned reg = ((m[0] >> 3) & 7) | rex_r;
    const uint8_t *next = m + modrm_len(m);
    /* the immediate's length, to know where the instruction ends */
    unsigned nimm = 0;
    if (!two) {
        if (op == 0xc6 || op == 0x80 || op == 0x83 || op == 0xf6)
            nimm = 1;
        else if (op == 0xc7 || op == 0x81 || op == 0xf7)
            nimm = osz == 2 ? 2 : 4;
    }
    if (effective_address(g, m, rex_x, rex_b, next + nimm) != addr)
        return false;           /* straddles a page, or not the operand we think */
    uint64_t flags = (uint64_t)g[REG_EFL], v = 0, x;
    unsigned size;

    if (bnd && !(op == 0xff && !two && ((reg & 7) == 2 || (reg & 7) == 4)))
        return false;           /* rep/repne string forms, SSE: not ours */
    if (op == 0xff && !two && !opsize && ((reg & 7) == 2 || (reg & 7) == 4 || (reg & 7) == 6)) {
        /* call, jmp, push through memory: the PLT's jumps through the GOT,
         * which shares a page with the program's globals */
        if (!mem_read(addr, &v, 8))
            return false;
        uint64_t rsp = (uint64_t)g[REG_RSP];
        if ((reg & 7) != 4) {
            x = (reg & 7) == 2 ? (uint64_t)(uintptr_t)next : v;
            if (!mem_write((uintptr_t)(rsp - 8), &x, 8))
                return false;
            g[REG_RSP] = (greg_t)(rsp - 8);
        }
        g[REG_RIP] = (greg_t)((reg & 7) == 6 ? (uint64_t)(uintptr_t)next : v);
        return true;
    }

    if (two) {
        unsigned from;
        bool sign;
        if (op == 0xb0 || op == 0xb1) {                         /* cmpxchg m, r */
            size = op == 0xb0 ? 1 : osz;
            if (!mem_read(addr, &v, size))
                return false;
            uint64_t acc = reg_get(g, 0, size, rex);
            alu(7, size, acc, v, &flags);
            if (acc == v) {
                x = reg_get(g, reg, size, rex);
                if (!mem_write(addr, &x, size))
                    return false;
            } else {
                reg_set(g, 0, size, rex, v);
            }
            goto done;
        }
        if (op == 0xc0 || op == 0xc1) {                         /* xadd m, r */
            size = op == 0xc0 ? 1 : osz;
            if (!mem_read(addr, &v, size))
                return false;
            x = alu(0, size, v, reg_get(g, reg, size, rex), &flags);
            if (!mem_write(addr, &x, size))
                return false;
            reg_set(g, reg, size, rex, v);
            goto done;
        }
        switch (op) {
        case 0xb6: from = 1; sign = false; break;
        case 0xb7: from = 2; sign = false; break;
        case 0xbe: from = 1; sign = true; break;
        case 0xbf: from = 2; sign = true; break;
        default: return false;
        }
        if (!mem_read(addr, &v, from))
            return false;
        reg_set(g, reg, osz, rex, sign ? sext(v, from) : v);
    } else if (op == 0x63 && w) {                               /* movsxd */
        if (!mem_read(addr, &v, 4))
            return false;
        reg_set(g, reg, 8, rex, sext(v, 4));
    } else if (op == 0x86 || op == 0x87) {                      /* xchg m, r */
        size = op == 0x86 ? 1 : osz;
        if (!mem_read(addr, &v, size))
            return false;
        x = reg_get(g, reg, size, rex);
        if (!mem_write(addr, &x, size))
            return false;
        reg_set(g, reg, size, rex, v);
    } else if (op == 0x88 || op == 0x89) {                      /* mov m, r */
        size = op == 0x88 ? 1 : osz;
        v = reg_get(g, reg, size, rex);
        if (!mem_write(addr, &v, size))
            return false;
    } else if (op == 0x8a || op == 0x8b) {                      /* mov r, m */
        size = op == 0x8a ? 1 : osz;
        if (!mem_read(addr, &v, size))
            return false;
        reg_set(g, reg, size, rex, v);
    } else if ((op == 0xc6 || op == 0xc7) && (reg & 7) == 0) {  /* mov m, imm */
        size = op == 0xc6 ? 1 : osz;
        v = imm(next, nimm);
        if (!mem_write(addr, &v, size))
            return false;
    } else if (op < 0x40 && (op & 7) < 4) {                     /* ALU m,r / r,m */
        size = op & 1 ? osz : 1;
        unsigned aop = op >> 3;
        if (!mem_read(addr, &v, size))
            return false;
        uint64_t r = reg_get(g, reg, size, rex);
        if (op & 2) {                                           /* r = r op m */
            x = alu(aop, size, r, v, &flags);
            if (aop != 7)
                reg_set(g, reg, size, rex, x);
        } else {                                                /* m = m op r */
            x = alu(aop, size, v, r, &flags);
            if (aop != 7 && !mem_write(addr, &x, size))
                return false;
        }
    } else if (op == 0x80 || op == 0x81 || op == 0x83) {        /* ALU m, imm */
        size = op == 0x80 ? 1 : osz;
        uint64_t y = imm(next, nimm);
        if (!mem_read(addr, &v, size))
            return false;
        x = alu(reg & 7, size, v, y, &flags);
        if ((reg & 7) != 7 && !mem_write(addr, &x, size))
            return false;
    } else if ((op == 0xfe || op == 0xff) && (reg & 7) <= 1) {  /* inc, dec */
        size = op == 0xfe ? 1 : osz;
        if (!mem_read(addr, &v, size))
            return false;
        x = alu(8 + (reg & 7), size, v, 1, &flags);
        if (!mem_write(addr, &x, size))
            return false;
    } else if (op == 0x84 || op == 0x85) {                      /* test m, r */
        size = op == 0x84 ? 1 : osz;
        if (!mem_read(addr, &v, size))
            return false;
        alu(10, size, v, reg_get(g, reg, size, rex), &flags);
    } else if ((op == 0xf6 || op == 0xf7) && (reg & 7) == 0) {  /* test m, imm */
        size = op == 0xf6 ? 1 : osz;
        uint64_t y = imm(next, nimm);
        if (!mem_read(addr, &v, size))
            return false;
        alu(10, size, v, y, &flags);
    } else {
        return false;
    }
done:
    g[REG_EFL] = (greg_t)flags;
    g[REG_RIP] = (greg_t)(uintptr_t)(next + nimm);
    return true;
}
