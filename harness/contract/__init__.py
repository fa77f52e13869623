"""What the parent and the worker share, the bottom layer: the run spec, its enums and
profiles, a model's recipe, the rules values are checked by, plugin lookup, files of
one's own, and the worker task with the variables handed to a worker. It imports nothing
else of the harness; everything may import it."""
