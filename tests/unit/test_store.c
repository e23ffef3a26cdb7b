/* The SQLite store: migrations, WAL, presets, queue order, recovery, damaged/newer files set aside,
 * two connections at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <process.h>
#define getpid _getpid
#else
#include <sys/wait.h>
#include <unistd.h>
#endif
#include <sqlite3.h>

#include "tessera.h"
#include "tsr_config.h"
#include "tsr_test.h"

static char g_dir[512];

static void db_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/tsr-store-%d-%s.db", g_dir, (int)getpid(), name);
    tsr_test_remove_db(buf);
}

static tsr_store *open_at(const char *path, int recover)
{
    tsr_store_params p;
    tsr_store_params_default(&p);
    p.path = path;
    p.recover_interrupted = recover;
    tsr_store *s = NULL;
    tsr_error err = {0};
    if (tsr_store_open(&p, &s, &err) != TSR_OK) fprintf(stderr, "open %s: %s\n", path, err.message);
    return s;
}

static int sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int v = -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_schema_and_builtins(void)
{
    char path[600];
    db_path(path, sizeof path, "schema");
    tsr_store *s = open_at(path, 1);
    REQUIRE(s);
    CHECK(strcmp(tsr_store_notice(s), "") == 0);
    tsr_preset *ps = NULL;
    int n = 0;
    tsr_error err = {0};
    CHECK(tsr_store_presets_list(s, &ps, &n, &err) == TSR_OK);
    CHECK(n == 4);
    CHECK(n == 4 && strcmp(ps[0].name, "Fast — FP8") == 0 && ps[0].precision == TSR_PRECISION_FP8_FAST);
    CHECK(n == 4 && ps[2].vram_budget == 8ull << 30 && ps[3].bit_depth == 10 && ps[3].builtin);
    tsr_store_free(ps);
    tsr_store_close(&s);
    CHECK(s == NULL);
    CHECK(sql_int(path, "PRAGMA user_version") == tsr_store_schema_version());
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char mode[16] = "";
    if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == 0 &&
        sqlite3_step(st) == SQLITE_ROW)
        snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    CHECKF(strcmp(mode, "wal") == 0, "journal_mode %s", mode);
    CHECK(sql_int(path, "SELECT strict FROM pragma_table_list WHERE name = 'queue'") == 1);
    s = open_at(path, 1); /* reopening an up-to-date file changes nothing */
    REQUIRE(s);
    CHECK(tsr_store_presets_list(s, &ps, &n, &err) == TSR_OK && n == 4);
    tsr_store_free(ps);
    tsr_store_close(&s);
}

static void test_presets(void)
{
    char path[600];
    db_path(path, sizeof path, "presets");
    tsr_store *s = open_at(path, 1);
    REQUIRE(s);
    tsr_error err = {0};
    tsr_preset p, q;
    tsr_preset_default(&p);
    snprintf(p.name, sizeof p.name, "Mine");
    p.precision = TSR_PRECISION_BF16;
    p.vram_budget = 12ull << 30;
    CHECK(tsr_store_preset_save(s, &p, &err) == TSR_OK && p.id > 0);
    CHECK(tsr_store_preset_get(s, p.id, &q, &err) == TSR_OK && q.vram_budget == 12ull << 30 && !q.builtin);
    p.crf = 23;
    CHECK(tsr_store_preset_save(s, &p, &err) == TSR_OK);
    CHECK(tsr_store_preset_find(s, "Mine", &q, &err) == TSR_OK && q.crf == 23 && q.id == p.id);
    tsr_preset dup = p; /* same name again: refused */
    dup.id = 0;
    CHECK(tsr_store_preset_save(s, &dup, &err) == TSR_ERR_INVALID_ARG);
    int64_t c1 = 0, c2 = 0;
    CHECK(tsr_store_preset_duplicate(s, p.id, NULL, &c1, &err) == TSR_OK);
    CHECK(tsr_store_preset_duplicate(s, p.id, NULL, &c2, &err) == TSR_OK);
    CHECK(tsr_store_preset_get(s, c1, &q, &err) == TSR_OK && strcmp(q.name, "Mine (copy)") == 0);
    CHECK(tsr_store_preset_get(s, c2, &q, &err) == TSR_OK && strcmp(q.name, "Mine (copy 2)") == 0);
    tsr_preset fast;
    CHECK(tsr_store_preset_find(s, "Fast — FP8", &fast, &err) == TSR_OK && fast.builtin);
    fast.crf = 1;
    CHECK(tsr_store_preset_save(s, &fast, &err) == TSR_ERR_INVALID_ARG); /* built-ins are read-only */
    CHECK(tsr_store_preset_delete(s, fast.id, &err) == TSR_ERR_INVALID_ARG);
    int64_t fc = 0;
    CHECK(tsr_store_preset_duplicate(s, fast.id, "Faster", &fc, &err) == TSR_OK);
    CHECK(tsr_store_preset_get(s, fc, &q, &err) == TSR_OK && !q.builtin && q.precision == TSR_PRECISION_FP8_FAST);
    CHECK(tsr_store_preset_delete(s, c1, &err) == TSR_OK);
    CHECK(tsr_store_preset_get(s, c1, &q, &err) == TSR_ERR_INVALID_ARG);
    p.bit_depth = 12;
    CHECK(tsr_store_preset_save(s, &p, &err) == TSR_ERR_INVALID_ARG);
    tsr_preset *ps = NULL;
    int n = 0;
    CHECK(tsr_store_presets_list(s, &ps, &n, &err) == TSR_OK && n == 7);
    CHECK(n == 7 && ps[3].builtin && !ps[4].builtin && strcmp(ps[4].name, "Faster") == 0);
    tsr_store_free(ps);
    tsr_store_close(&s);
}

static int64_t add_job(tsr_store *s, const char *input)
{
    tsr_queue_item q;
    memset(&q, 0, sizeof q);
    snprintf(q.input, sizeof q.input, "%s", input);
    snprintf(q.output, sizeof q.output, "%s.out.mkv", input);
    tsr_error err = {0};
    if (tsr_store_queue_add(s, &q, &err) != TSR_OK) fprintf(stderr, "%s\n", err.message);
    return q.id;
}

static int order_is(tsr_store *s, const int64_t *ids, int n)
{
    tsr_queue_item *items = NULL;
    int count = 0, ok = 1;
    tsr_error err = {0};
    if (tsr_store_queue_list(s, &items, &count, &err) != TSR_OK || count != n) ok = 0;
    for (int i = 0; ok && i < n; i++) ok = items[i].id == ids[i] && items[i].position == i;
    tsr_store_free(items);
    return ok;
}

static void test_queue(void)
{
    char path[600];
    db_path(path, sizeof path, "queue");
    tsr_store *s = open_at(path, 1);
    REQUIRE(s);
    tsr_error err = {0};
    int64_t a = add_job(s, "a.mp4"), b = add_job(s, "b.mp4"), c = add_job(s, "c.mp4"), d = add_job(s, "d.mp4");
    CHECK(order_is(s, (int64_t[]){a, b, c, d}, 4));
    CHECK(tsr_store_queue_move(s, d, 0, &err) == TSR_OK);
    CHECK(order_is(s, (int64_t[]){d, a, b, c}, 4));
    CHECK(tsr_store_queue_move(s, d, 99, &err) == TSR_OK); /* clamped to the end */
    CHECK(order_is(s, (int64_t[]){a, b, c, d}, 4));
    CHECK(tsr_store_queue_move(s, a, 2, &err) == TSR_OK);
    CHECK(order_is(s, (int64_t[]){b, c, a, d}, 4));
    CHECK(tsr_store_queue_remove(s, c, &err) == TSR_OK);
    CHECK(order_is(s, (int64_t[]){b, a, d}, 3));
    CHECK(tsr_store_queue_move(s, 12345, 0, &err) == TSR_ERR_INVALID_ARG);
    tsr_queue_item q;
    int found = 0;
    CHECK(tsr_store_queue_next(s, &q, &found, &err) == TSR_OK && found && q.id == b);
    CHECK(tsr_store_queue_set_state(s, b, TSR_JOB_RUNNING, 0.25, NULL, &err) == TSR_OK);
    CHECK(tsr_store_queue_get(s, b, &q, &err) == TSR_OK && q.state == TSR_JOB_RUNNING && q.started > 0);
    CHECK(q.progress == 0.25 && q.finished == 0);
    CHECK(tsr_store_queue_next(s, &q, &found, &err) == TSR_OK && found && q.id == a);
    CHECK(tsr_store_queue_get(s, a, &q, &err) == TSR_OK);
    snprintf(q.overrides, sizeof q.overrides, "{\"crf\": 16}");
    q.state = TSR_JOB_DONE;
    q.progress = 1;
    CHECK(tsr_store_queue_update(s, &q, &err) == TSR_OK);
    CHECK(tsr_store_queue_get(s, a, &q, &err) == TSR_OK && q.finished > 0 && strstr(q.overrides, "16"));
    tsr_store_close(&s);

    /* the process "died" with b running: a monitoring handle leaves it, the next real open recovers it */
    s = open_at(path, 0);
    REQUIRE(s);
    CHECK(tsr_store_recovered_jobs(s) == 0);
    CHECK(tsr_store_queue_get(s, b, &q, &err) == TSR_OK && q.state == TSR_JOB_RUNNING);
    tsr_store_close(&s);
    s = open_at(path, 1);
    REQUIRE(s);
    CHECK(tsr_store_recovered_jobs(s) == 1);
    CHECK(tsr_store_queue_get(s, b, &q, &err) == TSR_OK && q.state == TSR_JOB_INTERRUPTED && q.error[0]);
    CHECK(strcmp(tsr_job_state_name(q.state), "interrupted") == 0);
    tsr_store_close(&s);
}

static void test_history_and_tuned(void)
{
    char path[600];
    db_path(path, sizeof path, "history");
    tsr_store *s = open_at(path, 1);
    REQUIRE(s);
    tsr_error err = {0};
    for (int i = 0; i < 3; i++) {
        tsr_history_entry e;
        memset(&e, 0, sizeof e);
        snprintf(e.input, sizeof e.input, "in%d.mp4", i);
        e.state = TSR_JOB_DONE;
        e.frames = 17 + i;
        e.peak_vram = 1ull << 33;
        CHECK(tsr_store_history_append(s, &e, &err) == TSR_OK && e.id > 0 && e.finished > 0);
    }
    tsr_history_entry *h = NULL;
    int n = 0;
    CHECK(tsr_store_history_list(s, 2, &h, &n, &err) == TSR_OK && n == 2);
    CHECK(n == 2 && strcmp(h[0].input, "in2.mp4") == 0 && h[0].frames == 19 && h[0].peak_vram == 1ull << 33);
    CHECK(n == 2 && h[0].spec.input[0] == 0); /* appended without a spec: none recorded */
    tsr_store_free(h);
    /* schema 3: the job's spec is kept, so the app can run it again */
    tsr_history_entry *e = calloc(1, sizeof *e);
    REQUIRE(e);
    tsr_job_spec_default(&e->spec);
    snprintf(e->input, sizeof e->input, "again.mp4");
    snprintf(e->spec.input, sizeof e->spec.input, "again.mp4");
    snprintf(e->spec.output, sizeof e->spec.output, "again.mkv");
    snprintf(e->spec.codec, sizeof e->spec.codec, "ffv1");
    e->spec.ten_bit = 1, e->spec.crf = 12, e->state = TSR_JOB_FAILED;
    CHECK(tsr_store_history_append(s, e, &err) == TSR_OK);
    CHECK(tsr_store_history_list(s, 1, &h, &n, &err) == TSR_OK && n == 1);
    CHECK(n == 1 && strcmp(h[0].spec.output, "again.mkv") == 0 && strcmp(h[0].spec.codec, "ffv1") == 0);
    CHECK(n == 1 && h[0].spec.ten_bit == 1 && h[0].spec.crf == 12 && h[0].state == TSR_JOB_FAILED);
    tsr_store_free(h);
    free(e);
    CHECK(tsr_store_history_clear(s, &err) == TSR_OK);
    CHECK(tsr_store_history_list(s, 0, &h, &n, &err) == TSR_OK && n == 0);
    tsr_store_free(h);

    tsr_tune_key k;
    memset(&k, 0, sizeof k);
    snprintf(k.gpu, sizeof k.gpu, "NVIDIA H100 80GB HBM3");
    k.cc = 90;
    snprintf(k.driver, sizeof k.driver, "580.159");
    k.vram = 80ull << 30;
    snprintf(k.model_digest, sizeof k.model_digest, "2067854");
    k.precision = TSR_PRECISION_BF16;
    k.latent_h = 90;
    k.latent_w = 160;
    k.budget = 12ull << 30;
    tsr_tuned t = {0};
    int found = 1;
    CHECK(tsr_store_tuned_get(s, &k, &t, &found, &err) == TSR_OK && !found);
    tsr_tuned w = {.plan_json = "{\"kind\":\"exact\"}", .algos_json = "{\"conv1\":\"igemm\"}", .time_s = 1.5,
                   .peak = 123};
    CHECK(tsr_store_tuned_put(s, &k, &w, &err) == TSR_OK);
    CHECK(tsr_store_tuned_get(s, &k, &t, &found, &err) == TSR_OK && found);
    CHECK(found && strcmp(t.plan_json, w.plan_json) == 0 && t.time_s == 1.5 && t.peak == 123);
    tsr_tuned_clear(&t);
    k.budget = 8ull << 30; /* another key */
    CHECK(tsr_store_tuned_get(s, &k, &t, &found, &err) == TSR_OK && !found);
    /* the backends' learnt tuning, per device: replaced by a later put, kept apart per device, forgotten by
     * tune --retune's forget-everything */
    char *bt = (char *)1;
    CHECK(tsr_store_backend_tuning_get(s, "GPU A (sm_90)", &bt, &err) == TSR_OK && bt == NULL);
    CHECK(tsr_store_backend_tuning_put(s, "GPU A (sm_90)", "tessera-cudnn-plans 2\nfirst\n", &err) == TSR_OK);
    CHECK(tsr_store_backend_tuning_put(s, "GPU A (sm_90)", "tessera-cudnn-plans 2\nsecond\n", &err) == TSR_OK);
    CHECK(tsr_store_backend_tuning_put(s, "GPU B (sm_120)", "tessera-cudnn-plans 2\nb\n", &err) == TSR_OK);
    CHECK(tsr_store_backend_tuning_get(s, "GPU A (sm_90)", &bt, &err) == TSR_OK && bt &&
          !strcmp(bt, "tessera-cudnn-plans 2\nsecond\n"));
    free(bt);
    CHECK(tsr_store_backend_tuning_get(s, "GPU B (sm_120)", &bt, &err) == TSR_OK && bt &&
          !strcmp(bt, "tessera-cudnn-plans 2\nb\n"));
    free(bt);
    CHECK(tsr_store_tuned_forget(s, NULL, &err) == TSR_OK);
    k.budget = 12ull << 30;
    CHECK(tsr_store_tuned_get(s, &k, &t, &found, &err) == TSR_OK && !found);
    CHECK(tsr_store_backend_tuning_get(s, "GPU A (sm_90)", &bt, &err) == TSR_OK && bt == NULL);
    tsr_store_close(&s);
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* The set-aside copy lies beside the store, named "<file>.<why>-<stamp>". */
static int aside_exists(const char *notice, const char *why)
{
    const char *p = strstr(notice, "moved to ");
    if (!p || !strstr(notice, why)) return 0;
    char path[700];
    snprintf(path, sizeof path, "%s", p + 9);
    char *end = strstr(path, " and a fresh");
    if (end) *end = 0;
    int ok = file_exists(path);
    remove(path);
    return ok;
}

static void test_damaged_and_newer(void)
{
    char path[600];
    db_path(path, sizeof path, "corrupt");
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    for (int i = 0; i < 8192; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
    tsr_store *s = open_at(path, 1);
    REQUIRE(s);
    CHECKF(aside_exists(tsr_store_notice(s), "damaged"), "notice: %s", tsr_store_notice(s));
    tsr_preset *ps = NULL;
    int n = 0;
    tsr_error err = {0};
    CHECK(tsr_store_presets_list(s, &ps, &n, &err) == TSR_OK && n == 4); /* a fresh store */
    tsr_store_free(ps);
    add_job(s, "keep.mp4");
    tsr_store_close(&s);

    /* a file from a future Tessera: set aside, not downgraded */
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    s = open_at(path, 1);
    REQUIRE(s);
    CHECKF(strstr(tsr_store_notice(s), "newer") != NULL, "notice: %s", tsr_store_notice(s));
    CHECK(aside_exists(tsr_store_notice(s), "newer"));
    tsr_queue_item *items = NULL;
    CHECK(tsr_store_queue_list(s, &items, &n, &err) == TSR_OK && n == 0);
    tsr_store_free(items);
    tsr_store_close(&s);
    CHECK(sql_int(path, "PRAGMA user_version") == tsr_store_schema_version());
}

static void test_two_connections(void)
{
    char path[600];
    db_path(path, sizeof path, "concurrent");
#ifndef _WIN32
    /* two processes create and migrate the same new file at once, then both write */
    pid_t kid = fork();
    REQUIRE(kid >= 0);
    tsr_store *s = open_at(path, 1);
    int ok = s != NULL;
    for (int i = 0; ok && i < 50; i++) ok = add_job(s, kid == 0 ? "child.mp4" : "parent.mp4") > 0;
    tsr_store_close(&s);
    if (kid == 0) _exit(ok ? 0 : 1);
    int status = 0;
    waitpid(kid, &status, 0);
    CHECK(ok);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
    tsr_store *a = open_at(path, 1), *b = open_at(path, 0);
    REQUIRE(a && b);
    tsr_error err = {0};
    int64_t id = add_job(a, "from-a.mp4");
    tsr_queue_item q;
    CHECK(tsr_store_queue_get(b, id, &q, &err) == TSR_OK && strcmp(q.input, "from-a.mp4") == 0);
    CHECK(tsr_store_queue_move(b, id, 0, &err) == TSR_OK);
    tsr_queue_item *items = NULL;
    int n = 0;
    CHECK(tsr_store_queue_list(a, &items, &n, &err) == TSR_OK && n > 0 && items[0].id == id);
#ifndef _WIN32
    CHECK(n == 101);
    for (int i = 0; i < n; i++) CHECK(items[i].position == i);
#endif
    tsr_store_free(items);
    tsr_store_close(&a);
    tsr_store_close(&b);
}

static void test_default_path(void)
{
#ifndef _WIN32
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/tsr-xdg-%d", g_dir, (int)getpid());
    setenv("XDG_DATA_HOME", dir, 1);
    tsr_error err = {0};
    CHECKF(tsr_store_default_path(path, sizeof path, &err) == TSR_OK, "%s", err.message);
    char want[700];
    snprintf(want, sizeof want, "%s/tessera/tessera.db", dir);
    CHECK(strcmp(path, want) == 0);
    tsr_store *s = NULL;
    CHECK(tsr_store_open(NULL, &s, &err) == TSR_OK && strcmp(tsr_store_path(s), want) == 0);
    tsr_store_close(&s);
    char side[760];
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", want, suffix[i]);
        remove(side);
    }
    snprintf(side, sizeof side, "%s/tessera", dir);
    rmdir(side);
    rmdir(dir);
#endif
}

/* tsr_job_spec <-> JSON: every field survives; unknown keys are ignored; bad values are refused. */
static void test_job_spec_json(void)
{
    tsr_job_spec a, b;
    tsr_job_spec_default(&a);
    snprintf(a.input, sizeof a.input, "/clips/\"quoted\" \\ back/été.mov");
    memset(a.output, 'o', sizeof a.output - 1); /* a path of the full length */
    a.output[sizeof a.output - 1] = 0;
    snprintf(a.model, sizeof a.model, "builtin:full");
    snprintf(a.format, sizeof a.format, "mkv-ffv1");
    a.backend = TSR_BACKEND_CUDA, a.device = 1, a.precision = TSR_PRECISION_FP16;
    a.memory_budget = 12ull << 30, a.tile = 512, a.chunk = 5, a.kind = TSR_JOB_ROUNDTRIP;
    a.host_budget = (96ull << 30) + 7; /* not a power of two: every bit of a 64-bit value survives */
    snprintf(a.codec, sizeof a.codec, "ffv1");
    a.crf = 17, a.bitrate = 9000000000ll, a.ten_bit = 1, a.no_audio = 1, a.fps_num = 30000, a.fps_den = 1001;
    snprintf(a.audio_from, sizeof a.audio_from, "/clips/audio.wav");
    a.latent_f16 = 1, a.latent_raw = 1, a.queue_frames = 3;
    char *json = tsr_job_spec_to_json(&a);
    REQUIRE(json);
    tsr_error err = {0};
    CHECKF(tsr_job_spec_from_json(json, &b, &err) == TSR_OK, "%s", err.message);
    CHECK(memcmp(&a, &b, sizeof a) == 0); /* both start zeroed by tsr_job_spec_default: padding matches */
    CHECK(b.host_budget == (96ull << 30) + 7 && strstr(json, "\"host_budget\":103079215111"));
    free(json);
    /* a row written before host_budget existed: 0, half the RAM when the job runs */
    CHECK(tsr_job_spec_from_json("{\"memory_budget\": 1024}", &b, &err) == TSR_OK && b.host_budget == 0 &&
          b.memory_budget == 1024);
    CHECK(tsr_job_spec_from_json("{\"host_budget\": -5}", &b, &err) == TSR_ERR_FORMAT);
    CHECK(tsr_job_spec_from_json("{\"tile\": 256, \"from_the_future\": [1, {}]}", &b, &err) == TSR_OK);
    CHECK(b.tile == 256 && strcmp(b.model, "builtin:small") == 0 && b.crf == -1); /* the rest: defaults */
    CHECK(tsr_job_spec_from_json("{\"tile\": \"big\"}", &b, &err) == TSR_ERR_FORMAT);
    CHECK(tsr_job_spec_from_json("{\"memory_budget\": -1}", &b, &err) == TSR_ERR_FORMAT);
    CHECK(tsr_job_spec_from_json("{\"crf\": 1.5}", &b, &err) == TSR_ERR_FORMAT);
    CHECK(tsr_job_spec_from_json("[1]", &b, &err) == TSR_ERR_FORMAT);
    CHECK(tsr_job_spec_from_json("{\"input\": ", &b, &err) != TSR_OK);
    char longfmt[300];
    snprintf(longfmt, sizeof longfmt, "{\"format\": \"%0200d\"}", 0);
    CHECK(tsr_job_spec_from_json(longfmt, &b, &err) == TSR_ERR_FORMAT && strstr(err.message, "format"));
    char part[TSR_PATH_MAX + 8];
    tsr_job_partial_path("/x/y.mp4", part, sizeof part);
    CHECK(strcmp(part, "/x/y.mp4.part") == 0);
}

/* Queue rows that carry the full job spec (the GUI's rows), presets with the GUI's tile and format. */
static void test_queue_spec(void)
{
    char path[600];
    db_path(path, sizeof path, "spec");
    tsr_store *s = open_at(path, 1);
    REQUIRE(s);
    tsr_error err = {0};
    tsr_queue_item *q = calloc(1, sizeof *q), *r = calloc(1, sizeof *r);
    REQUIRE(q && r);
    tsr_job_spec_default(&q->spec);
    snprintf(q->spec.input, sizeof q->spec.input, "/clips/in.mov");
    snprintf(q->spec.output, sizeof q->spec.output, "/out/in_tessera.mov");
    snprintf(q->spec.format, sizeof q->spec.format, "mov-prores");
    q->spec.precision = TSR_PRECISION_BF16, q->spec.memory_budget = 8ull << 30, q->spec.tile = 256;
    q->spec.ten_bit = 1;
    snprintf(q->preset_name, sizeof q->preset_name, "Master — ProRes/FFV1 10-bit");
    CHECKF(tsr_store_queue_add(s, q, &err) == TSR_OK, "%s", err.message); /* no q->input: the spec's */
    CHECK(q->id > 0 && strcmp(q->input, "/clips/in.mov") == 0 && strcmp(q->output, "/out/in_tessera.mov") == 0);
    CHECK(tsr_store_queue_get(s, q->id, r, &err) == TSR_OK);
    CHECK(strcmp(r->spec.format, "mov-prores") == 0 && r->spec.tile == 256 && r->spec.ten_bit == 1);
    CHECK(r->spec.memory_budget == 8ull << 30 && strcmp(r->preset_name, "Master — ProRes/FFV1 10-bit") == 0);
    snprintf(r->spec.output, sizeof r->spec.output, "/out/renamed.mkv");
    snprintf(r->spec.format, sizeof r->spec.format, "mkv-ffv1");
    r->state = TSR_JOB_FAILED;
    snprintf(r->error, sizeof r->error, "disk full");
    CHECK(tsr_store_queue_update(s, r, &err) == TSR_OK);
    CHECK(tsr_store_queue_get(s, q->id, q, &err) == TSR_OK && strcmp(q->output, "/out/renamed.mkv") == 0);
    CHECK(strcmp(q->spec.format, "mkv-ffv1") == 0 && strcmp(q->error, "disk full") == 0 && q->finished > 0);
    /* a CLI item without a spec stays without one */
    memset(r, 0, sizeof *r);
    snprintf(r->input, sizeof r->input, "cli.mp4");
    CHECK(tsr_store_queue_add(s, r, &err) == TSR_OK && r->spec.input[0] == 0);
    CHECK(sql_int(path, "SELECT COUNT(*) FROM queue WHERE spec = ''") == 1);
    free(q);
    free(r);

    /* presets: the GUI's tile and format; built-ins got theirs from migration 2 */
    tsr_preset p;
    CHECK(tsr_store_preset_find(s, "Master — ProRes/FFV1 10-bit", &p, &err) == TSR_OK);
    CHECK(strcmp(p.format, "mov-prores") == 0 && p.tile == 0);
    CHECK(tsr_store_preset_find(s, "Low VRAM — 8 GB", &p, &err) == TSR_OK && p.tile == 256);
    CHECK(strcmp(p.format, "mp4-h264") == 0);
    /* migration 3: the x265 built-in's format names its codec */
    CHECK(tsr_store_preset_find(s, "Balanced — BF16", &p, &err) == TSR_OK && strcmp(p.format, "mp4-hevc") == 0);
    tsr_preset_default(&p);
    snprintf(p.name, sizeof p.name, "Night batch");
    snprintf(p.format, sizeof p.format, "latent");
    p.tile = 384;
    CHECK(tsr_store_preset_save(s, &p, &err) == TSR_OK);
    tsr_preset got;
    CHECK(tsr_store_preset_get(s, p.id, &got, &err) == TSR_OK && got.tile == 384);
    CHECK(strcmp(got.format, "latent") == 0);
    p.tile = -1;
    CHECK(tsr_store_preset_save(s, &p, &err) == TSR_ERR_INVALID_ARG);
    tsr_store_close(&s);
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("partial", f);
        fclose(f);
    }
}

static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* Crash recovery: running and paused rows become interrupted, their partial outputs ("<out>.part" and the
 * media writer's "<out>.tmp-*") are deleted; finished rows and other files are left alone. */
static void test_recover_partials(void)
{
    char path[600], out[3][700], part[3][720], tmp[720], other[720];
    db_path(path, sizeof path, "recover");
    tsr_store *s = open_at(path, 1);
    REQUIRE(s);
    tsr_error err = {0};
    static const tsr_job_state states[3] = {TSR_JOB_RUNNING, TSR_JOB_PAUSED, TSR_JOB_DONE};
    int64_t ids[3];
    tsr_queue_item *q = calloc(1, sizeof *q);
    REQUIRE(q);
    for (int i = 0; i < 3; i++) {
        snprintf(out[i], sizeof out[i], "%s/tsr-store-%d-out%d.mp4", g_dir, (int)getpid(), i);
        tsr_job_partial_path(out[i], part[i], sizeof part[i]);
        touch(part[i]);
        memset(q, 0, sizeof *q);
        tsr_job_spec_default(&q->spec);
        snprintf(q->spec.input, sizeof q->spec.input, "in%d.mp4", i);
        snprintf(q->spec.output, sizeof q->spec.output, "%s", out[i]);
        REQUIRE(tsr_store_queue_add(s, q, &err) == TSR_OK);
        ids[i] = q->id;
        CHECK(tsr_store_queue_set_state(s, q->id, states[i], 0.5, NULL, &err) == TSR_OK);
    }
    snprintf(tmp, sizeof tmp, "%s.tmp-Ab12Cd", out[0]);
    snprintf(other, sizeof other, "%s/tsr-store-%d-out0.mp4.keep", g_dir, (int)getpid());
    touch(tmp);
    touch(other);
    tsr_store_close(&s);
    s = open_at(path, 0); /* an inspecting handle changes nothing */
    REQUIRE(s);
    CHECK(tsr_store_recovered_jobs(s) == 0 && exists(part[0]) && exists(tmp));
    tsr_store_close(&s);
    s = open_at(path, 1);
    REQUIRE(s);
    CHECK(tsr_store_recovered_jobs(s) == 2);
    CHECK(!exists(part[0]) && !exists(part[1]) && !exists(tmp));
    CHECK(exists(part[2]) && exists(other)); /* a finished job's files and unrelated files stay */
    for (int i = 0; i < 3; i++) {
        CHECK(tsr_store_queue_get(s, ids[i], q, &err) == TSR_OK);
        CHECK(q->state == (i < 2 ? TSR_JOB_INTERRUPTED : TSR_JOB_DONE));
        CHECK(strcmp(q->spec.output, out[i]) == 0); /* the spec survives recovery */
    }
    free(q);
    tsr_store_close(&s);
    remove(part[2]);
    remove(other);
}

/* A file written by schema 1 (before the GUI moved into the store) is migrated in place. */
static void test_migrate_from_v1(void)
{
    char path[600];
    db_path(path, sizeof path, "v1");
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    int rc = sqlite3_exec(db,
        "CREATE TABLE presets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, builtin INTEGER NOT NULL"
        " DEFAULT 0, precision INTEGER NOT NULL, vram_budget INTEGER NOT NULL, tiling INTEGER NOT NULL,"
        " container TEXT NOT NULL, codec TEXT NOT NULL, crf INTEGER NOT NULL, bit_depth INTEGER NOT NULL) STRICT;"
        "CREATE TABLE queue (id INTEGER PRIMARY KEY, position INTEGER NOT NULL, state INTEGER NOT NULL,"
        " input TEXT NOT NULL, output TEXT NOT NULL, preset_id INTEGER, overrides TEXT NOT NULL DEFAULT '',"
        " progress REAL NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
        " started INTEGER NOT NULL DEFAULT 0, finished INTEGER NOT NULL DEFAULT 0) STRICT;"
        "CREATE TABLE history (id INTEGER PRIMARY KEY, input TEXT NOT NULL, output TEXT NOT NULL,"
        " preset TEXT NOT NULL, state INTEGER NOT NULL, frames INTEGER NOT NULL, seconds REAL NOT NULL,"
        " peak_vram INTEGER NOT NULL, error TEXT NOT NULL, finished INTEGER NOT NULL) STRICT;"
        "INSERT INTO history (input, output, preset, state, frames, seconds, peak_vram, error, finished)"
        " VALUES ('h.mp4', 'h_out.mp4', 'Archive', 3, 9, 1.5, 0, '', 1);"
        "INSERT INTO presets (name, precision, vram_budget, tiling, container, codec, crf, bit_depth)"
        " VALUES ('Archive', 1, 0, 0, 'mkv', 'ffv1', 0, 10);"
        "INSERT INTO queue (position, state, input, output, created) VALUES (0, 0, 'old.mp4', 'old_out.mp4', 1);"
        "PRAGMA user_version = 1;", NULL, NULL, NULL);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
    tsr_store *s = open_at(path, 1);
    REQUIRE(s);
    CHECK(sql_int(path, "PRAGMA user_version") == 4 && tsr_store_schema_version() == 4);
    tsr_error err = {0};
    tsr_preset p;
    CHECK(tsr_store_preset_find(s, "Archive", &p, &err) == TSR_OK && strcmp(p.format, "mkv-ffv1") == 0);
    tsr_queue_item *q = NULL;
    int n = 0;
    CHECK(tsr_store_queue_list(s, &q, &n, &err) == TSR_OK && n == 1);
    CHECK(n == 1 && strcmp(q[0].input, "old.mp4") == 0 && q[0].spec.input[0] == 0 && q[0].preset_name[0] == 0);
    tsr_store_free(q);
    /* migration 3: old history rows stay, without a spec */
    tsr_history_entry *h = NULL;
    CHECK(tsr_store_history_list(s, 0, &h, &n, &err) == TSR_OK && n == 1);
    CHECK(n == 1 && strcmp(h[0].input, "h.mp4") == 0 && h[0].frames == 9 && h[0].spec.input[0] == 0);
    tsr_store_free(h);
    tsr_store_close(&s);
}

int main(void)
{
#if !TSR_HAVE_STORE
    SKIP("built without SQLite");
#endif
    snprintf(g_dir, sizeof g_dir, "%s", tsr_test_env("TMPDIR", tsr_test_env("TEMP", "/tmp")));
    test_schema_and_builtins();
    test_presets();
    test_queue();
    test_history_and_tuned();
    test_damaged_and_newer();
    test_two_connections();
    test_default_path();
    test_job_spec_json();
    test_queue_spec();
    test_recover_partials();
    test_migrate_from_v1();
    static const char *const names[] = {"schema", "presets", "queue", "history", "corrupt", "concurrent",
                                         "spec", "recover", "v1"};
    char path[600];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) db_path(path, sizeof path, names[i]);
    return tsr_test_done();
}
