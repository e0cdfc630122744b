"""The slim export model promises the read model's field types (decision 0066): hold it to that,
so a field changed in `Order` cannot be validated differently by exports."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from orderlens.domain.order import Item, Order, PackageDoc
from orderlens_exporter.domain.export_model import ExportItem, ExportOrder, ExportPackage

# The slim nested models stand for the read model's own.
_SAME = {
    f"{slim.__module__}.{slim.__name__}": f"{full.__module__}.{full.__name__}"
    for slim, full in ((ExportItem, Item), (ExportPackage, PackageDoc))
}


def _type_name(annotation: object) -> str:
    text = repr(annotation)
    for slim, full in _SAME.items():
        text = text.replace(slim, full)
    return text


@pytest.mark.parametrize(
    ("slim", "full"),
    [(ExportOrder, Order), (ExportItem, Item), (ExportPackage, PackageDoc)],
    ids=["order", "item", "package"],
)
def test_slim_fields_have_the_read_models_types_and_defaults(
    slim: type[BaseModel], full: type[BaseModel]
) -> None:
    for name, field in slim.model_fields.items():
        assert name in full.model_fields, f"{slim.__name__}.{name} is not in {full.__name__}"
        theirs = full.model_fields[name]
        assert _type_name(field.annotation) == _type_name(theirs.annotation), name
        assert field.is_required() == theirs.is_required(), name
        if not field.is_required():
            ours_default = field.get_default(call_default_factory=True)
            assert ours_default == theirs.get_default(call_default_factory=True), name
