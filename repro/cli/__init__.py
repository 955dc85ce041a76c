"""Thin click layer: one module per command group; each parses options, calls the library, formats output."""
