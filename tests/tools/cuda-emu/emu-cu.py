#!/usr/bin/env python3
"""emu-cu.py IN.cu OUT.cc — rewrites a CUDA source for cuda-emu.h: every launch
`kernel<<<grid, block[, smem[, stream]]>>> (args)` becomes
`pf_emu_launch (kernel, grid, block[, smem[, stream]]) (args)`, and every
`extern __shared__ T name[];` a pointer to the block's dynamic shared memory. Line numbers
are kept (a #line directive names the original file), so errors point into kernels/*.cu."""
import re
import sys

LAUNCH = re.compile(r"([A-Za-z_]\w*(?:<[^<>;()]*>)?)\s*<<<(.*?)>>>", re.S)
EXTERN_SHARED = re.compile(r"extern\s+__shared__\s+([\w\s]+?)\s+(\w+)\s*\[\s*\]\s*;")


def launch(m):
    # the configuration as written (its newlines kept, so line numbers stay right)
    return "pf_emu_launch (%s, %s)" % (m.group(1), m.group(2))


def main():
    src, out = sys.argv[1], sys.argv[2]
    text = open(src).read()
    text = LAUNCH.sub(launch, text)
    text = EXTERN_SHARED.sub(lambda m: "%s *%s = (%s *) pf_emu_dynamic_smem ();"
                             % (m.group(1), m.group(2), m.group(1)), text)
    if "<<<" in text:
        sys.exit("%s: a launch emu-cu.py did not understand" % src)
    with open(out, "w") as f:
        f.write('#line 1 "%s"\n' % src)
        f.write(text)


main()
