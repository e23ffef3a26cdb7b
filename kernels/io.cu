// io.cu — host-transfer conversions done on the device, and the profiler's gate.
//  - tsr_frames_to_act: frame-major fp32 frames [n][c][h][w] (as uploaded from the host) -> NDHWC bf16
//    [n][H][W][cp] with the area outside h x w set to `fill` and the padded channels to 0 (the encoder's
//    x16 padding with -1, spec §11, without a host pass over the frames).
//  - tsr_act_to_planar_f32: NDHWC bf16 -> planar fp32 [c][t*h*w] (downloads need no host conversion).
//  - tsr_prof_gate: holds the stream until the host has queued a profiled op part (or a timeout passes),
//    so the events around the part measure device time only, never the host's enqueueing.
#include "tsr_mma.cuh"

// one thread per output pixel (all cp channels: one 16-byte store when cp == 8)
extern "C" __global__ void tsr_frames_to_act(const float *in, int n, int c, int h, int w, int H, int W, int cp,
                                             float fill, tsr_bf16 *out)
{
    long long pix = (long long)n * H * W;
    for (long long p = blockIdx.x * (long long)blockDim.x + threadIdx.x; p < pix;
         p += (long long)gridDim.x * blockDim.x) {
        int x = (int)(p % W);
        int y = (int)(p / W % H);
        long long f = p / ((long long)W * H);
        int inside = y < h && x < w;
        const float *src = in + f * c * (long long)h * w + (long long)y * w + x;
        tsr_bf16 *o = out + p * cp;
        for (int ch0 = 0; ch0 < cp; ch0 += 8) {
            uint32_t v[4];
            for (int k = 0; k < 4; k++) {
                int a = ch0 + 2 * k, b = a + 1;
                float lo = a < c ? (inside ? src[(long long)a * h * w] : fill) : 0.f;
                float hi = b < c ? (inside ? src[(long long)b * h * w] : fill) : 0.f;
                v[k] = pack2(lo, hi);
            }
            *reinterpret_cast<uint4 *>(o + ch0) = make_uint4(v[0], v[1], v[2], v[3]);
        }
    }
}

// planar fp32 [c][pix] from NDHWC bf16 [pix][cp]; threads run along pixels so the stores coalesce
extern "C" __global__ void tsr_act_to_planar_f32(const tsr_bf16 *x, int cp, int c, long long pix, float *out)
{
    for (long long p = blockIdx.x * (long long)blockDim.x + threadIdx.x; p < pix;
         p += (long long)gridDim.x * blockDim.x)
        for (int ch = 0; ch < c; ch++) out[(long long)ch * pix + p] = bf2f(x[p * cp + ch]);
}

// one thread: wait until *flag >= target (the host wrote it after queueing the part) or timeout_ns passed
extern "C" __global__ void tsr_prof_gate(const volatile unsigned *flag, unsigned target, unsigned long long timeout_ns)
{
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    while ((int)(*flag - target) < 0) {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
        if (t - t0 > timeout_ns) break;
        __nanosleep(2000);
    }
}
