"""Data input: users' own institutions, pairs and calendars, read and checked row by row.

Imports only sim.config; the model core builds on what it reads.
"""
