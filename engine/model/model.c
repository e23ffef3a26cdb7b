#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/filler.h"
#include "model/vae_tensors.h"

const tsr_weights *tsr_model_weights(const tsr_model *m) { return &m->weights; }
const tsr_vae_config *tsr_model_config(const tsr_model *m) { return &m->config; }

static void config_digest(const tsr_vae_config *c, char out[65])
{
    /* builtin weights are a pure function of the configuration */
    char buf[256];
    int n = snprintf(buf, sizeof buf, "builtin:%d:%d:%d:%d", c->in_channels, c->out_channels, c->latent_channels,
                     c->num_blocks);
    for (int i = 0; i < c->num_blocks && n < (int)sizeof buf - 16; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, ":%d", c->block_out[i]);
    snprintf(buf + n, sizeof buf - (size_t)n, ":%d:%d:%d:%d", c->enc_layers_per_block, c->dec_layers_per_block,
             c->has_encoder, c->has_decoder);
    snprintf(out, 65, "%016llx", (unsigned long long)tsr_fnv1a64(buf));
}

tsr_status tsr_model_builtin(const tsr_vae_config *cfg, tsr_model **out, tsr_error *err)
{
    *out = NULL;
    tsr_model *m = tsr_calloc(1, sizeof *m, err);
    if (!m) return TSR_ERR_NOMEM;
    if (cfg) m->config = *cfg;
    else tsr_vae_config_seedvr2(&m->config);
    tsr_status st = tsr_weights_builtin(&m->config, &m->weights, err);
    if (st != TSR_OK) {
        free(m);
        return st;
    }
    config_digest(&m->config, m->digest);
    *out = m;
    return TSR_OK;
}

void tsr_model_destroy(tsr_model **model)
{
    if (!model || !*model) return;
    tsr_weights_free(&(*model)->weights);
    free(*model);
    *model = NULL;
}
