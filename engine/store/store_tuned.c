/* Tuned settings: the autotuner's winner per (GPU, driver, model, precision, latent size, budget). */
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

#define KEY_WHERE                                                                                            \
    "gpu = ?1 AND cc = ?2 AND driver = ?3 AND vram = ?4 AND model_digest = ?5 AND precision = ?6 AND "      \
    "latent_h = ?7 AND latent_w = ?8 AND budget = ?9"

static void bind_key(sqlite3_stmt *st, const tsr_tune_key *k)
{
    sqlite3_bind_text(st, 1, k->gpu, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, k->cc);
    sqlite3_bind_text(st, 3, k->driver, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)k->vram);
    sqlite3_bind_text(st, 5, k->model_digest, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 6, (int)k->precision);
    sqlite3_bind_int(st, 7, k->latent_h);
    sqlite3_bind_int(st, 8, k->latent_w);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)k->budget);
}

void tsr_tuned_clear(tsr_tuned *t)
{
    if (!t) return;
    free(t->plan_json);
    free(t->algos_json);
    memset(t, 0, sizeof *t);
}

tsr_status tsr_store_tuned_get(tsr_store *s, const tsr_tune_key *key, tsr_tuned *out, int *found, tsr_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    sqlite3_stmt *st = tsr_store_prepare(s, "SELECT plan, algos, time_s, peak FROM tuned WHERE " KEY_WHERE, err);
    if (!st) return TSR_ERR_STORE;
    bind_key(st, key);
    int rc = sqlite3_step(st);
    tsr_status r = TSR_OK;
    if (rc == SQLITE_ROW) {
        out->plan_json = tsr_strdup((const char *)sqlite3_column_text(st, 0));
        out->algos_json = tsr_strdup((const char *)sqlite3_column_text(st, 1));
        out->time_s = sqlite3_column_double(st, 2);
        out->peak = (uint64_t)sqlite3_column_int64(st, 3);
        if (!out->plan_json || !out->algos_json) {
            tsr_tuned_clear(out);
            r = tsr_fail(err, TSR_ERR_NOMEM, "store: out of memory");
        } else *found = 1;
    } else if (rc != SQLITE_DONE) r = tsr_store_sql_fail(s, err, "reading tuned settings");
    sqlite3_finalize(st);
    return r;
}

tsr_status tsr_store_tuned_put(tsr_store *s, const tsr_tune_key *key, const tsr_tuned *t, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s,
        "INSERT OR REPLACE INTO tuned (gpu, cc, driver, vram, model_digest, precision, latent_h, latent_w, budget,"
        " plan, algos, time_s, peak, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        err);
    if (!st) return TSR_ERR_STORE;
    bind_key(st, key);
    sqlite3_bind_text(st, 10, t->plan_json ? t->plan_json : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, t->algos_json ? t->algos_json : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 12, t->time_s);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)t->peak);
    sqlite3_bind_int64(st, 14, tsr_store_now());
    return tsr_store_step_done(s, st, err, "saving tuned settings");
}

tsr_status tsr_store_tuned_forget(tsr_store *s, const tsr_tune_key *key, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s, key ? "DELETE FROM tuned WHERE " KEY_WHERE : "DELETE FROM tuned", err);
    if (!st) return TSR_ERR_STORE;
    if (key) bind_key(st, key);
    tsr_status r = tsr_store_step_done(s, st, err, "forgetting tuned settings");
    if (r != TSR_OK || key) return r;
    st = tsr_store_prepare(s, "DELETE FROM backend_tuning", err); /* everything: the backends' timings too */
    return st ? tsr_store_step_done(s, st, err, "forgetting backend tuning") : TSR_ERR_STORE;
}

tsr_status tsr_store_backend_tuning_get(tsr_store *s, const char *device, char **text, tsr_error *err)
{
    *text = NULL;
    sqlite3_stmt *st = tsr_store_prepare(s, "SELECT text FROM backend_tuning WHERE device = ?1", err);
    if (!st) return TSR_ERR_STORE;
    sqlite3_bind_text(st, 1, device, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    tsr_status r = TSR_OK;
    if (rc == SQLITE_ROW) {
        *text = tsr_strdup((const char *)sqlite3_column_text(st, 0));
        if (!*text) r = tsr_fail(err, TSR_ERR_NOMEM, "store: out of memory");
    } else if (rc != SQLITE_DONE) r = tsr_store_sql_fail(s, err, "reading backend tuning");
    sqlite3_finalize(st);
    return r;
}

tsr_status tsr_store_backend_tuning_put(tsr_store *s, const char *device, const char *text, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s,
        "INSERT OR REPLACE INTO backend_tuning (device, text, updated) VALUES (?1, ?2, ?3)", err);
    if (!st) return TSR_ERR_STORE;
    sqlite3_bind_text(st, 1, device, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, tsr_store_now());
    return tsr_store_step_done(s, st, err, "saving backend tuning");
}
