"""playserve: the shared core (command line, service launching)."""
