// conv_wg.cu — sm_90a only: a causal 3x3x3 (or 1x3x3) conv with stride 1 and zero padding 1 on warpgroup MMAs
// (wgmma.mma_async), each input patch staged once for all nine spatial taps. Opt-in (TSR_CUDA_WG): on an H100 it
// ran a 720p chunk at 451 TFLOP/s (376 with the GroupNorm fused) against cuDNN's 539 (509 with the apply pass),
// RESULTS.md session 11.
//
// A block computes 16 x 8*SEGS output pixels of one output frame for 128 output channels. Warpgroups 0 and 1 take 8
// rows each as SEGS wgmma tiles of 64 pixels (8 rows x 8 columns); warpgroup 2 produces (below). The input is walked
// in stages of (temporal tap, 64 channels): a stage's 18 x (8*SEGS + 2) pixel patch is staged in shared memory once,
// normalised on the way when the problem carries a GroupNorm affine (+SiLU), and every spatial tap (dy, dx) reads
// it in place: the wgmma A descriptor of a 64-pixel tile starts at patch pixel (row + dy, col + dx); a pixel's 64
// channels are one 128-byte row (128-byte swizzle), a tile's 8-pixel groups one patch row apart (the stride byte
// offset; the row pitch is a multiple of 8 pixels). So the GEMM's A operand is never materialised per tap (an
// im2col conv reads its input nine times per temporal tap), and the normalised input is never written to memory.
// fp32 accumulation; bias and residual in the epilogue. The causal prefix is read in place as in conv_bf16.cu;
// output frames before a.t_skip are not computed (the backend's frame-0 conv has made frame 0).
#include "conv_args.cuh"

#define WG_TH 16
#define WG_CK 64
#define WG_BSLOT (128 * WG_CK * 2)   // bytes of one weight slot
#define WG_NSLOT 6

template <int SEGS> struct WgShape {
    static constexpr int TW = 8 * SEGS, LW = TW + 2, PH = WG_TH + 2;
    static constexpr int PW = (LW + 7) / 8 * 8;           // patch row pitch (pixels): 8-row groups a whole atom apart
    static constexpr int NL = PH * LW;                    // pixels loaded per stage
    static constexpr int PATCH = PH * PW * 128;           // bytes of one patch buffer: a pixel's 64 channels a row
    static constexpr int SMEM = 1024 + 2 * PATCH + WG_NSLOT * WG_BSLOT + 128;   // + atom alignment, + mbarriers
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define TSR_WG_ENABLED 1
#endif

#ifdef TSR_WG_ENABLED
// A shared-memory matrix descriptor, K-major, 128-byte swizzle: rows of 128 bytes (64 bf16 of K) whose 16-byte
// chunk c sits at chunk c ^ (address bits 7-9); sbo: bytes from one 8-row group to the next. The swizzle follows the
// absolute shared-memory address (measured: a base offset of (start >> 7) & 7 gave wrong results), so a start
// shifted by whole rows (a tap's dx) needs no base offset.
__device__ __forceinline__ uint64_t wg_desc(uint32_t saddr, uint32_t sbo)
{
    return (uint64_t)((saddr & 0x3FFFFu) >> 4) | ((uint64_t)1 << 16) | ((uint64_t)(sbo >> 4) << 32) | ((uint64_t)1 << 62);
}
__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wg_wait()
{
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// keeps the compiler from moving accumulator accesses across a wgmma wait
__device__ __forceinline__ void wg_pin(float (&d)[64])
{
#pragma unroll
    for (int i = 0; i < 64; i++) asm volatile("" : "+f"(d[i])::"memory");
}

// One wgmma.mma_async m64n128k16 (bf16 in, fp32 accumulate into d; acc == 0: d is overwritten), A and B from
// shared memory descriptors.
__device__ __forceinline__ void wgmma_m64n128k16(float (&d)[64], uint64_t da, uint64_t db, int acc)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, "
                 "%22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, "
                 "%42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, "
                 "%62, %63 "
                 "}, %64, %65, p, 1, 1, 0, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
                   "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),
                   "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
                   "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]),
                   "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]),
                   "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
                   "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]),
                   "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "l"(da), "l"(db), "r"(acc));
}
// mbarriers (shared::cta): init, arrive, wait for the completion of the phase with the given parity
__device__ __forceinline__ void mbar_init(uint32_t bar, int count)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar)
{
    asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}\n" ::"r"(bar) : "memory");
}
// SiLU with one MUFU op: x sigmoid(x) = x (1 + tanh(x / 2)) / 2 (tanh.approx instead of exp + divide; the wg cases of
// test_cuda_ops stayed at rel RMS 0.0023-0.0028 with it, RESULTS.md session 11)
__device__ __forceinline__ float silu_tanh(float x)
{
    float h = 0.5f * x, t;
    asm("tanh.approx.f32 %0, %1;" : "=f"(t) : "f"(h));
    return fmaf(h, t, h);
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes)
{
    asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.expect_tx.shared::cta.b64 st, [%0], %1;\n}\n" ::"r"(bar), "r"(bytes)
                 : "memory");
}
// a bulk (TMA, 1D) copy global -> shared whose completion counts `bytes` on mbarrier bar
__device__ __forceinline__ void bulk_g2s(uint32_t dst, const void *src, uint32_t bytes, uint32_t bar)
{
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(dst),
                 "l"(src), "r"(bytes), "r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, int parity)
{
    uint32_t done = 0;
    while (!done)
        asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(done) : "r"(bar), "r"(parity) : "memory");
}
#endif

// Warp-specialised: warpgroups 0 and 1 issue the MMAs (8 output rows each) and the epilogue; in warpgroup 2 (the
// producer) one thread streams the weights (TMA bulk copies of the 16 KiB blocks the backend pre-swizzled at upload,
// tsr_wt.wgw, through the 6 slots) and the other three warps stage each next patch (global -> registers ->
// normalised -> shared) as soon as the consumers release its buffer, a stage ahead. mbarriers: fullB (the copy's
// bytes) / emptyB per weight slot, fullP / emptyP per patch buffer; the patch warps make their writes visible to the
// tensor cores (fence.proxy.async) before they arrive on fullP, the consumers arrive on an empty barrier once
// wgmma.wait_group says the MMAs reading it are done.
#define WG_PB 14                    // patch vectors in flight per producer thread (2 batches a stage)
template <int SEGS>
__device__ __forceinline__ void wg_body(const ConvArgs &a)
{
#ifdef TSR_WG_ENABLED
    using S = WgShape<SEGS>;
    constexpr int PJ = (S::NL * 8 + 95) / 96;                   // patch vectors per patch thread and stage
    extern __shared__ __align__(128) unsigned char wsm_raw[];
    const uint32_t sraw = (uint32_t)__cvta_generic_to_shared(wsm_raw);
    const uint32_t sbase = (sraw + 1023u) & ~1023u;    // patch buffers, weight slots (atom-aligned), mbarriers
    unsigned char *wsm = wsm_raw + (sbase - sraw);
    const uint32_t sB = sbase + 2 * S::PATCH, sBar = sB + WG_NSLOT * WG_BSLOT;
    const uint32_t fullB = sBar, emptyB = sBar + 8 * WG_NSLOT, fullP = sBar + 16 * WG_NSLOT, emptyP = fullP + 16;
    const int tid = threadIdx.x;
    const int cin_p = a.cin_p, taps = a.kt * 9, nyt = (a.h_out + WG_TH - 1) / WG_TH;
    const int x0 = blockIdx.x * S::TW, y0 = (blockIdx.y % nyt) * WG_TH, n0 = (blockIdx.y / nyt) * 128;
    const int to = blockIdx.z + a.t_skip;
    const int cchunks = cin_p / WG_CK, nstage = a.kt * cchunks, G = nstage * 9;

    if (tid == 0) {
        for (int i = 0; i < WG_NSLOT; i++) mbar_init(fullB + 8 * i, 1), mbar_init(emptyB + 8 * i, 2);
        for (int i = 0; i < 2; i++) mbar_init(fullP + 8 * i, 96), mbar_init(emptyP + 8 * i, 2);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (tid >= 256 && tid < 288) { // ------------------------------------------------------- weights
        if (tid == 256) {
            // a.w: the swizzled blocks [cout / 128][taps][cin / 64] of 16 KiB (128 rows of 64 inputs)
            const unsigned char *wsrc = (const unsigned char *)a.w + (size_t)(n0 / 128) * taps * cchunks * WG_BSLOT;
            for (int g = 0; g < G; g++) {
                const int ps = g / 9, dt = ps / cchunks, cc = ps - dt * cchunks, tap = dt * 9 + (g - ps * 9);
                const int slot = g % WG_NSLOT, k = g / WG_NSLOT;
                if (k >= 1) mbar_wait(emptyB + 8 * slot, (k - 1) & 1);
                mbar_expect_tx(fullB + 8 * slot, WG_BSLOT);
                bulk_g2s(sB + (uint32_t)slot * WG_BSLOT, wsrc + (size_t)(tap * cchunks + cc) * WG_BSLOT, WG_BSLOT,
                         fullB + 8 * slot);
            }
        }
        return;
    }
    if (tid >= 288) { // ------------------------------------------------------------------- patches
        const int p = tid - 288, c8 = p & 7;
        const long long plane = (long long)a.h_in * a.w_in * cin_p;
        const tsr_bf16 *psrc = a.in;
        float sc[8], sf[8];
        bool norm = false;
        // stage q's source frame and this thread's 8 channels of affine
        auto stage_src = [&](int q) {
            const int dt = q / cchunks, cc = q - dt * cchunks, e = to * a.st + dt;
            const float2 *aff;
            if (e >= a.prefix) {
                psrc = a.in + (long long)(e - a.prefix) * plane;
                aff = a.in_aff ? a.in_aff + (long long)(e - a.prefix) * cin_p : nullptr;
            } else if (a.pre) {
                psrc = a.pre + (long long)e * plane;
                aff = a.in_aff ? a.pre_aff + (long long)e * cin_p : nullptr;
            } else {                    // first chunk: frame 0 replicated
                psrc = a.in;
                aff = a.in_aff;
            }
            psrc += cc * WG_CK + c8 * 8;
            norm = aff != nullptr;
            if (norm) {
                const float4 *af = (const float4 *)(aff + cc * WG_CK + c8 * 8);
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    float4 v = __ldg(af + j);
                    sc[2 * j] = v.x, sf[2 * j] = v.y, sc[2 * j + 1] = v.z, sf[2 * j + 1] = v.w;
                }
            }
        };
        for (int q = 0; q < nstage; q++) {
            const int buf = q & 1;
            if (q >= 2) mbar_wait(emptyP + 8 * buf, ((q >> 1) - 1) & 1);
            stage_src(q);
            for (int j0 = 0; j0 < PJ; j0 += WG_PB) {
                uint4 pv[WG_PB];
                int ppx[WG_PB];
                bool pok[WG_PB];
#pragma unroll
                for (int k = 0; k < WG_PB; k++) {   // loaded pixel l (row l / LW) -> patch pixel ppx
                    const int l = j0 + k < PJ ? (p + 96 * (j0 + k)) >> 3 : S::NL;
                    ppx[k] = l < S::NL ? l / S::LW * S::PW + l % S::LW : -1;
                    pok[k] = false;
                    pv[k] = make_uint4(0, 0, 0, 0);
                    if (ppx[k] >= 0) {
                        const int hi = y0 - a.pt + l / S::LW, wi = x0 - a.pl + l % S::LW;
                        if (hi >= 0 && hi < a.h_in && wi >= 0 && wi < a.w_in) {
                            pv[k] = __ldg((const uint4 *)(psrc + ((long long)hi * a.w_in + wi) * cin_p));
                            pok[k] = true;
                        }
                    }
                }
#pragma unroll
                for (int k = 0; k < WG_PB; k++) {
                    if (ppx[k] < 0) continue;
                    uint4 x = pv[k];
                    if (norm && pok[k]) {
                        uint32_t *v = (uint32_t *)&x;
#pragma unroll
                        for (int i = 0; i < 4; i++) {
                            float f0 = fmaf(lo_f(v[i]), sc[2 * i], sf[2 * i]);
                            float f1 = fmaf(hi_f(v[i]), sc[2 * i + 1], sf[2 * i + 1]);
                            if (a.silu) f0 = silu_tanh(f0), f1 = silu_tanh(f1);
                            v[i] = pack2_rn(f0, f1);
                        }
                    }
                    *(uint4 *)(wsm + buf * S::PATCH + ppx[k] * 128 + ((c8 ^ (ppx[k] & 7)) << 4)) = x;
                }
            }
            fence_proxy_async();
            mbar_arrive(fullP + 8 * buf);
        }
        return;
    }

    // ---------------------------------------------------------------------------------------- consumers
    const int wg = tid >> 7, wq = (tid >> 5) & 3, lane = tid & 31;
    float acc[SEGS][64];               // the first MMA of each tile overwrites it (scale-d 0)
    for (int g = 0; g < G; g++) {
        const int ps = g / 9, t9 = g - ps * 9, dy = t9 / 3, dx = t9 - dy * 3;
        if (t9 == 0) mbar_wait(fullP + 8 * (ps & 1), (ps >> 1) & 1);
        mbar_wait(fullB + 8 * (g % WG_NSLOT), (g / WG_NSLOT) & 1);
        // tap g: rows 8 wg .. of the tile shifted by (dy, dx) in the patch, 4 k-steps of 16 channels (32 bytes)
        const uint32_t pa = sbase + (uint32_t)(ps & 1) * S::PATCH + (uint32_t)(((8 * wg + dy) * S::PW + dx) * 128);
        const uint32_t pb = sB + (uint32_t)(g % WG_NSLOT) * WG_BSLOT;
        wg_fence();
#pragma unroll
        for (int ks = 0; ks < 4; ks++) {
            const uint64_t db = wg_desc(pb + ks * 32, 1024);
#pragma unroll
            for (int s = 0; s < SEGS; s++)
                wgmma_m64n128k16(acc[s], wg_desc(pa + 8 * s * 128 + ks * 32, S::PW * 128), db, g | ks);
        }
        wg_commit();
        wg_wait<1>();                   // tap g - 1's MMAs are done: release its weight slot (and patch buffer)
        if (g >= 1 && (tid & 127) == 0) {
            mbar_arrive(emptyB + 8 * ((g - 1) % WG_NSLOT));
            if (t9 == 0) mbar_arrive(emptyP + 8 * ((ps - 1) & 1));
        }
    }
    wg_wait<0>();
#pragma unroll
    for (int s = 0; s < SEGS; s++) wg_pin(acc[s]);

    // epilogue: accumulator i of tile s is row 16 wq + lane/4 + 8 ((i/2) % 2) (pixel row 2 wq + (i/2) % 2, column
    // lane/4 of the tile), channel 8 (i/4) + 2 (lane % 4) + i % 2
    const int nl = (lane & 3) * 2;
#pragma unroll
    for (int s = 0; s < SEGS; s++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int y = y0 + 8 * wg + 2 * wq + h, x = x0 + 8 * s + (lane >> 2);
            if (y >= a.h_out || x >= a.w_out) continue;
            const long long o = (((long long)to * a.h_out + y) * a.w_out + x) * a.cout_p + n0 + nl;
#pragma unroll
            for (int nb = 0; nb < 16; nb++) {
                float v0 = acc[s][nb * 4 + 2 * h], v1 = acc[s][nb * 4 + 2 * h + 1];
                if (a.bias) v0 += a.bias[n0 + nb * 8 + nl], v1 += a.bias[n0 + nb * 8 + nl + 1];
                if (a.res) {
                    uint32_t r = *(const uint32_t *)(a.res + o + nb * 8);
                    v0 += lo_f(r), v1 += hi_f(r);
                }
                *(uint32_t *)((tsr_bf16 *)a.out + o + nb * 8) = pack2(v0, v1);
            }
        }
#endif
}

extern "C" __global__ void __launch_bounds__(384, 1) tsr_conv_wg8(ConvArgs a) { wg_body<1>(a); }
extern "C" __global__ void __launch_bounds__(384, 1) tsr_conv_wg16(ConvArgs a) { wg_body<2>(a); }
