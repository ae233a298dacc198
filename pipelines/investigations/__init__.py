"""Read-only queries behind `agentaudit sql`, `agentaudit investigate` and the daily report.

Each investigation is a function of an open DuckDB connection that returns plain data
(dicts, lists, strings, numbers), so the CLI can print it as tables or JSON.
"""
