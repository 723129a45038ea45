#!/bin/bash
# On the GPU machine: unpack .dev/bundle.tar.xz and point the loader at it and at the
# machine's CUDA, cuDNN and cuBLAS. Source it, then run /tmp/pf/bin/...
mkdir -p /tmp/pf && tar -C /tmp/pf -xJf .dev/bundle.tar.xz
cudnn=$(python3 -c 'import nvidia.cudnn, os; print(os.path.join(nvidia.cudnn.__path__[0], "lib"))' 2>/dev/null)
cublas=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(nvidia.cublas.__path__[0], "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH=/tmp/pf/lib:${cudnn}:${cublas}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export PATH=/tmp/pf/bin:$PATH
