"""Vectors that exist already (parquet, numpy, HF datasets, LanceDB, Milvus, llm): read and imported into
a store of the usual format, so every command and screen works on them as on a folder."""
