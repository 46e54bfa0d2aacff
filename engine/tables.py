"""Tables that quick read commands (`region list`) query with SQLAlchemy Core, declared once here
and mapped by `engine.models`: importing the ORM and mapping every model class is most of a short
command's start-up, and a Core SELECT needs neither."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table

metadata = MetaData()  # the models' metadata too (`models.Base`)

regions = Table(
    "regions",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("level", String(20), nullable=False),  # AccessPolicy.region_levels
    Column("timezone", String(40), nullable=False),  # Asia/Jakarta | Asia/Makassar | Asia/Jayapura
    Column("province_code", String(20)),  # the region this one lies in
)
