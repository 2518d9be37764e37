/* The report seam of cli.h (tg_report_*), used by `tangle run` and `tangle
 * report` alike, so both print and write the same thing.
 *
 * A finding is printed when the detectors find it, except lock-order
 * findings: a potential deadlock can still turn into a real one (the
 * threads of the cycle are blocked right now and the deadlock is confirmed
 * a moment later), and then the deadlock finding tells it. So lock-order
 * findings are printed when the run is over, with those that deadlocked
 * left out, as tg_analysis_findings leaves them out. The files (--json,
 * --sarif) are written at the end from the same list, in the detectors'
 * stable order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/report_int.h"

struct tg_report *rp_new(struct tg_trace *t, struct tg_symbols *s)
{
    struct tg_report *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->trace = t;
    r->syms = s;
    r->out = stderr;
    r->fail_on = TG_FIND_ALL_KINDS;
    if (!(r->names = tg_names_new(t, s))) {
        free(r);
        return NULL;
    }
    return r;
}

/* Colour: on a terminal unless NO_COLOR is set (https://no-color.org) or
 * TERM is dumb; TANGLE_OPTIONS color=always|never decides first. */
static bool want_color(enum rp_color c)
{
    if (c != RP_COLOR_AUTO)
        return c == RP_COLOR_ALWAYS;
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
    if (no && *no)
        return false;
    if (term && strcmp(term, "dumb") == 0)
        return false;
    return isatty(STDERR_FILENO);
}

/* Loads the --suppressions files and TANGLE_OPTIONS into R. On an error
 * prints it and returns -1. */
static int configure(struct tg_report *r, const struct tg_run_options *o, struct rp_env *env)
{
    char err[1024];

    if (rp_env_parse(getenv("TANGLE_OPTIONS"), env, err, sizeof err) < 0) {
        tg_cli_error("TANGLE_OPTIONS: %s", err);
        return -1;
    }
    for (int i = 0; i < env->nsuppressions; i++)
        if (tg_supp_load(&r->supp, env->suppressions[i], err, sizeof err) < 0) {
            tg_cli_error("%s (from TANGLE_OPTIONS)", err);
            return -1;
        }
    for (int i = 0; i < o->nsuppressions; i++)
        if (tg_supp_load(&r->supp, o->suppressions[i], err, sizeof err) < 0) {
            tg_cli_error("%s", err);
            return -1;
        }
    r->color = want_color(env->color);
    return 0;
}

int tg_report_check(const struct tg_run_options *o)
{
    struct tg_report r = { .fail_on = TG_FIND_ALL_KINDS };
    struct rp_env env;
    int rc = configure(&r, o, &env);

    tg_supp_free(&r.supp);
    rp_env_free(&env);
    return rc < 0 ? TG_STATUS_FAILED : 0;
}

struct tg_report *tg_report_new(const struct tg_run_options *o, struct tg_trace *t,
                                struct tg_symbols *s)
{
    struct tg_report *r = rp_new(t, s);
    struct rp_env env;

    if (!r) {
        tg_cli_error("out of memory");
        return NULL;
    }
    if (configure(r, o, &env) < 0) {
        rp_env_free(&env);
        tg_report_free(r);
        return NULL;
    }
    r->json_path = o->json_path;
    r->sarif_path = o->sarif_path;
    /* the command line wins over TANGLE_OPTIONS */
    r->fail_on = o->fail_on_given || !env.fail_on ? o->fail_on : env.fail_on;
    if (env.exitcode >= 0 && !o->exitcode_given) {
        /* run.c exits with o->exitcode; its struct is not const (cli.h:
         * tg_run.o), only our view of it is */
        ((struct tg_run_options *)o)->exitcode = env.exitcode;
    }
    rp_env_free(&env);
    return r;
}

bool tg_report_finding(struct tg_report *r, const struct tg_finding *f)
{
    uint64_t *seen = tg_u64map_slot(&r->seen, f->key);
    char **words = NULL;

    if (seen && *seen)
        return false;             /* told already */
    if (seen)
        *seen = 1;
    if (r->supp.n) {
        long n = rp_finding_words(r, f, &words);
        bool hit = n > 0 && tg_supp_match(&r->supp, f->kind, (const char *const *)words,
                                          (size_t)n);
        if (n > 0)
            rp_words_free(words, n);
        if (hit) {
            if (f->kind < TG_FIND_KIND_COUNT)
                r->suppressed[f->kind]++;
            return false;
        }
    }
    if (r->nkept == r->capkept) {
        size_t cap = r->capkept ? r->capkept * 2 : 16;
        const struct tg_finding **k = realloc(r->kept, cap * sizeof *k);
        bool *d = realloc(r->deferred, cap * sizeof *d);
        if (k)
            r->kept = k;
        if (d)
            r->deferred = d;
        if (!k || !d) {
            tg_cli_error("out of memory: a finding is not reported");
            return false;
        }
        r->capkept = cap;
    }
    bool later = f->kind == TG_FIND_LOCK_ORDER && !r->finished;
    r->kept[r->nkept] = f;
    r->deferred[r->nkept] = later;
    r->nkept++;
    if (!later && !r->quiet_text)
        rp_text_finding(r, f, r->out);
    return true;
}

static bool same_objects(const struct tg_obj_ref *a, const struct tg_obj_ref *b)
{
    return a->process == b->process && a->addr == b->addr && a->generation == b->generation;
}

bool rp_told_by_deadlock(const struct tg_finding *f, const struct tg_finding *const *fs, size_t n)
{
    if (f->kind != TG_FIND_LOCK_ORDER)
        return false;
    for (size_t i = 0; i < n; i++) {
        const struct tg_finding *d = fs[i];
        if (d->kind != TG_FIND_DEADLOCK || d->sub != TG_DEADLOCK_CYCLE ||
            d->process != f->process || d->nsteps != f->nsteps)
            continue;
        /* the locks d's threads wait for are the cycle's locks, in any order */
        bool all = true;
        for (uint32_t s = 0; s < d->nsteps && all; s++) {
            const struct tg_step *st = &d->steps[s];
            if (st->wait != TG_WAIT_LOCK || st->obj >= d->nobjs) {
                all = false;
                break;
            }
            bool found = false;
            for (uint32_t k = 0; k < f->nsteps && k < f->nobjs && !found; k++)
                found = same_objects(&d->objs[st->obj], &f->objs[k]);
            all = found;
        }
        if (all)
            return true;
    }
    return false;
}

long rp_final_findings(struct tg_report *r, const struct tg_finding ***out)
{
    const struct tg_finding **fs = malloc((r->nkept ? r->nkept : 1) * sizeof *fs);
    long n = 0;

    if (!fs)
        return -1;
    for (size_t i = 0; i < r->nkept; i++)
        if (!rp_told_by_deadlock(r->kept[i], r->kept, r->nkept))
            fs[n++] = r->kept[i];
    qsort(fs, (size_t)n, sizeof *fs, tg_finding_cmp);
    *out = fs;
    return n;
}

static int write_file(struct tg_report *r, const char *path, const char *what,
                      int (*writer)(struct tg_report *, const struct tg_finding *const *,
                                    size_t, FILE *),
                      const struct tg_finding *const *fs, size_t n)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    int err;

    if (!f) {
        tg_cli_error("cannot write the %s report %s: %s", what, path, strerror(errno));
        return -1;
    }
    err = writer(r, fs, n, f);
    if (f == stdout)
        err = fflush(f) != 0 && !err ? -errno : err;
    else if (fclose(f) != 0 && !err)
        err = -errno;
    if (err) {
        tg_cli_error("cannot write the %s report %s: %s", what, path, strerror(-err));
        return -1;
    }
    return 0;
}

static void say_suppressed(struct tg_report *r)
{
    unsigned total = 0;

    for (unsigned k = 0; k < TG_FIND_KIND_COUNT; k++)
        total += r->suppressed[k];
    if (!total || r->quiet_text)
        return;
    fprintf(r->out, "tangle: %u %s suppressed:", total, total == 1 ? "finding" : "findings");
    const char *sep = " ";
    for (size_t i = 0; i < r->supp.n; i++) {
        const struct tg_supp_rule *s = &r->supp.rules[i];
        if (!s->hits)
            continue;
        fprintf(r->out, "%s%u by %s:%s (%s:%d)", sep, s->hits, tg_finding_kind_name(s->kind),
                s->pattern, s->file, s->line);
        sep = ", ";
    }
    fputs(".\n", r->out);
}

int tg_report_finish(struct tg_report *r, int wait_status)
{
    const struct tg_finding **fs;
    long n;
    int failing = 0, rc = 0;

    (void)wait_status;            /* the files say how PROGRAM ended as its trace says it */
    if ((n = rp_final_findings(r, &fs)) < 0) {
        tg_cli_error("out of memory writing the report");
        return -1;
    }
    r->finished = true;
    /* names final now: a thread named after a finding was printed gets
     * its last name in the files and in the deferred findings */
    for (long i = 0; i < n; i++)
        for (uint32_t k = 0; k < fs[i]->nthreads; k++)
            tg_names_forget_thread(r->names, fs[i]->threads[k]);
    for (long i = 0; i < n; i++) {
        for (size_t k = 0; k < r->nkept; k++)
            if (r->kept[k] == fs[i] && r->deferred[k]) {
                r->deferred[k] = false;
                if (!r->quiet_text)
                    rp_text_finding(r, fs[i], r->out);
            }
        if (r->fail_on & TG_FIND_BIT(fs[i]->kind))
            failing++;
    }
    say_suppressed(r);
    if (r->json_path &&
        write_file(r, r->json_path, "JSON", rp_json_write, fs, (size_t)n) < 0)
        rc = -1;
    if (r->sarif_path &&
        write_file(r, r->sarif_path, "SARIF", rp_sarif_write, fs, (size_t)n) < 0)
        rc = -1;
    free(fs);
    return rc < 0 ? -1 : failing;
}

void tg_report_free(struct tg_report *r)
{
    if (!r)
        return;
    tg_names_free(r->names);
    tg_supp_free(&r->supp);
    tg_u64map_free(&r->seen);
    free(r->kept);
    free(r->deferred);
    free(r);
}
