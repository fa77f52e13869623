"""Model plugins: backend-free Keras (keras and keras.ops only)."""
