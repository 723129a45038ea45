#!/usr/bin/env python3
"""Kernel-by-kernel comparison of two folders of PTX files (see scripts/ptx-diff.sh)."""
import collections
import glob
import os
import re
import subprocess
import sys


def base_name(mangled):
    """The kernel's name and template arguments, without its parameter types (c++filt), so a
    kernel whose parameter type was renamed is still compared with itself."""
    try:
        d = subprocess.run(['c++filt', mangled], capture_output=True, text=True).stdout.strip()
    except OSError:
        return mangled
    return d.split('(')[0]


def kernels(path):
    """{mangled kernel name: [normalised instruction lines]} of one PTX file."""
    txt = open(path).read()
    out = {}
    for m in re.finditer(r'\.entry\s+(\S+)\(', txt):
        name = m.group(1)
        body = txt[m.start():txt.find('\n}\n', m.start())]
        lines = []
        for line in body.split('\n'):
            line = line.strip()
            if not line or line.startswith('//'):
                continue
            line = line.replace(name, 'SELF')
            line = re.sub(r'%[a-z]+[0-9]*', 'R', line)
            line = re.sub(r'\$L__BB[0-9_]+', 'L', line)
            lines.append(line)
        out[name] = lines
    return out


def main(old_dir, new_dir):
    differs = 0
    for f in sorted(glob.glob(os.path.join(old_dir, '*.ptx'))):
        b = os.path.basename(f)
        g = os.path.join(new_dir, b)
        if not os.path.exists(g):
            print(f'{b}: gone')
            continue
        a, n = kernels(f), kernels(g)
        # pair renamed kernels (same name and template arguments, other parameter types)
        gone = {base_name(k): k for k in a if k not in n}
        for k in [k for k in n if k not in a]:
            old = gone.get(base_name(k))
            if old:
                print(f'  {b}: {base_name(k)}: parameter types renamed, compared')
                a[k] = a.pop(old)
        same = 0
        for k in sorted(set(a) | set(n)):
            if k not in a:
                print(f'  {b}: new kernel {k} ({len(n[k])} lines)')
            elif k not in n:
                print(f'  {b}: kernel gone or renamed {k} ({len(a[k])} lines)')
            elif a[k] == n[k]:
                same += 1
            elif collections.Counter(a[k]) == collections.Counter(n[k]):
                print(f'  {b}: {k} reordered')
            else:
                differs += 1
                print(f'  {b}: {k} DIFFERS ({len(a[k])} -> {len(n[k])} lines)')
        print(f'{b}: {same} of {len(a)} kernels identical ({len(n)} now)')
    for g in sorted(glob.glob(os.path.join(new_dir, '*.ptx'))):
        if not os.path.exists(os.path.join(old_dir, os.path.basename(g))):
            print(f'{os.path.basename(g)}: new file, {len(kernels(g))} kernels')
    return 1 if differs else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
