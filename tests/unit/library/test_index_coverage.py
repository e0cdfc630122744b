"""Every query shape `orderlens.filters` builds is served by a declared `orders` index
(equality-sort-range, docs/decisions/0088). Removing an index makes shapes fail: see
`test_removing_an_index_leaves_shapes_unserved`."""

from __future__ import annotations

import pytest
from index_coverage import Shape, serving_index, shapes

from orderlens.indexes import INDEXES, ORDERS

ALL_SHAPES = list(shapes())


@pytest.mark.parametrize("shape", ALL_SHAPES, ids=str)
def test_every_query_shape_has_a_serving_index(shape: Shape) -> None:
    served_by = serving_index(shape.query, shape.sort, INDEXES[ORDERS])
    assert served_by, f"no index serves {shape.name}: {shape.query}"


def test_the_default_list_and_the_status_tab_use_their_own_indexes() -> None:
    names = {
        shape.name: serving_index(shape.query, shape.sort, INDEXES[ORDERS]) for shape in ALL_SHAPES
    }
    assert names["no filter sort=-created_at"] == "shop_created"
    assert names["status=AWAITING_SHIPMENT sort=-created_at"] == "shop_status_created"
    assert names["no filter sort=total cursor"] == "shop_total"


def test_removing_an_index_leaves_shapes_unserved() -> None:
    without = [index for index in INDEXES[ORDERS] if index.document["name"] != "shop_paid"]
    unserved = [
        shape.name for shape in ALL_SHAPES if not serving_index(shape.query, shape.sort, without)
    ]
    assert "no filter sort=-paid_at" in unserved
    assert all("paid_at" in name for name in unserved)
