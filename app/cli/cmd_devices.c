/* tessera-cli devices: the GPUs the CUDA driver reports (tsr_devices_list), for --device / the app's choice. */
#include <stdio.h>

#include "cli.h"
#include "core/json.h"

int cmd_devices(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: tessera-cli devices [--json]\n\nLists the CUDA devices the driver reports (ordinal, name, "
                   "compute capability, memory)\nand whether Tessera's CUDA backend runs on them (sm_80 or newer). "
                   "Without a driver\nor GPU the list is empty and says why; the CPU backend is always there.\n");
            return 0;
        }
        if (cli_flag(argv, i, "--json")) json = true;
        else return cli_usage_error("devices", "unknown argument '%s'", argv[i]);
    }
    tsr_device_info d[TSR_MAX_DEVICES];
    int n = 0;
    tsr_error err = {0};
    if (tsr_devices_list(d, TSR_MAX_DEVICES, &n, &err) != TSR_OK) return cli_fail_err(&err);
    if (json) {
        tsr_sbuf b;
        tsr_sbuf_init(&b);
        tsr_sbuf_puts(&b, "{\"devices\":[");
        for (int i = 0; i < n; i++) {
            tsr_sbuf_printf(&b, "%s{\"ordinal\":%d,\"name\":", i ? "," : "", d[i].ordinal);
            tsr_sbuf_json_str(&b, d[i].name);
            tsr_sbuf_printf(&b, ",\"cc\":\"%d.%d\",\"memory_bytes\":%llu,\"supported\":%s}", d[i].cc_major,
                            d[i].cc_minor, (unsigned long long)d[i].total_memory, d[i].supported ? "true" : "false");
        }
        tsr_sbuf_puts(&b, "],\"note\":");
        tsr_sbuf_json_str(&b, n ? "" : err.message);
        tsr_sbuf_puts(&b, "}\n");
        fputs(b.failed ? "out of memory\n" : b.data, stdout);
        int rc = b.failed;
        tsr_sbuf_free(&b);
        return rc;
    }
    for (int i = 0; i < n; i++)
        printf("cuda:%d  %-40s sm_%d%d  %6.1f GiB%s\n", d[i].ordinal, d[i].name, d[i].cc_major, d[i].cc_minor,
               (double)d[i].total_memory / (1024.0 * 1024.0 * 1024.0), d[i].supported ? "" : "  (not supported: needs sm_80+)");
    if (n == 0) printf("no CUDA device: %s\n", err.message[0] ? err.message : "none reported");
    printf("cpu     the CPU backend (always available)\n");
    return 0;
}
