"""Code that runs inside the REPL worker process. Standard library only."""
