"""PyTorch reference timings for the conv shapes of conv_bench.cu (bf16 F.conv3d, as SeedVR2's own code runs
them: NCDHW, and channels_last_3d). Causal padding materialised (t + 2 frames in, t out). Median of events."""
import torch, torch.nn.functional as F

LAYERS = [("conv_in 16->512 @90x160", 16, 512, 3, 90, 160), ("mid 512->512 @90x160 +res", 512, 512, 3, 90, 160),
          ("up 512->512 @180x320", 512, 512, 3, 180, 320), ("up 512->512 @360x640", 512, 512, 3, 360, 640),
          ("shortcut 1x1 512->256 @360x640", 512, 256, 1, 360, 640), ("up 256->256 @360x640 +res", 256, 256, 3, 360, 640),
          ("up 256->256 @720x1280", 256, 256, 3, 720, 1280), ("up 128->128 @720x1280 +res", 128, 128, 3, 720, 1280),
          ("conv_out 128->3 @720x1280", 128, 3, 3, 720, 1280)]

def med(f, reps=10):
    f(); f(); torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); f(); b.record(); b.synchronize(); ts.append(a.elapsed_time(b))
    return sorted(ts)[len(ts) // 2]

torch.backends.cudnn.benchmark = True
print("torch", torch.__version__, "cudnn", torch.backends.cudnn.version())
rows = []
for name, cin, cout, k, h, w in LAYERS:
    x = torch.randn(1, cin, 1 + k - 1, h, w, device="cuda", dtype=torch.bfloat16)
    wt = torch.randn(cout, cin, k, k, k, device="cuda", dtype=torch.bfloat16) / (cin * k ** 3) ** 0.5
    b = torch.randn(cout, device="cuda", dtype=torch.bfloat16)
    p = k // 2
    flops = 2 * h * w * cout * cin * k ** 3
    t1 = med(lambda: F.conv3d(x, wt, b, padding=(0, p, p)))
    xc, wc = x.to(memory_format=torch.channels_last_3d), wt.to(memory_format=torch.channels_last_3d)
    t2 = med(lambda: F.conv3d(xc, wc, b, padding=(0, p, p)))
    rows.append(f"| {name} | torch bf16 NCDHW | {t1:.3f} | {flops / t1 / 1e9:.0f} |")
    rows.append(f"| {name} | torch bf16 channels_last_3d | {t2:.3f} | {flops / t2 / 1e9:.0f} |")
    del x, wt, xc, wc
    torch.cuda.empty_cache()
print("\n| layer | impl | ms | TFLOP/s |\n|---|---|---|---|")
print("\n".join(rows))
