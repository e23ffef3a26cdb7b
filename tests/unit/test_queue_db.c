/* The GUI queue store: round trip, ordering, recovery after a crash (partial output removed), presets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera.h"
#include "tsr_config.h"
#include "tsr_test.h"

int main(void)
{
#if !TSR_HAVE_STORE
    SKIP("no SQLite store in this build");
#else
    char dir[] = "/tmp/tsr-qdb-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[256], out[256], part[300];
    snprintf(path, sizeof path, "%s/q.db", dir);
    snprintf(out, sizeof out, "%s/a.mp4", dir);
    tsr_job_partial_path(out, part, sizeof part);
    tsr_queue_db *db = NULL;
    tsr_error err = {0};
    REQUIRE(tsr_queue_db_open(path, &db, &err) == TSR_OK);
    tsr_queue_row a = {.position = 2, .state = TSR_JOB_RUNNING}, b = {.position = 1, .state = TSR_JOB_DONE};
    tsr_job_spec_default(&a.spec);
    tsr_job_spec_default(&b.spec);
    snprintf(a.spec.input, sizeof a.spec.input, "in-a.mp4");
    snprintf(a.spec.output, sizeof a.spec.output, "%s", out);
    snprintf(b.spec.input, sizeof b.spec.input, "in-b.mp4");
    snprintf(a.preset, sizeof a.preset, "Balanced — BF16");
    a.spec.memory_budget = 8ull << 30;
    CHECK(tsr_queue_db_put(db, &a, &err) == TSR_OK && a.id > 0);
    CHECK(tsr_queue_db_put(db, &b, &err) == TSR_OK && b.id > a.id);
    tsr_queue_db_close(&db);
    CHECK(db == NULL);

    FILE *f = fopen(part, "wb");
    REQUIRE(f);
    fputs("half", f);
    fclose(f);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp-a1B2c3", out);
    REQUIRE((f = fopen(tmp, "wb")));
    fclose(f);
    REQUIRE(tsr_queue_db_open(path, &db, &err) == TSR_OK);
    int changed = -1;
    CHECK(tsr_queue_db_recover(db, &changed, &err) == TSR_OK && changed == 1);
    CHECK(access(part, F_OK) != 0);
    CHECK(access(tmp, F_OK) != 0);
    tsr_queue_row *rows = NULL;
    int n = 0;
    CHECK(tsr_queue_db_list(db, &rows, &n, &err) == TSR_OK && n == 2);
    if (n == 2) {
        CHECK(rows[0].id == b.id && rows[1].id == a.id);
        CHECK(rows[1].state == TSR_JOB_INTERRUPTED && strcmp(rows[1].preset, "Balanced — BF16") == 0);
        CHECK(rows[1].spec.memory_budget == 8ull << 30 && strcmp(rows[1].spec.input, "in-a.mp4") == 0);
    }
    free(rows);
    CHECK(tsr_queue_db_delete(db, b.id, &err) == TSR_OK);
    CHECK(tsr_queue_db_list(db, &rows, &n, &err) == TSR_OK && n == 1);
    free(rows);

    tsr_queue_preset p = {.name = "Mine", .precision = TSR_PRECISION_FP16, .memory_budget = 123, .tile = 512,
                    .format = "mkv-ffv1"};
    CHECK(tsr_queue_db_put_preset(db, &p, &err) == TSR_OK);
    tsr_queue_preset *ps = NULL;
    CHECK(tsr_queue_db_list_presets(db, &ps, &n, &err) == TSR_OK && n == 1);
    if (n == 1) CHECK(ps[0].tile == 512 && ps[0].memory_budget == 123 && strcmp(ps[0].format, "mkv-ffv1") == 0);
    free(ps);
    CHECK(tsr_queue_db_delete_preset(db, "Mine", &err) == TSR_OK);
    CHECK(tsr_queue_db_list_presets(db, &ps, &n, &err) == TSR_OK && n == 0);
    free(ps);
    tsr_queue_db_close(&db);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return tsr_test_done();
#endif
}
