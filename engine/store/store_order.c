/* Queue order (reorder, remove) and the job history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

static tsr_status exec_bound(tsr_store *s, const char *sql, int64_t a, int64_t b, int64_t c, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s, sql, err);
    if (!st) return TSR_ERR_STORE;
    int n = sqlite3_bind_parameter_count(st);
    if (n >= 1) sqlite3_bind_int64(st, 1, a);
    if (n >= 2) sqlite3_bind_int64(st, 2, b);
    if (n >= 3) sqlite3_bind_int64(st, 3, c);
    return tsr_store_step_done(s, st, err, "reordering the queue");
}

static tsr_status query_int(tsr_store *s, const char *sql, int64_t arg, int64_t *out, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s, sql, err);
    if (!st) return TSR_ERR_STORE;
    sqlite3_bind_int64(st, 1, arg);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return TSR_OK;
    if (rc == SQLITE_DONE) return tsr_fail(err, TSR_ERR_INVALID_ARG, "no queue item with id %lld", (long long)arg);
    return tsr_store_sql_fail(s, err, "reading the queue");
}

/* Renumber positions 0..n-1 in the current order (repairs gaps left by remove). */
static tsr_status compact(tsr_store *s, tsr_error *err)
{
    return exec_bound(s, "UPDATE queue SET position = (SELECT COUNT(*) FROM queue q2 WHERE q2.position < "
                         "queue.position OR (q2.position = queue.position AND q2.id < queue.id))", 0, 0, 0, err);
}

static tsr_status move_locked(tsr_store *s, int64_t id, int position, tsr_error *err)
{
    tsr_status r = compact(s, err);
    int64_t from = 0, n = 0;
    if (r == TSR_OK) r = query_int(s, "SELECT position FROM queue WHERE id = ?1", id, &from, err);
    if (r == TSR_OK) r = query_int(s, "SELECT COUNT(*) FROM queue WHERE ?1 = ?1", 0, &n, err);
    if (r != TSR_OK) return r;
    int64_t to = position < 0 ? 0 : position >= n ? n - 1 : position;
    if (to == from) return TSR_OK;
    if (to < from)
        r = exec_bound(s, "UPDATE queue SET position = position + 1 WHERE position >= ?1 AND position < ?2",
                       to, from, 0, err);
    else
        r = exec_bound(s, "UPDATE queue SET position = position - 1 WHERE position > ?1 AND position <= ?2",
                       from, to, 0, err);
    if (r == TSR_OK) r = exec_bound(s, "UPDATE queue SET position = ?1 WHERE id = ?2", to, id, 0, err);
    return r;
}

tsr_status tsr_store_queue_move(tsr_store *s, int64_t id, int position, tsr_error *err)
{
    if (tsr_store_begin(s, err) != TSR_OK) return TSR_ERR_STORE;
    tsr_status r = move_locked(s, id, position, err);
    if (r == TSR_OK) return tsr_store_commit(s, err);
    tsr_store_rollback(s);
    return r;
}

tsr_status tsr_store_queue_remove(tsr_store *s, int64_t id, tsr_error *err)
{
    if (tsr_store_begin(s, err) != TSR_OK) return TSR_ERR_STORE;
    int64_t pos = 0;
    tsr_status r = query_int(s, "SELECT position FROM queue WHERE id = ?1", id, &pos, err);
    if (r == TSR_OK) r = exec_bound(s, "DELETE FROM queue WHERE id = ?1", id, 0, 0, err);
    if (r == TSR_OK) r = compact(s, err);
    if (r == TSR_OK) return tsr_store_commit(s, err);
    tsr_store_rollback(s);
    return r;
}

tsr_status tsr_store_history_append(tsr_store *s, tsr_history_entry *e, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s,
        "INSERT INTO history (input, output, preset, state, frames, seconds, peak_vram, error, finished, spec)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", err);
    if (!st) return TSR_ERR_STORE;
    char *json = e->spec.input[0] ? tsr_job_spec_to_json(&e->spec) : NULL;
    if (e->spec.input[0] && !json) {
        sqlite3_finalize(st);
        return tsr_fail(err, TSR_ERR_NOMEM, "store: out of memory writing a job spec");
    }
    if (!e->finished) e->finished = tsr_store_now();
    sqlite3_bind_text(st, 1, e->input, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, e->output, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, e->preset, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, (int)e->state);
    sqlite3_bind_int(st, 5, e->frames);
    sqlite3_bind_double(st, 6, e->seconds);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)e->peak_vram);
    sqlite3_bind_text(st, 8, e->error, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 9, e->finished);
    sqlite3_bind_text(st, 10, json ? json : "", -1, SQLITE_TRANSIENT);
    free(json);
    tsr_status r = tsr_store_step_done(s, st, err, "appending to the history");
    if (r == TSR_OK) e->id = sqlite3_last_insert_rowid(s->db);
    return r;
}

static void read_entry(sqlite3_stmt *st, tsr_history_entry *e)
{
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    tsr_store_col_text(st, 1, e->input, sizeof e->input);
    tsr_store_col_text(st, 2, e->output, sizeof e->output);
    tsr_store_col_text(st, 3, e->preset, sizeof e->preset);
    e->state = (tsr_job_state)sqlite3_column_int(st, 4);
    e->frames = sqlite3_column_int(st, 5);
    e->seconds = sqlite3_column_double(st, 6);
    e->peak_vram = (uint64_t)sqlite3_column_int64(st, 7);
    tsr_store_col_text(st, 8, e->error, sizeof e->error);
    e->finished = sqlite3_column_int64(st, 9);
    const unsigned char *spec = sqlite3_column_text(st, 10);
    tsr_error ignored = {0};
    if (spec && *spec && tsr_job_spec_from_json((const char *)spec, &e->spec, &ignored) != TSR_OK)
        memset(&e->spec, 0, sizeof e->spec); /* a damaged spec: the row is still listed, without "run again" */
}

tsr_status tsr_store_history_list(tsr_store *s, int limit, tsr_history_entry **out, int *count, tsr_error *err)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st = tsr_store_prepare(s, "SELECT id, input, output, preset, state, frames, seconds, peak_vram,"
                                            " error, finished, spec FROM history ORDER BY id DESC LIMIT ?1", err);
    if (!st) return TSR_ERR_STORE;
    sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
    int cap = 0, rc;
    tsr_status r = TSR_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            tsr_history_entry *grown = realloc(*out, (size_t)cap * sizeof **out);
            if (!grown) {
                r = tsr_fail(err, TSR_ERR_NOMEM, "store: out of memory listing the history");
                break;
            }
            *out = grown;
        }
        read_entry(st, &(*out)[(*count)++]);
    }
    if (r == TSR_OK && rc != SQLITE_DONE) r = tsr_store_sql_fail(s, err, "listing the history");
    sqlite3_finalize(st);
    if (r != TSR_OK) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return r;
}

tsr_status tsr_store_history_clear(tsr_store *s, tsr_error *err)
{
    return exec_bound(s, "DELETE FROM history", 0, 0, 0, err);
}
