"""The local time of the data contract: every timestamp Linli stores is naive Asia/Shanghai time.

The one home of the time zone; every layer (features, training, serving) imports it from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

#: Time zone of every timestamp Linli stores (the data contract's local time).
TIMEZONE: Final = ZoneInfo("Asia/Shanghai")


def now_local() -> datetime:
    """The current time as naive Asia/Shanghai local time, as the data contract stores it.

    Returns
    -------
    datetime.datetime
        Naive local time.
    """
    return datetime.now(TIMEZONE).replace(tzinfo=None)
