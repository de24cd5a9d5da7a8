"""vexplore: look inside embeddings from the terminal. The command line (cli.py) sits above the engine
(`vexplore.engine`, no UI) and the explorer (`vexplore.tui`); both import nothing of it."""
