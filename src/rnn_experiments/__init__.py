"""rnn-experiments: run, sweep, reproduce and compare recurrent-network experiments from configs.

Importing the package is cheap: torch and pandas load only with the modules that need them.
"""

__version__ = "0.1.0"
