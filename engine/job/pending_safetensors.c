/* Stand-ins for safetensors I/O until feat/loaders is merged (see meson.build). */
#include "core/common.h"
#include "model/safetensors.h"

tsr_status tsr_safetensors_open(const char *path, tsr_weights *out, tsr_error *err)
{
    return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: safetensors reading is not in this build yet (feat/loaders)", path);
}
tsr_status tsr_safetensors_parse(const void *data, size_t size, const char *label, tsr_weights *out, tsr_error *err)
{
    return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: safetensors reading is not in this build yet", label);
}
tsr_status tsr_safetensors_write(const char *path, const tsr_st_tensor *tensors, int n, const char *const *meta,
                                 int meta_pairs, tsr_error *err)
{
    return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: safetensors writing is not in this build yet (feat/loaders)", path);
}
tsr_status tsr_model_open(const char *path, tsr_model **out, tsr_error *err)
{
    *out = NULL;
    return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: model files are not readable in this build yet (feat/loaders)", path);
}
