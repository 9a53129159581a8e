#!/usr/bin/env python3
"""Writes the binary fixtures of this directory (idx and .npy files).

Run from this directory: python3 make_fixtures.py
"""
import gzip
import struct


def idx(name, type_code, fmt, dims, values, gz=False):
    data = bytes([0, 0, type_code, len(dims)]) + struct.pack(">%dI" % len(dims), *dims)
    data += struct.pack(">%d%s" % (len(values), fmt), *values)
    if gz:
        with gzip.open(name, "wb") as f:  # mtime varies; the content does not
            f.write(data)
    else:
        with open(name, "wb") as f:
            f.write(data)


# Three 2x2 "images" of unsigned bytes and their labels.
pixels = [0, 255, 51, 102,   255, 0, 0, 255,   1, 2, 3, 4]
idx("tiny-images-idx3-ubyte", 0x08, "B", [3, 2, 2], pixels)
idx("tiny-labels-idx1-ubyte", 0x08, "B", [3], [2, 0, 1])
idx("tiny-images-idx3-ubyte.gz", 0x08, "B", [3, 2, 2], pixels, gz=True)
idx("tiny-labels-idx1-ubyte.gz", 0x08, "B", [3], [2, 0, 1], gz=True)
# Float features (2 rows of 3) and int labels.
idx("float-features-idx2-float", 0x0D, "f", [2, 3], [0.5, -1.0, 2.0, 3.0, 0.25, -0.125])
idx("int-labels-idx1-int", 0x0C, "i", [2], [4, 1])


def npy(name, descr, shape, fmt, values):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (descr, shape)
    h += " " * (21 - len(repr(shape[0])))
    hlen = len(h) + 1
    pad = 64 - ((10 + hlen) % 64)
    with open(name, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", hlen + pad) + h.encode() + b" " * pad + b"\n")
        f.write(struct.pack("<%d%s" % (len(values), fmt), *values))


# np.save("features.npy", np.array([[1, 2], [3, 4], [5, 6]], np.float64) / 2)
npy("features.npy", "<f8", (3, 2), "d", [0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
# np.save("labels.npy", np.array([1, 0, 3]))
npy("labels.npy", "<i8", (3,), "q", [1, 0, 3])
