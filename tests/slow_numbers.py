"""The rules of crosswalk.io.numbers spelled out one cell at a time with Decimal: the slow
obvious version the vectorised reader and the engines are checked against."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from crosswalk.io.numbers import MISSING, NUMBER, OK, REFUSED, STRIP, TOO_LARGE


def slow(text, style):
    """(state, value in units of 1e-18 or None, whether it was rounded) of one cell."""
    if text is None or text.strip(STRIP) == "":
        return MISSING, None, False
    t = text.strip(STRIP)
    if not re.fullmatch(NUMBER[style], t):
        return REFUSED, None, False
    canon = re.sub(r"[ \u00a0\u2007\u202f]", "", t).replace(",", "" if style == "point" else ".")
    with localcontext(Context(prec=200)):
        exact = Decimal(canon)
        q = exact.quantize(Decimal("1e-18"), rounding=ROUND_HALF_UP)
        if abs(q) >= Decimal(10) ** 20:
            return TOO_LARGE, None, False
        return OK, int(q.scaleb(18)), q != exact
