"""Readers of one file format each: bytes or a path in, text out (tables as pipe rows, rag/tables.py).

`rag.loaders` picks the reader by suffix and builds the Document; heavy or optional libraries are imported inside
the reader that needs them.
"""
