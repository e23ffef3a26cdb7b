#!/usr/bin/env bash
# suite 'media': the CLI's media commands end to end (ffprobe checks), audio kept, bounded memory,
# clear errors for bad inputs, no output and no temp file after a cancelled or failed job.
# TSR_PROBE (tsr_probe, built beside) is checked against ffprobe here: the GPU machine has no ffprobe.
set -u
CLI=${TSR_CLI:?}
CLIPS=${TSR_CLIPS:-../shared/clips}
command -v ffprobe >/dev/null && command -v ffmpeg >/dev/null || { echo "skipped: no ffmpeg/ffprobe"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/tsr-media-cli-XXXXXX")
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
probe() { # file entry -> value of the first video stream
  ffprobe -v error -select_streams v:0 -count_frames -show_entries stream="$2" -of default=nw=1:nk=1 "$1" 2>/dev/null | head -1
}
expect_video() { # file w h frames fps
  local w h n r
  w=$(probe "$1" width); h=$(probe "$1" height); n=$(probe "$1" nb_read_frames); r=$(probe "$1" r_frame_rate)
  if [ "$w" = "$2" ] && [ "$h" = "$3" ] && [ "$n" = "$4" ] && [ "$r" = "$5" ]; then ok "$1 ${w}x${h} $n frames $r"
  else bad "$1: got ${w}x${h} $n frames $r, want $2x$3 $4 frames $5"; fi
}
probe_agrees() { # file: tsr_probe and ffprobe agree on size, frames, rate and audio streams
  [ -n "${TSR_PROBE:-}" ] || return 0
  local mine w h n r na
  mine=$("$TSR_PROBE" "$1" 2>/dev/null)
  w=$(probe "$1" width); h=$(probe "$1" height); n=$(probe "$1" nb_read_frames); r=$(probe "$1" r_frame_rate)
  na=$(ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 "$1" 2>/dev/null | wc -l)
  case "$mine" in *" ${w}x${h} frames=$n fps=$r "*"audio=$na:"*) ok "tsr_probe agrees on $(basename "$1"): ${mine#*: }" ;;
    *) bad "tsr_probe on $1: '$mine', ffprobe ${w}x${h} $n frames $r, $na audio" ;; esac
}
has_audio() { [ -n "$(ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 "$1" 2>/dev/null)" ]; }
no_leftovers() { # dir what
  local left; left=$(find "$1" -name '*.tmp-*' | head -1)
  [ -z "$left" ] && ok "$2: no temp file" || bad "$2: left $left"
}
expect_fail() { # what cli-args... ; output must not exist afterwards
  local what=$1; shift
  local out err
  out=$("$CLI" "$@" -q 2>"$T/err"); rc=$?
  err=$(head -c 300 "$T/err")
  if [ $rc -ne 0 ] && grep -q "tessera-cli: " "$T/err"; then ok "$what fails: $err"; else bad "$what: rc $rc, '$err'"; fi
}

# 1. a clip with audio keeps it in MP4, MKV and MOV
ffmpeg -v error -f lavfi -i testsrc2=size=128x96:rate=24 -f lavfi -i sine=frequency=440 -t 2 -c:v libx264 \
  -pix_fmt yuv420p -c:a aac -shortest "$T/av.mp4" || { echo "cannot make the test clip"; exit 1; }
for ext in mp4 mkv mov; do
  "$CLI" transcode "$T/av.mp4" -o "$T/av_out.$ext" -q >/dev/null 2>"$T/err" || bad "transcode to $ext: $(cat "$T/err")"
  expect_video "$T/av_out.$ext" 128 96 48 24/1
  has_audio "$T/av_out.$ext" && ok "$ext keeps audio" || bad "$ext lost the audio"
  probe_agrees "$T/av_out.$ext"
done
"$CLI" transcode "$CLIPS/Eyes_212x120.mp4" -o "$T/eyes_av.mkv" --audio-from "$T/av.mp4" -q >/dev/null 2>&1
has_audio "$T/eyes_av.mkv" && ok "--audio-from muxes audio" || bad "--audio-from: no audio"
ffmpeg -v error -f lavfi -i testsrc2=size=64x48:rate=24 -f lavfi -i sine=frequency=440 -t 1 -c:v libx264 \
  -c:a pcm_s16le "$T/pcm.mov"
"$CLI" transcode "$T/pcm.mov" -o "$T/pcm_to_aac.mp4" -q >/dev/null 2>&1
acodec=$(ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 "$T/pcm_to_aac.mp4" 2>/dev/null)
[ "$acodec" = aac ] && ok "PCM audio re-encoded to AAC for MP4" || bad "PCM into MP4: audio '$acodec'"
"$CLI" transcode "$T/av.mp4" -o "$T/noaudio.mp4" --no-audio -q >/dev/null 2>&1
has_audio "$T/noaudio.mp4" && bad "--no-audio kept audio" || ok "--no-audio drops audio"

# 2. codecs and image sequences
"$CLI" transcode "$CLIPS/Eyes_212x120.mp4" -o "$T/ffv1.mkv" --codec ffv1 -q >/dev/null && expect_video "$T/ffv1.mkv" 212 120 45 25/1
"$CLI" transcode "$CLIPS/Eyes_212x120.mp4" -o "$T/p4444.mov" --codec prores4444 -q >/dev/null && expect_video "$T/p4444.mov" 212 120 45 25/1
"$CLI" transcode "$CLIPS/Eyes_212x120.mp4" -o "$T/h265.mp4" --codec hevc --10bit -q >/dev/null && expect_video "$T/h265.mp4" 212 120 45 25/1
"$CLI" transcode "$CLIPS/Eyes_212x120.mp4" -o "$T/tif/" --codec tiff -q >/dev/null
n=$(ls "$T/tif" 2>/dev/null | wc -l); [ "$n" = 45 ] && ok "tiff sequence: 45 files" || bad "tiff sequence: $n files"
"$CLI" transcode "$T/tif" -o "$T/from_seq.mkv" --codec ffv1 -q >/dev/null && expect_video "$T/from_seq.mkv" 212 120 45 25/1
"$CLI" transcode "$CLIPS/Sadhu_320x478.png" -o "$T/still/" -q >/dev/null && expect_video "$T/still/frame_000000.png" 320 478 1 25/1
for f in "$T/ffv1.mkv" "$T/p4444.mov" "$T/h265.mp4" "$T/still/frame_000000.png"; do probe_agrees "$f"; done

# NVENC is used only when the probe opens it: either it works or it says why
if "$CLI" transcode "$CLIPS/Eyes_212x120.mp4" -o "$T/nv.mp4" --codec h264_nvenc -q >/dev/null 2>"$T/err"; then
  expect_video "$T/nv.mp4" 212 120 45 25/1
else
  grep -q "h264_nvenc is not usable here" "$T/err" && ok "nvenc refused: $(cat "$T/err")" || bad "nvenc: $(cat "$T/err")"
fi

# 3. bad inputs give clear errors, and no output
: > "$T/empty.mp4"; head -c 3000 /dev/urandom > "$T/garbage.mp4"; head -c 20000 "$T/av.mp4" > "$T/truncated.mp4"
ffmpeg -v error -f lavfi -i sine=frequency=440 -t 1 -c:a aac "$T/audio_only.m4a"
echo "not a video" > "$T/text.txt"
for f in empty garbage truncated; do expect_fail "$f input" transcode "$T/$f.mp4" -o "$T/o_$f.mp4"; done
expect_fail "audio-only input" transcode "$T/audio_only.m4a" -o "$T/o_audio.mp4"
expect_fail "text input" transcode "$T/text.txt" -o "$T/o_text.mp4"
expect_fail "missing input" transcode "$T/nope.mp4" -o "$T/o_nope.mp4"
expect_fail "unsupported output" transcode "$T/av.mp4" -o "$T/o.xyz123"
expect_fail "unknown codec" transcode "$T/av.mp4" -o "$T/o_codec.mp4" --codec vp12
expect_fail "output dir missing" transcode "$T/av.mp4" -o "$T/no/such/dir/o.mp4"
mkdir -p "$T/no_images"; echo x > "$T/no_images/readme.txt"
expect_fail "directory without images" transcode "$T/no_images" -o "$T/o_dir.mp4"
# latent-file inputs of decode: zero-length, garbage, truncated, wrong channels, NaN (clear errors, no output)
python3 - "$T" <<'PY' || bad "cannot write the .npy inputs"
import struct, sys
def npy(path, shape, vals):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ", ".join(str(s) for s in shape)
    hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + struct.pack("<%df" % len(vals), *vals))
n = 16 * 2 * 2 * 3
npy(sys.argv[1] + "/nan.npy", (1, 16, 2, 2, 3), [0.1] * (n - 5) + [float("nan")] + [0.1] * 4)
npy(sys.argv[1] + "/ch8.npy", (1, 8, 2, 2, 3), [0.1] * (n // 2))
npy(sys.argv[1] + "/ok.npy", (1, 16, 2, 2, 3), [0.1] * n)
PY
: > "$T/empty.safetensors"; head -c 500 /dev/urandom > "$T/garbage.latent"; head -c 100 "$T/ok.npy" > "$T/trunc.npy"
SMALL="--model builtin:small --backend cpu"
for f in empty.safetensors garbage.latent trunc.npy ch8.npy nan.npy; do
  expect_fail "decode of $f" decode --latent "$T/$f" -o "$T/o_lat_$f.mp4" $SMALL
  [ -e "$T/o_lat_$f.mp4" ] && bad "decode of $f left its output"
done
expect_fail "encode of a truncated clip" encode --video "$T/truncated.mp4" -o "$T/o_trunc.safetensors" $SMALL
expect_fail "roundtrip of audio only" roundtrip "$T/audio_only.m4a" -o "$T/o_rt_audio.mp4" $SMALL
expect_fail "latent into a missing directory" encode --video "$CLIPS/Sadhu_320x478.png" -o "$T/no/such/l.safetensors" $SMALL
for f in o_empty.mp4 o_garbage.mp4 o_truncated.mp4 o_audio.mp4 o_text.mp4 o.xyz123 o_codec.mp4 o_dir.mp4 \
         o_trunc.safetensors o_rt_audio.mp4; do
  [ -e "$T/$f" ] && bad "failed job left $f"
done
no_leftovers "$T" "failed jobs"

# 4. cancel leaves neither output nor temp file (file and image-sequence outputs)
expect_fail "cancelled job" transcode "$T/av.mp4" -o "$T/cancel.mp4" --cancel-after 10
expect_fail "cancelled sequence" transcode "$T/av.mp4" -o "$T/cancel_seq/" --cancel-after 10
[ -e "$T/cancel.mp4" ] || [ -e "$T/cancel_seq" ] && bad "cancel left output" || ok "cancel left no output"
no_leftovers "$T" "cancel"

# Under the sanitizers (ci.sh's second build) RSS means nothing and the -O0 VAE is too slow: those parts run
# in the normal build only.
SANITIZED=0; [ -n "${ASAN_OPTIONS:-}${UBSAN_OPTIONS:-}" ] && SANITIZED=1

# 5. host memory does not grow with clip length (transcode: reader -> queue -> writer thread)
if [ -x /usr/bin/time ] && [ $SANITIZED = 0 ]; then
  for n in 100 1000; do
    ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -frames:v $n -c:v libx264 -preset ultrafast "$T/long$n.mp4"
    /usr/bin/time -f "%M %e" -o "$T/time$n" "$CLI" transcode "$T/long$n.mp4" -o "$T/long_out$n.mkv" -q >/dev/null
    read -r rss secs < "$T/time$n"; eval "rss$n=$rss"
    echo "peak RSS $n frames 320x240: $rss KiB ($secs s)"
  done
  expect_video "$T/long_out1000.mkv" 320 240 1000 25/1
  [ "$rss1000" -lt $((rss100 * 12 / 10 + 8192)) ] && ok "RSS bounded ($rss100 -> $rss1000 KiB)" \
    || bad "RSS grows with length: $rss100 -> $rss1000 KiB"
fi

# 6. with the VAE (builtin:small). The CPU VAE takes ~2.5 min for Eyes (212x120x45) on a shared 2-core box, so
#    by default the inputs are cut down (odd sizes kept); TSR_MEDIA_FULL=1 runs the shared clips as they are.
if [ "${TSR_MEDIA_FULL:-0}" = 1 ]; then
  EYES=$CLIPS/Eyes_212x120.mp4 EW=212 EH=120 EN=45; STILL=$CLIPS/Sadhu_320x478.png SW=320 SH=478
  AV=$T/av.mp4 AW=128 AH=96 AN=48
else
  ffmpeg -v error -i "$CLIPS/Eyes_212x120.mp4" -vf crop=106:60:40:30 -frames:v 9 -c:v libx264 "$T/eyes_small.mp4"
  ffmpeg -v error -i "$CLIPS/Sadhu_320x478.png" -vf scale=80:119 "$T/still_small.png"
  ffmpeg -v error -f lavfi -i testsrc2=size=48x40:rate=24 -f lavfi -i sine=frequency=440 -t 0.4 -c:v libx264 \
    -pix_fmt yuv420p -c:a aac -shortest "$T/av_small.mp4"
  EYES=$T/eyes_small.mp4 EW=106 EH=60 EN=9; STILL=$T/still_small.png SW=80 SH=119
  AV=$T/av_small.mp4 AW=48 AH=40 AN=$(probe "$T/av_small.mp4" nb_read_frames)
fi
# TSR_MEDIA_MODEL / TSR_MEDIA_BACKEND: e.g. builtin (the full model) and cuda on a GPU machine with FFmpeg
VAE="--model ${TSR_MEDIA_MODEL:-builtin:small} --backend ${TSR_MEDIA_BACKEND:-cpu}"
if [ $SANITIZED = 1 ]; then
  echo "skip VAE round trips under sanitizers"
elif "$CLI" roundtrip "$STILL" -o "$T/rt_still/" $VAE -q >/dev/null 2>"$T/err"; then
  expect_video "$T/rt_still/frame_000000.png" $SW $SH 1 25/1
  "$CLI" roundtrip "$EYES" -o "$T/rt_eyes.mp4" $VAE -q >/dev/null && expect_video "$T/rt_eyes.mp4" $EW $EH $EN 25/1 \
    || bad "roundtrip $EYES"
  for ext in mov mp4 mkv; do
    "$CLI" roundtrip "$AV" -o "$T/rt_av.$ext" $VAE -q >/dev/null && expect_video "$T/rt_av.$ext" $AW $AH $AN 24/1 \
      && { has_audio "$T/rt_av.$ext" && ok "roundtrip keeps audio in $ext" || bad "roundtrip lost audio in $ext"; } \
      || bad "roundtrip with audio to $ext"
  done
  if [ "${TSR_MEDIA_FULL:-0}" = 1 ]; then
    "$CLI" roundtrip "$CLIPS/Mustache_640x360.mp4" -o "$T/rt_must.mkv" $VAE -q >/dev/null \
      && expect_video "$T/rt_must.mkv" 640 360 45 25/1 || bad "roundtrip Mustache"
  fi
  for ext in npy safetensors latent; do
    if "$CLI" encode --video "$EYES" -o "$T/eyes.$ext" $VAE -q >/dev/null 2>"$T/err"; then
      "$CLI" decode --latent "$T/eyes.$ext" -o "$T/dec_$ext.mkv" $VAE -q >/dev/null 2>>"$T/err" || bad "decode .$ext: $(cat "$T/err")"
      # .npy keeps no source size: the decode is the padded size, 4T-3 frames
      if [ $ext = npy ]; then expect_video "$T/dec_$ext.mkv" $(( (EW + 15) / 16 * 16 )) $(( (EH + 15) / 16 * 16 )) \
          $(( (EN + 2) / 4 * 4 + 1 )) 25/1
      else expect_video "$T/dec_$ext.mkv" $EW $EH $EN 25/1; fi
    else bad "encode .$ext: $(cat "$T/err")"; fi
  done
  # the source rate is kept in .safetensors/.latent ("tessera.fps") and used unless --fps is given
  if "$CLI" encode --video "$AV" -o "$T/av.latent" $VAE -q >/dev/null 2>"$T/err"; then
    "$CLI" decode --latent "$T/av.latent" -o "$T/dec_av.mkv" $VAE -q >/dev/null 2>"$T/err" \
      && expect_video "$T/dec_av.mkv" $AW $AH $AN 24/1 || bad "decode av.latent: $(cat "$T/err")"
    "$CLI" decode --latent "$T/av.latent" -o "$T/dec_av30.mkv" --fps 30 $VAE -q >/dev/null 2>"$T/err" \
      && expect_video "$T/dec_av30.mkv" $AW $AH $AN 30/1 || bad "decode av.latent --fps 30: $(cat "$T/err")"
  else bad "encode av.latent: $(cat "$T/err")"; fi
  expect_fail "cancelled roundtrip" roundtrip "$EYES" -o "$T/rt_cancel.mp4" $VAE --cancel-after 1
  [ -e "$T/rt_cancel.mp4" ] && bad "cancelled roundtrip left output"
  # cancelled while the writer holds frames (decode stage): the encoder's temp file goes too
  expect_fail "cancelled decode" decode --latent "$T/eyes.safetensors" -o "$T/dec_cancel.mp4" $VAE --cancel-after 2
  [ -e "$T/dec_cancel.mp4" ] && bad "cancelled decode left output"
  no_leftovers "$T" "VAE jobs"
elif grep -q "not in this build" "$T/err"; then
  echo "skip VAE round trips: $(cat "$T/err")"
else
  bad "roundtrip still: $(cat "$T/err")"
fi

# 7. the VAE path with constant host memory: a 1000-frame clip through roundtrip (encode -> decode -> x264),
#    against 100 frames (past x264's lookahead, whose frame pool fills during the first ~60 frames). 32x32 keeps
#    it at ~20 s of CPU; the latent held between encode and decode is 1/48 of the video's floats (tiny here).
if [ -x /usr/bin/time ] && [ $SANITIZED = 0 ]; then
  for n in 100 1000; do
    ffmpeg -v error -f lavfi -i testsrc2=size=32x32:rate=25 -frames:v $n -c:v libx264 -preset ultrafast "$T/vlong$n.mp4"
    /usr/bin/time -f "%M %e" -o "$T/vtime$n" "$CLI" roundtrip "$T/vlong$n.mp4" -o "$T/vlong_out$n.mp4" $VAE -q >/dev/null \
      || bad "roundtrip of $n frames"
    read -r rss secs < "$T/vtime$n"; eval "vrss$n=$rss"
    echo "peak RSS roundtrip (builtin:small) $n frames 32x32: $rss KiB ($secs s)"
  done
  expect_video "$T/vlong_out1000.mp4" 32 32 1000 25/1
  [ "$vrss1000" -lt $((vrss100 * 11 / 10 + 4096)) ] && ok "VAE roundtrip RSS bounded ($vrss100 -> $vrss1000 KiB)" \
    || bad "VAE roundtrip RSS grows with length: $vrss100 -> $vrss1000 KiB"
fi

[ $fails -eq 0 ] && rm -rf "$T"
echo "$fails failed"
[ $fails -eq 0 ]
