"""Each family's sentences, one module per metric family."""
