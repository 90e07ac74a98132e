"""rnn-experiments: run, sweep, reproduce and compare recurrent-network experiments from configs.

Importing the package is cheap: torch and pandas load only with the modules that need them.
"""

__version__ = "0.1.0"


__all__ = ["load_runs"]


def __getattr__(name: str) -> object:
    # `rnn_experiments.load_runs` without paying for pandas on `import rnn_experiments`.
    if name == "load_runs":
        from rnn_experiments.report import load_runs

        return load_runs
    raise AttributeError(f"module 'rnn_experiments' has no attribute {name!r}")
