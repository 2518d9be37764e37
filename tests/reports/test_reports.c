/* tests/reports: suppressions, TANGLE_OPTIONS, the exit-status count of
 * tg_report_finish, dedup, deferred lock-order findings, colour. The
 * renderers' output is compared with expected files by reports_tests.py. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_fixture.h"

static struct fx fx;
static char *text;
static size_t textlen;

static void setup(void)
{
    cr_assert_eq(fx_open(&fx), 0);
    fx.report->out = open_memstream(&text, &textlen);
    cr_assert_not_null(fx.report->out);
    unsetenv("TANGLE_OPTIONS");
}

static void teardown(void)
{
    fclose(fx.report->out);
    free(text);
    text = NULL;
    fx_close(&fx);
}

static const char *output(void)
{
    fflush(fx.report->out);
    return text ? text : "";
}

static char *write_file(const char *name, const char *contents)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", fx.dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(contents, f);
    fclose(f);
    return path;
}

/* ---- suppression files */

TestSuite(suppress, .init = setup, .fini = teardown);

Test(suppress, comments_blank_lines_and_rules)
{
    struct tg_suppressions s = { 0 };
    char err[256] = "";
    const char *p = write_file("s.supp", "# known issues\n\n  lock-order:fx_take_*  # vendored\n"
                                         "race:report_fixture.c\n\t\nmisuse : fx_release \n");
    cr_assert_eq(tg_supp_load(&s, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(s.n, 3);
    cr_assert_eq(s.rules[0].kind, TG_FIND_LOCK_ORDER);
    cr_assert_str_eq(s.rules[0].pattern, "fx_take_*");
    cr_assert_eq(s.rules[0].line, 3);
    cr_assert_eq(s.rules[1].kind, TG_FIND_RACE);
    cr_assert_str_eq(s.rules[2].pattern, "fx_release");
    cr_assert_eq(s.rules[2].line, 6);
    tg_supp_free(&s);
}

Test(suppress, malformed_lines_name_file_and_line)
{
    static const struct { const char *text, *why; } bad[] = {
        { "deadlock:ok\n# fine\ndeadlok:main\n", ":3: unknown finding kind 'deadlok'" },
        { "\nno colon here\n", ":2: not KIND:PATTERN" },
        { "race:\n", ":1: empty pattern" },
        { "data-race:x\n", ":1: unknown finding kind 'data-race'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tg_suppressions s = { 0 };
        char err[256] = "";
        const char *p = write_file("bad.supp", bad[i].text);
        cr_assert_eq(tg_supp_load(&s, p, err, sizeof err), -1, "case %zu", i);
        cr_assert(strstr(err, p) == err, "error names the file: %s", err);
        cr_assert_not_null(strstr(err, bad[i].why), "case %zu: %s", i, err);
        tg_supp_free(&s);
    }
    struct tg_suppressions s = { 0 };
    char err[256];
    cr_assert_eq(tg_supp_load(&s, "/nonexistent/x.supp", err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "/nonexistent/x.supp: cannot read suppressions"), "%s", err);
}

static bool suppressed_by(const char *line, enum fx_case c)
{
    struct tg_suppressions s = { 0 };
    char err[256], **words;
    cr_assert_eq(tg_supp_add_line(&s, line, "t.supp", 1, err, sizeof err), 0, "%s", err);
    long n = rp_finding_words(fx.report, &fx.findings[c], &words);
    cr_assert_gt(n, 0);
    bool hit = tg_supp_match(&s, fx.findings[c].kind, (const char *const *)words, (size_t)n);
    rp_words_free(words, n);
    tg_supp_free(&s);
    return hit;
}

Test(suppress, patterns_match_functions_files_and_lock_names)
{
    cr_assert(suppressed_by("lock-order:fx_take_b", FX_LOCK_ORDER), "a function of a stack");
    cr_assert(suppressed_by("lock-order:fx_worker_?", FX_LOCK_ORDER), "? glob");
    cr_assert(suppressed_by("lock-order:report_fixture.c", FX_LOCK_ORDER), "a file's basename");
    cr_assert(suppressed_by("lock-order:report_*.c", FX_LOCK_ORDER), "a glob of a file");
    cr_assert_not(suppressed_by("lock-order:fixture.c", FX_LOCK_ORDER), "not a part of a name");
    cr_assert(suppressed_by("lock-order:fx_mutexB", FX_LOCK_ORDER), "a lock's name");
    cr_assert(suppressed_by("race:fx_counter", FX_RACE), "a race's variable");
    cr_assert(suppressed_by("misuse:fx_release", FX_MISUSE_UNLOCK_OTHER));
    cr_assert(suppressed_by("misuse:mutex initialised at*", FX_MISUSE_ERROR), "a heap lock's name");
}

Test(suppress, no_match_wrong_kind_or_partial_word)
{
    cr_assert_not(suppressed_by("deadlock:fx_take_b", FX_LOCK_ORDER), "kind must match");
    cr_assert_not(suppressed_by("lock-order:fx_take", FX_LOCK_ORDER), "whole words only");
    cr_assert_not(suppressed_by("lock-order:main", FX_LOCK_ORDER));
    cr_assert_not(suppressed_by("race:fx_mutexA_other", FX_RACE));
}

/* ---- TANGLE_OPTIONS */

TestSuite(env);

Test(env, parses_names_and_values)
{
    struct rp_env e;
    char err[256];
    cr_assert_eq(rp_env_parse("suppressions=/a/b.supp exitcode=42:fail_on=deadlock,race "
                              "suppressions=c.supp color=never", &e, err, sizeof err), 0, "%s", err);
    cr_assert_eq(e.nsuppressions, 2);
    cr_assert_str_eq(e.suppressions[0], "/a/b.supp");
    cr_assert_str_eq(e.suppressions[1], "c.supp");
    cr_assert_eq(e.exitcode, 42);
    cr_assert_eq(e.fail_on, TG_FIND_BIT(TG_FIND_DEADLOCK) | TG_FIND_BIT(TG_FIND_RACE));
    cr_assert_eq(e.color, RP_COLOR_NEVER);
    rp_env_free(&e);
    cr_assert_eq(rp_env_parse(NULL, &e, err, sizeof err), 0);
    cr_assert_eq(e.exitcode, -1);
    cr_assert_eq(e.fail_on, 0);
}

Test(env, rejects_what_it_does_not_know)
{
    static const char *const bad[] = { "exitcode=300", "exitcode=x", "bogus=1", "novalue",
                                       "fail_on=deadlocks", "color=sometimes", "=x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rp_env e;
        char err[256] = "";
        cr_assert_eq(rp_env_parse(bad[i], &e, err, sizeof err), -1, "%s", bad[i]);
        cr_assert_neq(err[0], '\0');
    }
}

/* ---- the report: printing, dedup, exit count */

TestSuite(report, .init = setup, .fini = teardown);

Test(report, deadlock_and_misuse_now_lock_order_at_the_end)
{
    struct tg_report *r = fx.report;
    cr_assert(tg_report_finding(r, &fx.findings[FX_LOCK_ORDER_HEAP3]));
    cr_assert_str_eq(output(), "", "lock-order waits for the end");
    cr_assert(tg_report_finding(r, &fx.findings[FX_MISUSE_UNLOCK_OTHER]));
    cr_assert_not_null(strstr(output(), "tangle: misuse: unlock of a mutex another thread holds"));
    cr_assert_eq(tg_report_finish(r, 0), 2);
    const char *lo = strstr(output(), "tangle: lock-order inversion (potential deadlock)");
    cr_assert_not_null(lo, "printed at the end:\n%s", output());
    cr_assert_gt(lo, strstr(output(), "tangle: misuse:"));
}

Test(report, each_finding_once)
{
    struct tg_report *r = fx.report;
    cr_assert(tg_report_finding(r, &fx.findings[FX_DEADLOCK_SELF]));
    cr_assert_not(tg_report_finding(r, &fx.findings[FX_DEADLOCK_SELF]));
    cr_assert_eq(tg_report_finish(r, 0), 1);
    const char *first = strstr(output(), "tangle: deadlock");
    cr_assert_not_null(first);
    cr_assert_null(strstr(first + 1, "tangle: deadlock"), "printed twice:\n%s", output());
}

Test(report, lock_order_that_deadlocked_is_told_by_the_deadlock)
{
    struct tg_report *r = fx.report;
    cr_assert(tg_report_finding(r, &fx.findings[FX_LOCK_ORDER]));
    cr_assert(tg_report_finding(r, &fx.findings[FX_DEADLOCK_CYCLE]));
    cr_assert_eq(tg_report_finish(r, 0), 1, "one finding stands");
    cr_assert_null(strstr(output(), "lock-order inversion"), "%s", output());
    cr_assert_not_null(strstr(output(), "tangle: deadlock\n"));
}

Test(report, fail_on_subsets)
{
    static const struct { unsigned fail_on; int failing; } cases[] = {
        { TG_FIND_ALL_KINDS, 4 },
        { TG_FIND_BIT(TG_FIND_DEADLOCK), 1 },
        { TG_FIND_BIT(TG_FIND_LOCK_ORDER) | TG_FIND_BIT(TG_FIND_RACE), 2 },
        { TG_FIND_BIT(TG_FIND_MISUSE), 1 },
        { TG_FIND_BIT(TG_FIND_RACE), 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tg_report *r = rp_new(fx.trace, fx.syms);
        r->quiet_text = true;
        r->fail_on = cases[i].fail_on;
        tg_report_finding(r, &fx.findings[FX_LOCK_ORDER]);
        tg_report_finding(r, &fx.findings[FX_DEADLOCK_SELF]);
        tg_report_finding(r, &fx.findings[FX_MISUSE_ERROR]);
        tg_report_finding(r, &fx.findings[FX_RACE]);
        cr_assert_eq(tg_report_finish(r, 0), cases[i].failing, "case %zu", i);
        tg_report_free(r);
    }
}

Test(report, suppressed_findings_do_not_fail_and_are_counted)
{
    struct tg_report *r = fx.report;
    char err[256];
    cr_assert_eq(tg_supp_add_line(&r->supp, "misuse:fx_release", "ci.supp", 4, err, sizeof err), 0);
    cr_assert_eq(tg_supp_add_line(&r->supp, "race:nothing_like_it", "ci.supp", 5, err, sizeof err), 0);
    cr_assert_not(tg_report_finding(r, &fx.findings[FX_MISUSE_UNLOCK_OTHER]));
    cr_assert(tg_report_finding(r, &fx.findings[FX_RACE]));
    cr_assert_eq(tg_report_finish(r, 0), 1);
    cr_assert_null(strstr(output(), "tangle: misuse"));
    cr_assert_not_null(strstr(output(), "tangle: 1 finding suppressed: 1 by misuse:fx_release "
                                        "(ci.supp:4)."), "%s", output());
}

Test(report, colour_only_when_asked)
{
    struct tg_report *r = fx.report;
    rp_text_finding(r, &fx.findings[FX_LOCK_ORDER], r->out);
    cr_assert_null(strchr(output(), '\033'), "no escape without colour");
    r->color = true;
    rp_text_finding(r, &fx.findings[FX_LOCK_ORDER], r->out);
    cr_assert_not_null(strstr(output(), "\033[1;31mtangle: lock-order inversion"));
    cr_assert_not_null(strstr(output(), "\033[1;35mfx_mutexA\033[0m"));
}

Test(report, files_written_and_unwritable_path_fails)
{
    struct tg_report *r = fx.report;
    char json[256];
    snprintf(json, sizeof json, "%s/out.json", fx.dir);
    r->quiet_text = true;
    r->json_path = json;
    r->sarif_path = "/nonexistent-dir/out.sarif";
    tg_report_finding(r, &fx.findings[FX_RACE]);
    cr_assert_eq(tg_report_finish(r, 0), -1, "an unwritable file fails the report");
    FILE *f = fopen(json, "r");
    cr_assert_not_null(f, "the JSON was still written");
    char buf[4096] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    unlink(json);
    buf[n] = '\0';
    cr_assert_not_null(strstr(buf, "\"kind\": \"race\""));
    cr_assert_not_null(strstr(buf, "\"exit_status\": 3"), "%s", buf);
}

/* ---- the options of `tangle run` */

Test(report, tangle_options_defaults_and_command_line_wins)
{
    struct tg_run_options o = { .exitcode = TG_STATUS_FINDINGS, .fail_on = TG_FIND_ALL_KINDS };
    const char *supp = write_file("env.supp", "race:fx_counter\n");
    char env[512];
    snprintf(env, sizeof env, "exitcode=42 fail_on=misuse suppressions=%s color=never", supp);
    setenv("TANGLE_OPTIONS", env, 1);
    struct tg_report *r = tg_report_new(&o, fx.trace, fx.syms);
    cr_assert_not_null(r);
    cr_assert_eq(o.exitcode, 42);
    cr_assert_eq(r->fail_on, TG_FIND_BIT(TG_FIND_MISUSE));
    cr_assert_eq(r->supp.n, 1);
    tg_report_free(r);

    /* as run's option parser leaves them for --exitcode 7 --fail-on deadlock */
    o.exitcode = 7;
    o.exitcode_given = true;
    o.fail_on = TG_FIND_BIT(TG_FIND_DEADLOCK);
    o.fail_on_given = true;
    r = tg_report_new(&o, fx.trace, fx.syms);
    cr_assert_eq(o.exitcode, 7, "--exitcode wins");
    cr_assert_eq(r->fail_on, TG_FIND_BIT(TG_FIND_DEADLOCK), "--fail-on wins");
    tg_report_free(r);

    /* an explicit --exitcode 66 / --fail-on all equal the defaults and still win */
    o.exitcode = TG_STATUS_FINDINGS;
    o.fail_on = TG_FIND_ALL_KINDS;
    r = tg_report_new(&o, fx.trace, fx.syms);
    cr_assert_eq(o.exitcode, TG_STATUS_FINDINGS, "--exitcode 66 wins");
    cr_assert_eq(r->fail_on, TG_FIND_ALL_KINDS, "--fail-on all wins");
    tg_report_free(r);

    setenv("TANGLE_OPTIONS", "exitcode=many", 1);
    cr_assert_null(tg_report_new(&o, fx.trace, fx.syms));
    cr_assert_eq(tg_report_check(&o), TG_STATUS_FAILED);
    unsetenv("TANGLE_OPTIONS");
    o.suppressions[0] = write_file("bad.supp", "racy:x\n");
    o.nsuppressions = 1;
    cr_assert_eq(tg_report_check(&o), TG_STATUS_FAILED);
}
