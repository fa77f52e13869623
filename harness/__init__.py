"""Train one Keras 3 model on several backends and compare the runs."""

__version__ = "0.1.0"
