"""Dataset plugins: one module per dataset, each a `Dataset` subclass."""
