"""bpnn's benchmarks: the workloads ``bpnn bench`` runs, installed as ``bpnn.benchmarks``.

* :mod:`.seed_sin` — the seed's 1-3-1 online-SGD sin regression: time per step.
* :mod:`.mlp` — 784-256-256-10 ReLU, softmax cross-entropy, SGD: samples per
  second, and the GEMM-only bound of the same step.
* :mod:`.crossover` — width x batch size sweep: where the GPU beats the CPU.
* :mod:`.large` — 1,000,000 x 256 samples, 3 hidden layers of 1024 (GPU).

Each workload returns result rows (dicts); :mod:`.runner` repeats, tabulates,
writes JSON and plots.  Timings synchronize asynchronous devices before every
clock read; compare ratios taken in one run, not numbers from different runs.
"""
