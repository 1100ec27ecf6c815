"""Values made once for the whole server process, found again by a digest of what they are made from.

A class following the teacher runs the same page with the same view thirty times at once: the same pictures, the
same charts. Streamlit's own caches keep a value per set of arguments too, but hash them with their own hasher
and copy (``cache_data``) or lock (``cache_resource``) on every call; these are small values made from small arrays,
looked up by one digest. A value kept here is shared by every session: never change it after it is made.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def digest_of(*parts) -> bytes:
    """A digest of ``parts``: arrays by dtype, shape and bytes, bytes as they are; anything else (numbers, strings,
    None, tuples of those) by repr."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, bytes):
            digest.update(f"bytes{len(part)}:".encode())
            digest.update(part)
        elif isinstance(part, np.ndarray | np.generic):
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(f"{type(part).__name__}:{part!r};".encode())
    return digest.digest()


class MadeOnce:
    """The last ``kept`` values made by :meth:`get`, by the digest of what each was made from."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self._values: OrderedDict[bytes, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, make: Callable[[], T], *parts) -> T:
        """The value ``make()`` returns for ``parts``, made the first time they are seen (two sessions asking at
        once may both make it; one of the two is kept)."""
        key = digest_of(*parts)
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.kept:
                self._values.popitem(last=False)
        return value
