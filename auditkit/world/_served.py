"""What the world's two vendors share: built over a world's shops, and serving them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import pandas as pd

from auditkit.vendors._base import VendorAdapter

if TYPE_CHECKING:
    from auditkit.world._generator import World

State = TypeVar("State")
UNKNOWN_SHOP = "{vendor}: shop_id must be one of {shops}; got {shop_id!r}"


class WorldVendor(VendorAdapter, Generic[State]):
    """A vendor adapter over catalogs keyed by shop id, built from a world or from catalogs.

    A subclass keeps its per-shop ``State`` in ``_shops`` (keyed by shop id, sorted) and takes
    the catalogs as its first argument and a ``seed`` keyword.
    """

    _shops: dict[str, State]

    def __init__(self, catalogs: Mapping[str, pd.DataFrame], **options: Any) -> None:
        raise NotImplementedError

    @classmethod
    def from_world(cls, world: World, **options: Any) -> Self:
        """The vendor over a generated world's catalogs (seed defaults to the world's).

        Parameters
        ----------
        world : World
            The shops to serve.
        **options
            Any keyword argument of the vendor's constructor.
        """
        options.setdefault("seed", world.seed)
        return cls(world.catalogs(), **options)

    @property
    def shop_ids(self) -> tuple[str, ...]:
        """The shops this vendor serves, sorted."""
        return tuple(self._shops)

    def _shop(self, shop_id: str) -> State:
        """The state of the shop ``shop_id`` (``KeyError`` names the shops served)."""
        try:
            return self._shops[shop_id]
        except KeyError:
            message = UNKNOWN_SHOP.format(
                vendor=type(self).__name__, shops=list(self._shops), shop_id=shop_id
            )
            raise KeyError(message) from None
