"""The dataset audit: mislabelled files, leakage between splits, duplicates and outliers over every file,
and clusters with names, all from the vectors (and stored text, hashes, thumbnails) the store holds."""
