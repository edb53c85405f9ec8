"""The renderer's shortcuts: per-field encoders resolved once, and one array parameter per key list."""

from __future__ import annotations

import datetime
import decimal
import uuid

import pytest
from django.db import models

from dualdb.rendering import _AnyOf
from querying.codecs import read_value_encoder, to_bson
from tests.testapp.models import Book, Specimen, Tag

SPECIMEN_VALUES = {
    "amount": decimal.Decimal("12.3400"), "ratio": 0.25, "flag": True, "day": datetime.date(2024, 2, 29),
    "moment": datetime.datetime(2024, 2, 29, 12, 30, 1, 123456, tzinfo=datetime.timezone.utc),
    "clock": datetime.time(23, 59, 58, 1000), "span": datetime.timedelta(days=2, microseconds=7),
    "token": uuid.UUID(int=7), "payload": {"a": [1, {"b": None}]}, "attachment": "specimens/x.txt",
    "blob": memoryview(b"\x00\x01"), "label": "Ωmega",
}


class ShoutingField(models.CharField):
    """A subclass that prepares values its own way: the shortcut must not skip it."""

    def get_prep_value(self, value):
        return super().get_prep_value(value).upper()


@pytest.mark.parametrize("name", sorted(SPECIMEN_VALUES))
def test_each_encoder_stores_what_to_bson_stores(name):
    field = Specimen._meta.get_field(name)
    assert read_value_encoder(field)(SPECIMEN_VALUES[name]) == to_bson(field, SPECIMEN_VALUES[name])


def test_foreign_keys_primary_keys_and_text_are_stored_as_read():
    for field, value in ((Book._meta.pk, 41), (Book._meta.get_field("author"), 41), (Tag._meta.get_field("name"), "sf")):
        assert read_value_encoder(field)(value) == to_bson(field, value)
        assert read_value_encoder(field)(value) is value


def test_a_field_subclass_keeps_its_own_preparation():
    field = ShoutingField(max_length=10)
    field.set_attributes_from_name("shout")
    assert read_value_encoder(field)("quiet") == "QUIET"


@pytest.mark.django_db
def test_any_of_matches_integer_and_text_keys():
    tags = [Tag.objects.create(name=name) for name in ("sf", "SF", "classic")]
    by_pk = Tag.objects.filter(_AnyOf(Tag._meta.pk, [tags[0].pk, tags[2].pk, -1]))
    by_name = Tag.objects.filter(_AnyOf(Tag._meta.get_field("name"), ["SF", "classic", "ünïcode"]))
    assert sorted(by_pk.values_list("name", flat=True)) == ["classic", "sf"]
    assert sorted(by_name.values_list("name", flat=True)) == ["SF", "classic"]
    assert not Tag.objects.filter(_AnyOf(Tag._meta.pk, [])).exists()
