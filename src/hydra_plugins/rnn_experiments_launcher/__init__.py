"""rnn-experiments' Hydra plugins: the `fast` launcher and sweeper (see fast_launcher.py)."""
