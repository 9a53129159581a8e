#!/usr/bin/env python3
"""Writes the .npy fixtures in this directory byte for byte as NumPy does.

NumPy is not needed: the header is built by the algorithm of
numpy/lib/format.py (_write_array_header and _wrap_header), with the data
packed by the struct module. Run from this directory: python3 make_fixtures.py
"""
import struct

MAGIC = b"\x93NUMPY"
GROWTH_AXIS_MAX_DIGITS = 21  # current NumPy; older versions reserve nothing


def header(descr, fortran, shape, version=(1, 0), growth=True, align=64, long_ints=False):
    d = {"descr": descr, "fortran_order": fortran, "shape": shape}
    parts = ["{"]
    for key, value in sorted(d.items()):
        r = repr(value)
        if key == "shape" and long_ints:  # Python 2 wrote 3L for longs
            r = "(" + ", ".join("%dL" % v for v in shape) + ("," if len(shape) == 1 else "") + ")"
        parts.append("'%s': %s, " % (key, r))
    parts.append("}")
    h = "".join(parts)
    if growth and len(shape) > 0:
        h += " " * (GROWTH_AXIS_MAX_DIGITS - len(repr(shape[-1 if fortran else 0])))
    h = h.encode("utf8" if version == (3, 0) else "latin1")
    fmt = "<H" if version == (1, 0) else "<I"
    hlen = len(h) + 1
    padlen = align - ((len(MAGIC) + 2 + struct.calcsize(fmt) + hlen) % align)
    return MAGIC + bytes(version) + struct.pack(fmt, hlen + padlen) + h + b" " * padlen + b"\n"


def save(name, descr, shape, values, fortran=False, **kw):
    code = {"f2": "e", "f4": "f", "f8": "d", "i1": "b", "u1": "B", "b1": "?",
            "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q"}[descr[1:]]
    order = ">" if descr[0] == ">" else "<"
    data = struct.pack(order + code * len(values), *values)
    with open(name, "wb") as f:
        f.write(header(descr, fortran, shape, **kw) + data)


# A float32 vector, as np.save(name, np.array([1.5, -2, 3.25], np.float32)).
save("f4_vec.npy", "<f4", (3,), [1.5, -2.0, 3.25])
# A float64 matrix [[0, 0.5, 1], [1.5, 2, 2.5]].
save("f8_2x3.npy", "<f8", (2, 3), [0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
# int64 labels, int32 labels.
save("i8_labels.npy", "<i8", (4,), [0, 2, 1, 9])
save("i4_labels.npy", "<i4", (3,), [7, 0, 3])
# uint8 image 2x2 and a bool vector.
save("u1_2x2.npy", "|u1", (2, 2), [0, 255, 128, 1])
save("b1_vec.npy", "|b1", (3,), [True, False, True])
# int16, uint16, float16.
save("i2_vec.npy", "<i2", (2,), [-1, 300])
save("u2_vec.npy", "<u2", (2,), [65535, 7])
save("f2_vec.npy", "<f2", (3,), [1.0, -2.5, 65504.0])
# np.asfortranarray([[1, 2, 3], [4, 5, 6]], np.float32): stored column by column.
save("f4_fortran_2x3.npy", "<f4", (2, 3), [1, 4, 2, 5, 3, 6], fortran=True)
# A 2x3x2 int32 array a[i][j][k] = 100i + 10j + k in Fortran order
# (i fastest, then j, then k).
vals = [100 * i + 10 * j + k for k in range(2) for j in range(3) for i in range(2)]
save("i4_fortran_2x3x2.npy", "<i4", (2, 3, 2), vals, fortran=True)
# Big-endian float64 and int32: np.array([1, -0.5], '>f8'), np.array([-2, 65536], '>i4').
save("be_f8.npy", ">f8", (2,), [1.0, -0.5])
save("be_i4.npy", ">i4", (2,), [-2, 65536])
# A 0-d scalar np.float64(3.5) and an empty (0, 3) float32 matrix.
save("scalar_f8.npy", "<f8", (), [3.5])
save("empty_f4_0x3.npy", "<f4", (0, 3), [])
# Format versions 2.0 and 3.0 (np.lib.format.write_array(f, a, version=...)).
save("v2_f4.npy", "<f4", (2,), [0.25, 8.0], version=(2, 0))
save("v3_f4.npy", "<f4", (2,), [0.25, 8.0], version=(3, 0))
# An older NumPy: no growth padding, 16-byte alignment, Python 2 longs.
save("py2_i8.npy", "<i8", (2,), [5, -6], growth=False, align=16, long_ints=True)
