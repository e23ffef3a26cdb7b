/* Internal helpers of the SQLite store (darktable's src/common/database.c is the model: WAL, busy timeout,
 * versioned migrations in one transaction, a damaged file moved aside rather than trusted). */
#ifndef TSR_STORE_INTERNAL_H
#define TSR_STORE_INTERNAL_H
#include <sqlite3.h>

#include "core/common.h"
#include "tessera.h"

struct tsr_store {
    sqlite3 *db;
    char path[TSR_STORE_PATH_MAX];
    char notice[TSR_STORE_PATH_MAX + 256];
    int recovered;
};

/* Fill err with "store <what>: <sqlite message>" and return TSR_ERR_STORE. */
tsr_status tsr_store_sql_fail(tsr_store *s, tsr_error *err, const char *what);
/* Prepare one statement; NULL (err filled) on failure. */
sqlite3_stmt *tsr_store_prepare(tsr_store *s, const char *sql, tsr_error *err);
/* Run SQL without results (constant text only: never user data). */
tsr_status tsr_store_exec(tsr_store *s, const char *sql, tsr_error *err);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
tsr_status tsr_store_begin(tsr_store *s, tsr_error *err);
tsr_status tsr_store_commit(tsr_store *s, tsr_error *err);
void tsr_store_rollback(tsr_store *s);
/* Step a statement that returns no rows, then finalize it. */
tsr_status tsr_store_step_done(tsr_store *s, sqlite3_stmt *st, tsr_error *err, const char *what);
/* Copy column text into a fixed buffer (NUL-terminated, truncated). */
void tsr_store_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap);
int64_t tsr_store_now(void);

/* Migrations and the built-in presets (store_schema.c). */
tsr_status tsr_store_migrate(tsr_store *s, tsr_error *err);
#define TSR_STORE_SCHEMA_VERSION 4
#endif
