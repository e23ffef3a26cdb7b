#!/usr/bin/env python3
"""Compare one F32 tensor of two safetensors files (plain Python, no numpy).
Usage: st_compare.py A.safetensors NAME_A B.safetensors NAME_B MAX_ABS_DIFF
Prints shape and max |a - b|; exit 0 when shapes match and the difference is within the bound."""
import array
import json
import struct
import sys


def read_f32(path, name):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        info = header[name]
        if info['dtype'] != 'F32':
            sys.exit('%s: %s is %s, not F32' % (path, name, info['dtype']))
        start, end = info['data_offsets']
        f.seek(8 + n + start)
        values = array.array('f')
        values.frombytes(f.read(end - start))
    if sys.byteorder != 'little':
        values.byteswap()
    return [d for d in info['shape']], values


def main():
    a_path, a_name, b_path, b_name, tol = sys.argv[1:6]
    a_shape, a = read_f32(a_path, a_name)
    b_shape, b = read_f32(b_path, b_name)
    # A leading batch of 1 may be present on one side only.
    strip = lambda s: s[1:] if s and s[0] == 1 else s
    if strip(a_shape) != strip(b_shape):
        sys.exit('shape %s != %s' % (a_shape, b_shape))
    worst = max((abs(x - y) for x, y in zip(a, b)), default=0.0)
    print('shape %s, max abs diff %.3g (bound %s)' % (b_shape, worst, tol))
    sys.exit(0 if worst <= float(tol) else 1)


if __name__ == '__main__':
    main()
