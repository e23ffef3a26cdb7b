#!/usr/bin/env python3
"""Write Tessera's Windows icon (a 4x4 mosaic of tesserae) as an .ico: 16, 24, 32 and 48 px as 32-bit
BMP images, 256 px as PNG (the layout Windows Explorer expects). Generated at build time, so the repository
holds no binary. Usage: make-icon.py OUT.ico"""
import struct
import sys
import zlib

COLOURS = [(0x1c, 0x71, 0xd8), (0x26, 0xa2, 0x69), (0xe6, 0x61, 0x00), (0xc0, 0x1c, 0x28)]


def pixel(x, y, size):
    """RGBA of pixel (x, y), y downwards: 4x4 tiles with transparent gaps, colours by diagonal."""
    cell = size / 4.0
    gap = max(1.0, size / 32.0)
    cx, cy = int(x // cell), int(y // cell)
    fx, fy = x - cx * cell, y - cy * cell
    if fx < gap / 2 or fy < gap / 2 or fx >= cell - gap / 2 or fy >= cell - gap / 2:
        return (0, 0, 0, 0)
    r, g, b = COLOURS[(cx + cy) % 4]
    shade = 1.0 - 0.06 * ((cx * 3 + cy * 5) % 4)
    return (int(r * shade), int(g * shade), int(b * shade), 255)


def bmp_image(size):
    header = struct.pack('<IiiHHIIiiII', 40, size, size * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    rows = []
    for y in reversed(range(size)):  # DIBs are stored bottom-up
        row = bytearray()
        for x in range(size):
            r, g, b, a = pixel(x, y, size)
            row += bytes((b, g, r, a))
        rows.append(bytes(row))
    mask_stride = ((size + 31) // 32) * 4
    return header + b''.join(rows) + bytes(mask_stride * size)


def png_image(size):
    raw = bytearray()
    for y in range(size):
        raw.append(0)
        for x in range(size):
            raw += bytes(pixel(x, y, size))

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    ihdr = struct.pack('>IIBBBBB', size, size, 8, 6, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(bytes(raw), 9)) + \
        chunk(b'IEND', b'')


def main():
    images = [(s, bmp_image(s)) for s in (16, 24, 32, 48)] + [(256, png_image(256))]
    out = struct.pack('<HHH', 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for size, data in images:
        dim = 0 if size >= 256 else size
        out += struct.pack('<BBBBHHII', dim, dim, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    out += b''.join(data for _, data in images)
    with open(sys.argv[1], 'wb') as f:
        f.write(out)


if __name__ == '__main__':
    main()
