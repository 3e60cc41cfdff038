"""Real images: the paper's second check (which examples ERM, Cutout and CutMix learn, by
consistency score), as a library; `python -m jaxcut.realdata` is its command line
(docs/realdata.md).

Modules, one concept each: `data` (digits, CIFAR-10 batches, C-score files), `models`
(flax linen small CNN and ResNet-18), `augment` (Cutout, CutMix and the patch versions),
`run` (one training run, a pure function of key and hyperparameters), `cscore`
(consistency scores estimated with subset models), `config` (settings, presets, checks),
`experiment` (the resumable driver), `analysis` (tables, claims, figure).
"""
