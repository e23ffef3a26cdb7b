/* Statement helpers shared by the store files. Only constant SQL goes through tsr_store_exec; every value
 * from a caller is bound as a parameter. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store_internal.h"

tsr_status tsr_store_sql_fail(tsr_store *s, tsr_error *err, const char *what)
{
    return tsr_fail(err, TSR_ERR_STORE, "store %s: %s", what, s && s->db ? sqlite3_errmsg(s->db) : "no database");
}

sqlite3_stmt *tsr_store_prepare(tsr_store *s, const char *sql, tsr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        tsr_store_sql_fail(s, err, "query");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

tsr_status tsr_store_exec(tsr_store *s, const char *sql, tsr_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        tsr_fail(err, TSR_ERR_STORE, "store: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return TSR_ERR_STORE;
    }
    return TSR_OK;
}

tsr_status tsr_store_begin(tsr_store *s, tsr_error *err) { return tsr_store_exec(s, "BEGIN IMMEDIATE", err); }
tsr_status tsr_store_commit(tsr_store *s, tsr_error *err) { return tsr_store_exec(s, "COMMIT", err); }
void tsr_store_rollback(tsr_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

tsr_status tsr_store_step_done(tsr_store *s, sqlite3_stmt *st, tsr_error *err, const char *what)
{
    int rc = sqlite3_step(st);
    tsr_status r = rc == SQLITE_DONE ? TSR_OK : tsr_store_sql_fail(s, err, what);
    sqlite3_finalize(st);
    return r;
}

void tsr_store_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int64_t tsr_store_now(void) { return (int64_t)time(NULL); }

const char *tsr_job_state_name(tsr_job_state s)
{
    static const char *const names[] = {"queued", "running", "paused", "done", "failed", "cancelled", "interrupted"};
    return (unsigned)s < TSR_ARRAY_LEN(names) ? names[s] : "unknown";
}
