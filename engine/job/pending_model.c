/* Stand-in for tsr_model_open until feat/loaders' model.c is merged (see meson.build). */
#include "core/common.h"
#include "model/safetensors.h"

tsr_status tsr_model_open(const char *path, tsr_model **out, tsr_error *err)
{
    *out = NULL;
    return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: model files are not readable in this build yet (feat/loaders)", path);
}
