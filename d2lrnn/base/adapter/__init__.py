"""The array adapter: what a backend offers the package, split by domain as a backend folder
splits it (Keras' backend folders do the same): ``arrays`` (required: conversion, the
section's array operations, parameters, autograd), ``devices``, ``layers`` (the framework's
own recurrent layers), ``kernels`` (compilation and fast kernels). A backend's ``Ops`` is
its parts put together, each over the default here."""
from .arrays import Arrays
from .devices import Devices, DeviceWarning
from .kernels import Kernels
from .layers import Layers


class Ops(Kernels, Layers, Devices, Arrays):
    """The whole adapter of one framework: its arrays, devices, layers and kernels."""


__all__ = ["Arrays", "DeviceWarning", "Devices", "Kernels", "Layers", "Ops"]
