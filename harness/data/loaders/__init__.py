"""Suite loaders: each module indexes one kind of suite and loads/hashes its samples (see harness/data/suites.py)."""
