"""Paths a game day names (its experiment files, its run journals), kept inside the game day's folder.

A game-day file or journal is input someone else may have written: a path
in it must not reach a file elsewhere on the host, whether by ``..``, by an
absolute path or through a symlink. Symlinks are resolved before the check,
so a link inside the folder to a file inside it is fine, and one that leads
out is not.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PATH_LIMIT", "inside"]

# Longer than any path a file system takes (Linux PATH_MAX is 4096): refused before the OS sees it.
PATH_LIMIT = 4096


def inside(folder: str | Path, name: str) -> Path:
    """``name`` resolved against ``folder``; ValueError (saying why, in a phrase) when it leads out of it.

    Also refused: an empty name, a NUL byte, a name over :data:`PATH_LIMIT`
    characters, and one the OS cannot resolve (a component too long, a
    symlink loop).
    """
    if not name:
        raise ValueError("an empty path")
    if "\x00" in name:
        raise ValueError("a path with a NUL byte")
    if len(name) > PATH_LIMIT:
        raise ValueError(f"a path of {len(name)} characters (at most {PATH_LIMIT})")
    try:
        root = Path(folder).resolve()
        target = (root / name).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on Python before 3.13
        raise ValueError(f"a path that cannot be resolved ({getattr(exc, 'strerror', None) or exc})") from exc
    if not target.is_relative_to(root):
        raise ValueError(f"a path outside the game day's folder {_shown(root)}{os.sep} "
                         f"(it leads to {_shown(target)})")
    return target


def _shown(path: Path, limit: int = 160) -> str:
    text = str(path)
    return text if len(text) <= limit else text[: limit - 3] + "..."
