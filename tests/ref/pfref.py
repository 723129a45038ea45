"""pfref — the tiny tensor-bundle format the C tests read (tests/pf-test-util.h).

A bundle is b"PFREF1\\0\\0" followed by records: u32 name length, name (utf-8), u32 ndim,
u32 dims[ndim], float32 data (little-endian, C order). Integers (shapes, strides) are stored
as float32 tensors too; they are exact below 2^24."""
import struct
import numpy as np

MAGIC = b"PFREF1\0\0"


def write_bundle(path, tensors):
    """tensors: dict name -> array-like (torch tensors are detached and moved to the CPU)."""
    with open(path, "wb") as f:
        f.write(MAGIC)
        for name, t in tensors.items():
            if hasattr(t, "detach"):
                t = t.detach().cpu().numpy()
            a = np.ascontiguousarray(np.asarray(t, dtype=np.float32))
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", a.ndim))
            f.write(struct.pack("<%dI" % a.ndim, *a.shape))
            f.write(a.astype("<f4").tobytes())


def read_bundle(path):
    out = {}
    with open(path, "rb") as f:
        assert f.read(8) == MAGIC
        while True:
            h = f.read(4)
            if not h:
                break
            (ln,) = struct.unpack("<I", h)
            name = f.read(ln).decode()
            (nd,) = struct.unpack("<I", f.read(4))
            dims = struct.unpack("<%dI" % nd, f.read(4 * nd))
            cnt = int(np.prod(dims)) if nd else 1
            out[name] = np.frombuffer(f.read(4 * cnt), dtype="<f4").reshape(dims)
    return out
