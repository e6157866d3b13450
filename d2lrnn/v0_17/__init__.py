"""The d2l 0.17 library of the recurrent chapters (zh.d2l.ai chapters 8-9, the English 0.17
notebooks): ``from d2lrnn.v0_17 import torch as d2l``. Code written once over the array
adapter is in :mod:`.common`; each framework's module binds it and adds what needs the
framework itself (its ``nn.Module`` models, autograd steps, tensor aliases)."""
