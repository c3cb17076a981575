"""Stream processors (faust): normalise raw provider messages, archive them, store observations."""
