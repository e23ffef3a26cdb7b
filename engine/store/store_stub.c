/* Built without SQLite: the store API exists and says why it cannot work. */
#include <string.h>

#include "core/common.h"

#define NO_STORE(err) tsr_fail(err, TSR_ERR_UNSUPPORTED, "this build has no SQLite store (meson -Dstore=enabled)")

void tsr_store_params_default(tsr_store_params *p)
{
    memset(p, 0, sizeof *p);
    p->recover_interrupted = 1;
}
tsr_status tsr_store_default_path(char *buf, size_t cap, tsr_error *err)
{
    if (cap) buf[0] = 0;
    return NO_STORE(err);
}
tsr_status tsr_store_open(const tsr_store_params *p, tsr_store **out, tsr_error *err)
{
    *out = NULL;
    return NO_STORE(err);
}
void tsr_store_close(tsr_store **s)
{
    if (s) *s = NULL;
}
const char *tsr_store_path(const tsr_store *s) { return ""; }
const char *tsr_store_notice(const tsr_store *s) { return ""; }
int tsr_store_recovered_jobs(const tsr_store *s) { return 0; }
int tsr_store_schema_version(void) { return 0; }
void tsr_store_free(void *p) { (void)p; }
const char *tsr_job_state_name(tsr_job_state s)
{
    static const char *const names[] = {"queued", "running", "paused", "done", "failed", "cancelled", "interrupted"};
    return (unsigned)s < TSR_ARRAY_LEN(names) ? names[s] : "unknown";
}
void tsr_preset_default(tsr_preset *p) { memset(p, 0, sizeof *p); }
void tsr_tuned_clear(tsr_tuned *t)
{
    if (t) memset(t, 0, sizeof *t);
}
tsr_status tsr_store_presets_list(tsr_store *s, tsr_preset **o, int *n, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_preset_get(tsr_store *s, int64_t id, tsr_preset *o, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_preset_find(tsr_store *s, const char *nm, tsr_preset *o, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_preset_save(tsr_store *s, tsr_preset *p, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_preset_duplicate(tsr_store *s, int64_t id, const char *nm, int64_t *o, tsr_error *err)
{
    return NO_STORE(err);
}
tsr_status tsr_store_preset_delete(tsr_store *s, int64_t id, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_queue_add(tsr_store *s, tsr_queue_item *q, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_queue_update(tsr_store *s, const tsr_queue_item *q, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_queue_set_state(tsr_store *s, int64_t id, tsr_job_state st, double pr, const char *e,
                                     tsr_error *err)
{
    return NO_STORE(err);
}
tsr_status tsr_store_queue_get(tsr_store *s, int64_t id, tsr_queue_item *o, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_queue_list(tsr_store *s, tsr_queue_item **o, int *n, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_queue_move(tsr_store *s, int64_t id, int pos, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_queue_remove(tsr_store *s, int64_t id, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_queue_next(tsr_store *s, tsr_queue_item *o, int *f, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_history_append(tsr_store *s, tsr_history_entry *e, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_history_list(tsr_store *s, int lim, tsr_history_entry **o, int *n, tsr_error *err)
{
    return NO_STORE(err);
}
tsr_status tsr_store_history_clear(tsr_store *s, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_tuned_get(tsr_store *s, const tsr_tune_key *k, tsr_tuned *o, int *f, tsr_error *err)
{
    return NO_STORE(err);
}
tsr_status tsr_store_tuned_put(tsr_store *s, const tsr_tune_key *k, const tsr_tuned *t, tsr_error *err)
{
    return NO_STORE(err);
}
tsr_status tsr_store_tuned_forget(tsr_store *s, const tsr_tune_key *k, tsr_error *err) { return NO_STORE(err); }
tsr_status tsr_store_backend_tuning_get(tsr_store *s, const char *d, char **t, tsr_error *err)
{
    *t = NULL;
    return NO_STORE(err);
}
tsr_status tsr_store_backend_tuning_put(tsr_store *s, const char *d, const char *t, tsr_error *err)
{
    return NO_STORE(err);
}
