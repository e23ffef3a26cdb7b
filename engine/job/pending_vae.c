/* Stand-ins for the VAE API until feat/cpu is merged (see meson.build): every call says so. */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

static tsr_status pending(tsr_error *err)
{
    return tsr_fail(err, TSR_ERR_UNSUPPORTED, "the VAE is not in this build yet (feat/cpu not merged)");
}

void tsr_engine_params_default(tsr_engine_params *p) { memset(p, 0, sizeof *p); }
tsr_status tsr_engine_create(const tsr_engine_params *p, tsr_engine **out, tsr_error *err)
{
    *out = NULL;
    return pending(err);
}
void tsr_engine_destroy(tsr_engine **e) { if (e) *e = NULL; }
tsr_status tsr_vae_create(tsr_engine *engine, const tsr_model *model, tsr_vae **out, tsr_error *err)
{
    *out = NULL;
    return pending(err);
}
void tsr_vae_destroy(tsr_vae **v) { if (v) *v = NULL; }
void tsr_decode_params_default(tsr_decode_params *p) { memset(p, 0, sizeof *p); }
void tsr_encode_params_default(tsr_encode_params *p) { memset(p, 0, sizeof *p); }
tsr_status tsr_vae_decode(tsr_vae *vae, const float *latent, int c, int t, int h, int w, const tsr_decode_params *p,
                          tsr_frame_sink sink, void *sink_user, tsr_error *err)
{
    return pending(err);
}
tsr_status tsr_vae_encode(tsr_vae *vae, int height, int width, tsr_frame_source src, void *src_user,
                          const tsr_encode_params *p, tsr_latent *out, tsr_error *err)
{
    return pending(err);
}
void tsr_latent_free(tsr_latent *l)
{
    if (!l) return;
    free(l->data);
    l->data = NULL;
}
