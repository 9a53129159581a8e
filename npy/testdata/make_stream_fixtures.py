#!/usr/bin/env python3
"""Writes the float16 and bfloat16 fixtures of stream_test.go with NumPy
and PyTorch themselves: the 2-byte files as each library saves them, and
the float32 values each library decodes them to as the reference.

Run from this directory with NumPy and PyTorch installed:
python3 make_stream_fixtures.py
"""
import numpy as np
import torch

rng = np.random.default_rng(14)

# float16: specials, subnormals, the extremes, and random values.
special16 = np.array([0.0, -0.0, 6e-8, -6e-8, 6.1e-5, 65504.0, -65504.0,
                      np.inf, -np.inf, np.nan, 1.0, -2.5], dtype=np.float32)
vals = np.concatenate([special16, rng.standard_normal(5 * 9 - len(special16)).astype(np.float32) * 30])
f16 = vals.astype(np.float16).reshape(5, 9)
np.save("f2_rows.npy", f16)
np.save("f2_rows_ref.npy", f16.astype(np.float32))

# bfloat16: PyTorch rounds float32 to bfloat16; the bits are saved as
# int16 (a tensor viewed as torch.int16), as uint16 and as raw 2-byte
# values ('|V2', how NumPy saves an ml_dtypes bfloat16 array), and big-endian.
special_bf = np.array([0.0, -0.0, 1e-40, -1e-39, 3.0e38, -3.0e38, np.inf, -np.inf,
                       np.nan, 1.0, -2.5, 1.00390625], dtype=np.float32)
v = np.concatenate([special_bf, rng.standard_normal(6 * 7 - len(special_bf)).astype(np.float32) * 100])
t = torch.from_numpy(v.reshape(6, 7)).to(torch.bfloat16)
i16 = t.view(torch.int16).numpy()
np.save("bf16_i2.npy", i16)
np.save("bf16_u2.npy", i16.view(np.uint16))
np.save("bf16_v2.npy", i16.view("V2"))
np.save("bf16_be_u2.npy", i16.view(np.uint16).astype(">u2"))
np.save("bf16_ref.npy", t.to(torch.float32).numpy())
