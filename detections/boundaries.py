"""Approved tool boundaries of agents, as read from config/boundaries.yaml.

The mapping has two optional sections: `agent_kinds` (boundary per agent_kind) and `agents`
(boundary per agent_id, which replaces the kind's boundary for that agent). Each boundary
may list `tools` and `systems` as shell-style globs (`crm.*`). A boundary without a
`tools` list does not constrain tools, and likewise for `systems`.
"""

from __future__ import annotations

from typing import Any

SECTIONS = {"agent_kinds": "agent_kind", "agents": "agent_id"}
DIMENSIONS = {"tools": "tool", "systems": "system"}


class BoundaryError(ValueError):
    """The boundaries mapping has an unknown section or an invalid entry."""


def boundary_rows(
    boundaries: dict[str, Any] | None,
) -> tuple[list[tuple[str, str, bool, bool]], list[tuple[str, str, str, str]]]:
    """Validate `boundaries` and return (entry rows, pattern rows) for the boundary tables.

    Entry rows are (match_type, match_value, checks_tools, checks_systems); pattern rows are
    (match_type, match_value, dimension, glob).
    """
    entries: list[tuple[str, str, bool, bool]] = []
    patterns: list[tuple[str, str, str, str]] = []
    unknown = set(boundaries or {}) - set(SECTIONS)
    if unknown:
        raise BoundaryError(
            f"boundaries has unknown section(s) {', '.join(sorted(unknown))}; "
            f"use {' and '.join(SECTIONS)}"
        )
    for section, match_type in SECTIONS.items():
        section_value = (boundaries or {}).get(section) or {}
        if not isinstance(section_value, dict):
            raise BoundaryError(f"boundaries.{section} must map a name to its tools and systems")
        for name, boundary in section_value.items():
            where = f"boundaries.{section}.{name}"
            if not isinstance(boundary, dict):
                raise BoundaryError(f"{where} must be a mapping with tools and/or systems")
            extra = set(boundary) - set(DIMENSIONS)
            if extra:
                raise BoundaryError(f"{where} has unknown key(s) {', '.join(sorted(extra))}")
            checks = {}
            for key, dimension in DIMENSIONS.items():
                globs = boundary.get(key)
                checks[dimension] = globs is not None
                if globs is None:
                    continue
                if not isinstance(globs, list) or not all(isinstance(g, str) and g for g in globs):
                    raise BoundaryError(f"{where}.{key} must be a list of glob patterns")
                patterns.extend((match_type, str(name), dimension, glob) for glob in globs)
            entries.append((match_type, str(name), checks["tool"], checks["system"]))
    return entries, patterns
