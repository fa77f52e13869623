"""The child process of one run (`python -m harness.worker`): its backend fixed before
keras loads; set-up, the trainer, clocks, the machine's state, the environment, the
starting points, stopping. The only side of the harness that imports keras."""
