/* Read-only file mapping and atomic output files (UTF-8 paths on every platform). */
#ifndef TSR_CORE_FILE_H
#define TSR_CORE_FILE_H
#include <stddef.h>
#include <stdio.h>
#include "tessera.h"

/* Map a whole file read-only. A zero-length file maps to a non-NULL empty region. */
tsr_status tsr_map_file(const char *path, void **data, size_t *size, tsr_error *err);
void tsr_unmap_file(void *data, size_t size);

/* fopen with a UTF-8 path (UTF-16 on Windows). */
FILE *tsr_fopen(const char *path, const char *mode);

/* Atomic output: write to "<path>.tmp-XXXX" beside the target; commit renames, abort deletes. */
typedef struct tsr_atomic_file {
    FILE *fp;
    char *final_path;
    char *temp_path;
} tsr_atomic_file;
tsr_status tsr_atomic_open(tsr_atomic_file *af, const char *path, tsr_error *err);
tsr_status tsr_atomic_commit(tsr_atomic_file *af, tsr_error *err);
void tsr_atomic_abort(tsr_atomic_file *af);
/* Rename `from` over `to` (replacing it), UTF-8 paths. */
int tsr_rename_replace(const char *from, const char *to);
int tsr_remove(const char *path);
/* Create one directory (UTF-8 path); 0 when it exists afterwards. */
int tsr_mkdir(const char *path);
/* Per-user data folder, UTF-8, without trailing separator: %LOCALAPPDATA%\Tessera on Windows,
 * $XDG_DATA_HOME/tessera (default ~/.local/share/tessera) elsewhere. Not created. Caller frees; NULL when
 * no home can be found. */
char *tsr_user_data_dir(void);
#endif
