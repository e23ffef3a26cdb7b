#!/usr/bin/env bash
# Issue #7 on the GPU machine (no FFmpeg there): unpack what tests/media/pack_device.sh packed beside this script
# (as run.sh), then: NVENC probe (h264_nvenc / hevc_nvenc: the writer's probe answer, FFmpeg's reason when
# refused, an encode + probe when offered); full-model round trips of the shared clips, the PNG and a clip with
# audio (MP4/MKV/MOV) on the CUDA backend, each probed (size, frames, rate, audio); decode throughput with
# real encoders against a null sink (bench_media_sink); peak host RSS of 100- and 1000-frame round trips.
# Logs under $OUT; a table last. Local dry run: TSR_MODEL=builtin:small TSR_BACKEND=cpu TSR_QUICK=1.
# TSR_PARTS=bench runs only the throughput part, with TSR_BENCH_SINKS (default: null h264 hevc + NVENC if
# offered); a bins.tar.xz beside this script (bin/ only) replaces the packed programs (a second call without
# re-sending the libraries' pack).
set -u
here=$(cd "$(dirname "$0")" && pwd)
O=${OUT:-/tmp/tsr-device-out}; mkdir -p "$O"
M=${TSR_MODEL:-builtin} BK=${TSR_BACKEND:-cuda} QUICK=${TSR_QUICK:-0}
BENCH_SHAPE=${TSR_BENCH_SHAPE:-16x17x90x160}
T=$(mktemp -d /tmp/tsr-dev-XXXXXX)
cd "$T" && tar -xJf "$here/pack.tar.xz" || { echo "cannot unpack"; exit 1; }
[ -f "$here/bins.tar.xz" ] && { tar -xJf "$here/bins.tar.xz" || exit 1; }
PARTS=${TSR_PARTS:-all}
# the carried libraries for our programs only (not for python3 or the system's tools): wrappers
mkdir -p "$T/wrap"
for b in tessera-cli tsr_probe bench_media_sink; do
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s/lib exec %s/bin/%s "$@"\n' "$T" "$T" "$b" > "$T/wrap/$b"; chmod +x "$T/wrap/$b"
done
CLI=$T/wrap/tessera-cli PROBE=$T/wrap/tsr_probe C=$T/clips
LOG=$O/log.txt TABLE=$O/table.txt
: > "$LOG"; : > "$TABLE"
say() { echo "$*" | tee -a "$LOG"; }

# m LABEL CMD...: run CMD (output to the log), then one table row: wall s, peak RSS MiB (ru_maxrss), exit code.
m() {
  local label=$1; shift
  say "== $label: $*"
  local res
  res=$(python3 -c '
import resource, subprocess, sys, time
t = time.time()
with open(sys.argv[1], "ab") as log:
    r = subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
print("%.2f %.1f %d" % (time.time() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, r.returncode))
' "$LOG" timeout 120 "$@")
  [ -n "$res" ] || res="0 0 99"
  set -- $res
  printf '%-26s wall %7s s  RSS %7s MiB  rc %s\n' "$label" "$1" "$2" "$3" | tee -a "$TABLE" >>"$LOG"
  return "$3"
}
probe() { "$PROBE" "$@" 2>&1 | sed "s|$T/||" | tee -a "$TABLE" >>"$LOG"; }

say "== machine"; (nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; uname -r;
  ldd --version | head -1; nproc) 2>&1 | tee -a "$LOG" "$TABLE" >/dev/null
missing=$(cd "$T/bin" && LD_LIBRARY_PATH=$T/lib ldd tessera-cli tsr_probe bench_media_sink | grep "not found" | sort -u)
[ -z "$missing" ] || { say "missing libraries: $missing"; cat "$LOG"; exit 1; }
"$CLI" --version | tee -a "$TABLE" >>"$LOG"
say "== driver libraries for NVENC"
(ldconfig -p | grep -E "libnvidia-encode|libnvcuvid|libcuda\.so" ; ls /usr/local/nvidia/lib64 2>/dev/null | grep -E "encode|cuvid") 2>&1 |
  tee -a "$LOG" | sed 's/^/  /' >>"$TABLE"

if [ "$PARTS" = all ]; then
# 1. NVENC: the writer's probe (opening the encoder on a 256x256 frame) decides; FFmpeg's own log says why.
nvenc=""
for c in h264_nvenc hevc_nvenc; do
  before=$(wc -l < "$LOG")
  if m "transcode $c" env TESSERA_FFMPEG_LOG=1 "$CLI" transcode "$C/Eyes_212x120.mp4" -o "$T/nv_$c.mp4" --codec "$c" -q; then
    nvenc="$nvenc $c"; probe "$T/nv_$c.mp4"
  else # FFmpeg's own lines from the probe, then ours
    tail -n +$((before + 2)) "$LOG" | grep -v -E "^(transcode|==)" | head -6 | sed 's/^/  why: /' >>"$TABLE"
  fi
done
say "NVENC offered:${nvenc:- none}"; echo "NVENC offered:${nvenc:- none}" >>"$TABLE"

# 2. Full-model round trips on the CUDA backend (odd sizes padded and cropped back; audio kept).
V="--model $M --backend $BK -q"
rt() { # label input output [args]
  local label=$1 in=$2 out=$3; shift 3
  local p="$T/$out"
  [ "${out: -1}" = / ] && p="$T/${out}frame_000000.png"
  m "$label" "$CLI" roundtrip "$in" -o "$T/$out" $V "$@" && probe "$p"
}
# (each process builds its cuDNN plans per shape, seconds each: one output per clip; MP4/MKV/MOV audio of the
# round trip is covered on the CPU by the media suite)
rt "roundtrip Eyes mp4" "$C/Eyes_212x120.mp4" rt_eyes.mp4
[ "$QUICK" = 1 ] || rt "roundtrip Mustache mkv" "$C/Mustache_640x360.mp4" rt_mustache.mkv
rt "roundtrip Sadhu png dir" "$C/Sadhu_320x478.png" rt_sadhu/
rt "roundtrip av (audio) mov" "$C/av.mp4" rt_av.mov
for c in $(echo $nvenc | cut -d" " -f1); do rt "roundtrip Mustache $c" "$C/Mustache_640x360.mp4" "rt_mustache_$c.mp4" --codec "$c"; done
fi

# 3. Decode throughput: null sink (compute alone) vs the writer with real encoders; decoder blocked on writer?
say "== bench_media_sink $M $BK $BENCH_SHAPE"
timeout 150 "$T/wrap/bench_media_sink" "$M" "$BK" "$BENCH_SHAPE" "$T" ${TSR_BENCH_SINKS:-null h264 hevc ${nvenc:-}} 2>&1 | tee -a "$LOG" |
  sed "s|$T/||" >>"$TABLE"

[ "$PARTS" = all ] || { echo; echo "==== table"; cat "$TABLE"; exit 0; }
# 4. Host memory against clip length (x264 output; the latent between encode and decode is 1/48 of the floats).
for n in 100 1000; do
  [ "$QUICK" = 1 ] && continue
  m "roundtrip long$n (320x240)" "$CLI" roundtrip "$C/long$n.mp4" -o "$T/rt_long$n.mp4" $V && probe "$T/rt_long$n.mp4"
done
m "transcode long1000 (no VAE)" "$CLI" transcode "$C/long1000.mp4" -o "$T/tc_long1000.mp4" -q

echo; echo "==== table"; cat "$TABLE"
