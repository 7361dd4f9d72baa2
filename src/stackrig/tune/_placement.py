"""Placement's arithmetic, for one host (``tune flavors``) or thousands at once (``tune capacity``).

A resource provider offers ``(total - reserved) x allocation_ratio`` of each resource
class; one allocation must lie between ``min_unit`` and ``max_unit`` and be a multiple of
``step_size``. A flavor fits on a host as many times as its scarcest resource allows.
Both commands call these functions, so they count the same way: arrays of hosts x
resources in, hosts x flavors x resources out (numpy, so 10,000 hosts cost milliseconds).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["UNLIMITED", "limits", "usable"]

#: The limit of a resource a flavor does not ask for (or a host does not count): never binds.
UNLIMITED = np.iinfo(np.int64).max

Array = np.ndarray[Any, np.dtype[Any]]


def usable(total: Array, reserved: Array, ratio: Array) -> Array:
    """Whole units placement hands out: floor((total - reserved) x allocation_ratio)."""
    whole: Array = np.floor((np.asarray(total) - np.asarray(reserved)) * np.asarray(ratio)).astype(np.int64)
    return whole


def limits(
    free: Array,
    amounts: Array,
    *,
    max_unit: Array,
    min_unit: Array | None = None,
    step_size: Array | None = None,
) -> Array:
    """How many of each flavor each resource of each host allows: shape (hosts, flavors, resources).

    ``free`` and the units are (hosts, resources), ``amounts`` (flavors, resources). A
    resource the flavor does not ask for is UNLIMITED; one it asks more of than ``max_unit``
    (or less than ``min_unit``, or off ``step_size``) allows none.
    """
    free3 = np.maximum(np.asarray(free, dtype=np.int64), 0)[:, None, :]
    need = np.asarray(amounts, dtype=np.int64)[None, :, :]
    allowed = need <= np.asarray(max_unit, dtype=np.int64)[:, None, :]
    if min_unit is not None:
        allowed &= need >= np.asarray(min_unit, dtype=np.int64)[:, None, :]
    if step_size is not None:
        step = np.maximum(np.asarray(step_size, dtype=np.int64), 1)[:, None, :]
        allowed &= need % step == 0
    count = free3 // np.maximum(need, 1)
    return np.where(need == 0, UNLIMITED, np.where(allowed, count, 0))
