"""Aspects: advice woven around the methods of other beans at boot."""
