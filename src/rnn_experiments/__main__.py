from rnn_experiments.cli import main

main()
