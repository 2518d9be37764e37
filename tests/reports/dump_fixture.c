/* tests/reports: writes the fixture's findings as the three reports,
 * DIR/CASE.txt for each case, DIR/all.json and DIR/all.sarif, for
 * reports_tests.py to compare with tests/reports/expected and to validate. */
#include <stdio.h>
#include <string.h>

#include "report_fixture.h"

static int write_to(const char *dir, const char *name, struct fx *fx, int which)
{
    char path[512];
    const struct tg_finding *all[FX_COUNT];
    int rc = 0;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    for (int i = 0; i < FX_COUNT; i++)
        all[i] = &fx->findings[i];
    if (which == 0)
        rc = rp_json_write(fx->report, all, FX_COUNT, f);
    else if (which == 1)
        rc = rp_sarif_write(fx->report, all, FX_COUNT, f);
    else
        rp_text_finding(fx->report, &fx->findings[which - 2], f);
    if (fclose(f) != 0 || rc != 0) {
        fprintf(stderr, "%s: cannot write\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct fx fx;
    char name[128];
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: dump_fixture DIR\n");
        return 2;
    }
    if (fx_open(&fx) < 0)
        return 1;
    for (int i = 0; i < FX_COUNT && rc == 0; i++) {
        snprintf(name, sizeof name, "%s.txt", fx_names[i]);
        rc = write_to(argv[1], name, &fx, i + 2);
    }
    if (rc == 0)
        rc = write_to(argv[1], "all.json", &fx, 0);
    if (rc == 0)
        rc = write_to(argv[1], "all.sarif", &fx, 1);
    fx_close(&fx);
    return rc ? 1 : 0;
}
