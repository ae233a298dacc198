"""SQL statements of the transforms, one `.sql` file each, read relative to this package."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent


@cache
def read_sql(name: str) -> str:
    """Return the text of `transforms/sql/<name>.sql`.

    Raises FileNotFoundError naming the path when no such file ships with the package.
    """
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {path} not found; is the package installed whole?")
    return path.read_text(encoding="utf-8")
