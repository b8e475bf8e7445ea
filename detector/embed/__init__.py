"""Embedding: the model backends, the cached embedding stage and its batch plan, and passages of long
texts."""
