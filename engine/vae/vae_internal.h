/* The VAE network as layers over backend.h: weights bound to one backend, causal states per temporal conv. */
#ifndef TSR_VAE_INTERNAL_H
#define TSR_VAE_INTERNAL_H
#include "backend/backend.h"
#include "model/model.h"

struct tsr_engine {
    tsr_backend *be;
    tsr_engine_params params;
    char description[160];
    char fallback_reason[TSR_ERROR_MESSAGE_MAX];
};

typedef struct vae_conv {
    char name[96];
    tsr_conv_desc d;
    tsr_wt *w;
    tsr_state *state;          /* created lazily at the first chunk (its frame size is known then) */
} vae_conv;

typedef struct vae_resnet {
    tsr_wt *norm1, *norm2;
    vae_conv conv1, conv2, shortcut; /* shortcut.w == NULL when cin == cout */
} vae_resnet;

typedef struct vae_half {
    vae_conv conv_in, conv_out;
    vae_resnet *resnets;       /* [num_blocks][layers] */
    int layers;
    vae_conv resample[TSR_MAX_BLOCKS];          /* encoder: downsampler conv; decoder: upsampler conv */
    vae_conv upscale[TSR_MAX_BLOCKS];           /* decoder: upscale_conv (1x1x1) */
    int rt[TSR_MAX_BLOCKS];                     /* decoder: temporal factor of upsampler i */
    vae_resnet mid[2];
    tsr_wt *attn_norm, *attn;
    tsr_wt *norm_out;
} vae_half;

struct tsr_vae {
    tsr_engine *engine;
    tsr_backend *be;
    tsr_vae_config cfg;
    vae_half enc, dec;
};

/* vae_load.c */
tsr_status tsr_vae_load_half(tsr_vae *v, const tsr_weights *w, int encoder, tsr_error *err);
void tsr_vae_free_half(tsr_vae *v, vae_half *h);
void tsr_vae_reset_states(tsr_vae *v, vae_half *h);

/* vae_forward.c: one chunk through the network; `x` is consumed (freed), the result lands in `out`. */
tsr_status tsr_vae_conv(tsr_vae *v, vae_conv *c, tsr_act *x, const tsr_wt *pre_norm, int pre_silu,
                        const tsr_act *residual, tsr_act *out, tsr_error *err);
tsr_status tsr_vae_decoder_forward(tsr_vae *v, tsr_act *x, int first_chunk, tsr_act *out, tsr_error *err);
tsr_status tsr_vae_encoder_forward(tsr_vae *v, tsr_act *x, tsr_act *out, tsr_error *err);
#endif
