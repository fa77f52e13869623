"""An example plugin package for keras-backend-harness: a model and a dataset."""
