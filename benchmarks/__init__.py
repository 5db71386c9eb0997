"""``make bench``: development measurements, kept out of the artclf wheel."""
