"""A deployed classifier watched: its held-out reference, recorded predictions judged against it."""
