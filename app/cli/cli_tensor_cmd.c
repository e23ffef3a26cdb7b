/* Shared by the safetensors paths of `decode` and `encode` (see cli_tensor_cmd.h). */
#include <stdio.h>

#include "cli.h"
#include "cli_tensor_cmd.h"

bool cli_tensor_parse_common(int argc, char **argv, int *i, const char *in_opt, cli_tensor_opts *o, bool *bad)
{
    if (cli_opt_str(argc, argv, i, "--model", &o->model, bad) || cli_opt_str(argc, argv, i, in_opt, &o->input, bad) ||
        cli_opt_str(argc, argv, i, "-o", &o->output, bad) || cli_opt_str(argc, argv, i, "--output", &o->output, bad) ||
        cli_opt_str(argc, argv, i, "--backend", &o->backend, bad) || cli_opt_int(argc, argv, i, "--chunk", &o->chunk, bad) ||
        cli_opt_int(argc, argv, i, "--tile", &o->tile, bad) || cli_opt_int(argc, argv, i, "--threads", &o->threads, bad) ||
        cli_opt_int(argc, argv, i, "--frame-group", &o->frame_group, bad))
        return true;
    if (cli_flag(argv, *i, "--unscaled") || cli_flag(argv, *i, "--raw")) return o->raw = 1, true;
    if (cli_flag(argv, *i, "--quiet") || cli_flag(argv, *i, "-q")) return o->quiet = 1, true;
    return false;
}

int cli_tensor_check_common(const cli_tensor_opts *o, const char *cmd, const char *in_opt)
{
    if (!o->model || !o->input || !o->output) return cli_usage_error(cmd, "--model, %s and -o are required", in_opt);
    if (o->frame_group < 0) return cli_usage_error(cmd, "--frame-group must be 0 (whole chunks) or more");
    return 0;
}

int cli_tensor_command(const cli_tensor_opts *c, const void *opts, cli_tensor_run_fn run)
{
    tsr_error err = {0};
    tsr_model *m = NULL;
    tsr_engine *eng = NULL;
    tsr_vae *vae = NULL;
    int rc = cli_open_model(c->model, &m, &err);
    if (rc == 0) rc = cli_make_engine(c->backend, c->threads, &eng, &err);
    if (rc == 0 && tsr_vae_create(eng, m, &vae, &err) != TSR_OK) rc = cli_fail_err(&err);
    tsr_vae_config cfg = m ? *tsr_model_config(m) : (tsr_vae_config){0};
    tsr_model_destroy(&m); /* the weights now live in the backend: release the host copy */
    if (rc == 0) rc = run(opts, &cfg, vae, eng, &err);
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&eng);
    return rc;
}
