/* The batch queue (ordered by `position`, kept dense 0..n-1) and the job history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

#define QUEUE_COLS                                                                                           \
    "id, position, state, input, output, IFNULL(preset_id, 0), overrides, progress, error, created, started, " \
    "finished, preset_name, spec"

static void read_item(sqlite3_stmt *st, tsr_queue_item *q)
{
    memset(q, 0, sizeof *q);
    q->id = sqlite3_column_int64(st, 0);
    q->position = sqlite3_column_int(st, 1);
    q->state = (tsr_job_state)sqlite3_column_int(st, 2);
    tsr_store_col_text(st, 3, q->input, sizeof q->input);
    tsr_store_col_text(st, 4, q->output, sizeof q->output);
    q->preset_id = sqlite3_column_int64(st, 5);
    tsr_store_col_text(st, 6, q->overrides, sizeof q->overrides);
    q->progress = sqlite3_column_double(st, 7);
    tsr_store_col_text(st, 8, q->error, sizeof q->error);
    q->created = sqlite3_column_int64(st, 9);
    q->started = sqlite3_column_int64(st, 10);
    q->finished = sqlite3_column_int64(st, 11);
    tsr_store_col_text(st, 12, q->preset_name, sizeof q->preset_name);
    const unsigned char *spec = sqlite3_column_text(st, 13);
    if (spec && *spec) {
        tsr_error e = {0};
        if (tsr_job_spec_from_json((const char *)spec, &q->spec, &e) != TSR_OK) {
            /* keep the row usable: the job falls back to its input/output columns */
            tsr_log(TSR_LOG_WARN, "queue item %lld: %s", (long long)q->id, e.message);
            tsr_job_spec_default(&q->spec);
            snprintf(q->spec.input, sizeof q->spec.input, "%s", (const char *)sqlite3_column_text(st, 3));
            snprintf(q->spec.output, sizeof q->spec.output, "%s", (const char *)sqlite3_column_text(st, 4));
        }
    }
}

/* The spec as JSON ("" when the item has none) and the input/output columns it implies. */
static tsr_status spec_columns(const tsr_queue_item *q, char **json, const char **input, const char **output,
                               tsr_error *err)
{
    *json = NULL;
    *input = q->input;
    *output = q->output;
    if (!q->spec.input[0]) return TSR_OK;
    *json = tsr_job_spec_to_json(&q->spec);
    if (!*json) return tsr_fail(err, TSR_ERR_NOMEM, "store: out of memory writing a job spec");
    *input = q->spec.input;
    *output = q->spec.output;
    return TSR_OK;
}

static void bind_preset_id(sqlite3_stmt *st, int col, int64_t id)
{
    if (id) sqlite3_bind_int64(st, col, id);
    else sqlite3_bind_null(st, col);
}

tsr_status tsr_store_queue_add(tsr_store *s, tsr_queue_item *item, tsr_error *err)
{
    if (!item->input[0] && !item->spec.input[0])
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "a queue item needs an input file");
    char *json = NULL;
    const char *input, *output;
    if (spec_columns(item, &json, &input, &output, err) != TSR_OK) return TSR_ERR_NOMEM;
    if (tsr_store_begin(s, err) != TSR_OK) {
        free(json);
        return TSR_ERR_STORE;
    }
    sqlite3_stmt *st = tsr_store_prepare(s,
        "INSERT INTO queue (position, state, input, output, preset_id, overrides, created, preset_name, spec)"
        " VALUES ((SELECT IFNULL(MAX(position) + 1, 0) FROM queue), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", err);
    tsr_status r = TSR_ERR_STORE;
    if (st) {
        int64_t now = tsr_store_now();
        sqlite3_bind_int(st, 1, TSR_JOB_QUEUED);
        sqlite3_bind_text(st, 2, input, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, output, -1, SQLITE_TRANSIENT);
        bind_preset_id(st, 4, item->preset_id);
        sqlite3_bind_text(st, 5, item->overrides, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 6, now);
        sqlite3_bind_text(st, 7, item->preset_name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 8, json ? json : "", -1, SQLITE_TRANSIENT);
        r = tsr_store_step_done(s, st, err, "adding to the queue");
        if (r == TSR_OK) {
            item->id = sqlite3_last_insert_rowid(s->db);
            item->state = TSR_JOB_QUEUED;
            item->created = now;
            r = tsr_store_commit(s, err);
        }
    }
    free(json);
    if (r != TSR_OK) tsr_store_rollback(s);
    return r == TSR_OK ? tsr_store_queue_get(s, item->id, item, err) : r;
}

/* Timestamps follow the state: RUNNING stamps `started`, a final state stamps `finished`. */
#define STAMP_SQL                                                                                            \
    " started = CASE WHEN ?1 = 1 AND state != 1 THEN ?9 ELSE started END,"                                   \
    " finished = CASE WHEN ?1 >= 3 AND state != ?1 THEN ?9 WHEN ?1 <= 2 THEN 0 ELSE finished END"

static tsr_status update_row(tsr_store *s, const char *sql, const tsr_queue_item *q, int full, tsr_error *err)
{
    char *json = NULL;
    const char *input, *output;
    if (full && spec_columns(q, &json, &input, &output, err) != TSR_OK) return TSR_ERR_NOMEM;
    sqlite3_stmt *st = tsr_store_prepare(s, sql, err);
    if (!st) {
        free(json);
        return TSR_ERR_STORE;
    }
    sqlite3_bind_int(st, 1, (int)q->state);
    sqlite3_bind_double(st, 2, q->progress);
    sqlite3_bind_text(st, 3, q->error, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, q->id);
    if (full) {
        sqlite3_bind_text(st, 5, output, -1, SQLITE_TRANSIENT);
        bind_preset_id(st, 6, q->preset_id);
        sqlite3_bind_text(st, 7, q->overrides, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 8, input, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 10, q->preset_name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 11, json ? json : "", -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(st, 9, tsr_store_now());
    tsr_status r = tsr_store_step_done(s, st, err, "updating a queue item");
    free(json);
    if (r == TSR_OK && sqlite3_changes(s->db) == 0)
        r = tsr_fail(err, TSR_ERR_INVALID_ARG, "no queue item with id %lld", (long long)q->id);
    return r;
}

tsr_status tsr_store_queue_update(tsr_store *s, const tsr_queue_item *item, tsr_error *err)
{
    if ((unsigned)item->state > TSR_JOB_INTERRUPTED) return tsr_fail(err, TSR_ERR_INVALID_ARG, "invalid job state");
    return update_row(s, "UPDATE queue SET" STAMP_SQL ", state = ?1, progress = ?2, error = ?3, output = ?5,"
                         " preset_id = ?6, overrides = ?7, input = ?8, preset_name = ?10, spec = ?11"
                         " WHERE id = ?4", item, 1, err);
}

tsr_status tsr_store_queue_set_state(tsr_store *s, int64_t id, tsr_job_state state, double progress,
                                     const char *error, tsr_error *err)
{
    if ((unsigned)state > TSR_JOB_INTERRUPTED) return tsr_fail(err, TSR_ERR_INVALID_ARG, "invalid job state");
    tsr_queue_item q;
    memset(&q, 0, sizeof q);
    q.id = id;
    q.state = state;
    q.progress = progress;
    snprintf(q.error, sizeof q.error, "%s", error ? error : "");
    return update_row(s, "UPDATE queue SET" STAMP_SQL ", state = ?1, progress = ?2, error = ?3 WHERE id = ?4",
                      &q, 0, err);
}

tsr_status tsr_store_queue_get(tsr_store *s, int64_t id, tsr_queue_item *out, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s, "SELECT " QUEUE_COLS " FROM queue WHERE id = ?1", err);
    if (!st) return TSR_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    tsr_status r = TSR_OK;
    if (rc == SQLITE_ROW) read_item(st, out);
    else if (rc == SQLITE_DONE) r = tsr_fail(err, TSR_ERR_INVALID_ARG, "no queue item with id %lld", (long long)id);
    else r = tsr_store_sql_fail(s, err, "reading a queue item");
    sqlite3_finalize(st);
    return r;
}

tsr_status tsr_store_queue_list(tsr_store *s, tsr_queue_item **out, int *count, tsr_error *err)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st = tsr_store_prepare(s, "SELECT " QUEUE_COLS " FROM queue ORDER BY position, id", err);
    if (!st) return TSR_ERR_STORE;
    int cap = 0, rc;
    tsr_status r = TSR_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 8;
            tsr_queue_item *grown = realloc(*out, (size_t)cap * sizeof **out);
            if (!grown) {
                r = tsr_fail(err, TSR_ERR_NOMEM, "store: out of memory listing the queue");
                break;
            }
            *out = grown;
        }
        read_item(st, &(*out)[(*count)++]);
    }
    if (r == TSR_OK && rc != SQLITE_DONE) r = tsr_store_sql_fail(s, err, "listing the queue");
    sqlite3_finalize(st);
    if (r != TSR_OK) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return r;
}

tsr_status tsr_store_queue_next(tsr_store *s, tsr_queue_item *out, int *found, tsr_error *err)
{
    *found = 0;
    sqlite3_stmt *st = tsr_store_prepare(s, "SELECT " QUEUE_COLS " FROM queue WHERE state = ?1"
                                            " ORDER BY position, id LIMIT 1", err);
    if (!st) return TSR_ERR_STORE;
    sqlite3_bind_int(st, 1, TSR_JOB_QUEUED);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_item(st, out);
        *found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? TSR_OK : tsr_store_sql_fail(s, err, "reading the queue");
}
