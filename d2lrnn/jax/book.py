"""The book's library surface for this backend: for now the shared plain Module and the
functional Trainer (the section's models train; the framework's own module classes are not
wired in yet)."""
from ..book import ClassifierMixin, FunctionalTrainer, PlainModule
from .ops import ops


class Module(PlainModule):
    ops = ops


class Classifier(ClassifierMixin, Module):
    pass


class Trainer(FunctionalTrainer):
    pass
