"""Starting workers: one process per run, on this machine (one at a time or `--jobs N`)
or on a Ray cluster. Nothing here imports keras; the worker is a separate process."""
