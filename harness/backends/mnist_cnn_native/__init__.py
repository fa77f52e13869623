"""The seed model (models/mnist_cnn.py) in each framework without Keras: its `--impl
native` rows. Frameworks are imported in harness/backends/ only, so the network of each
framework is here; what they share, framework-free, lives with the model
(models/mnist_cnn_native/)."""
