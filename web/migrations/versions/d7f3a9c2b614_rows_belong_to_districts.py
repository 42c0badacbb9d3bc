"""districts own their rows: district_id on streets, stops, services, published weeks, bookings

Revision ID: d7f3a9c2b614
Revises: c7f3a9d2b614
Create Date: 2026-11-29 09:00:00

Backfill, in order:

1. streets, stops and services get the district whose last import listed them (the old
   `districts.rows` JSON); a service code several districts listed is copied into each of them
   (services become per district: key (district_id, code)).
2. A published week gets the district owning most of its visits' stops.
3. Whatever no district owns (an installation that published with `flask publish` before
   districts existed, or rows left behind by a re-import) goes to the *fallback district*:
   the district imported from the configured data folder (`TAXVAN_DATA`) if there is one, else
   the only district if there is exactly one, else a district the migration creates from the
   configured data folder (code = the folder's name, hall = its depot; `flask --app app
   district import --data DIR --name ...` later fills in the name).
4. A booking gets its visit's week's district; if that district lacks the booking's service,
   the service's row is copied into it, so every booking keeps its service.

Then the columns become NOT NULL, `published_weeks` is unique per (district_id, week), and
`districts.rows` is dropped: the columns are the one record. The downgrade keeps one row per
service code and per week (the lowest district id) and rebuilds `districts.rows`.
"""

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "d7f3a9c2b614"
down_revision = "c7f3a9d2b614"
branch_labels = None
depends_on = None

OWNED = ("streets", "stops", "services", "published_weeks", "bookings")
KEY = {"streets": "code", "stops": "id", "services": "code"}

# The initial schema left some keys unnamed: PostgreSQL named them (services_pkey,
# bookings_service_code_fkey, published_weeks_week_key) and they are dropped by those names;
# SQLite did not, so its tables are rebuilt from descriptions without them (`copy_from`).


def _json(value):
    return json.loads(value) if isinstance(value, str) else (value or {})


def _fallback_district(bind) -> int:
    """The district that takes rows no district owns (see the module's docstring)."""
    districts = bind.execute(sa.text("SELECT id, code, data_dir FROM districts")).all()
    folder = _configured_data_dir()
    if folder is not None:
        for d in districts:
            if d.data_dir and Path(d.data_dir).resolve() == folder.resolve():
                return d.id
    if len(districts) == 1:
        return districts[0].id
    code = folder.resolve().name if folder is not None else "district"
    for d in districts:
        if d.code == code:
            return d.id
    hall = _hall(folder)
    now = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))
    now = now.replace(tzinfo=None)
    bind.execute(
        sa.text(
            "INSERT INTO districts (code, name, name_en, hall, settings, rows, data_dir,"
            " created_at, updated_at) VALUES (:code, :code, :code, :hall, :settings, :rows,"
            " :data_dir, :now, :now)"
        ),
        {
            "code": code,
            "hall": json.dumps(hall, ensure_ascii=False),
            "settings": json.dumps({}),
            "rows": json.dumps({}),
            "data_dir": str(folder.resolve()) if folder is not None else "",
            "now": now,
        },
    )
    return bind.execute(sa.text("SELECT id FROM districts WHERE code = :c"), {"c": code}).scalar()


def _configured_data_dir() -> Path | None:
    try:
        from flask import current_app

        return Path(current_app.config["TAXVAN"].data_dir)
    except Exception:  # noqa: BLE001 - outside the app (plain alembic): no configured folder
        return None


def _hall(folder: Path | None) -> dict:
    """The depot of the configured data folder, as `district import` records it."""
    if folder is None:
        return {}
    try:
        from taxvan.io.loaders import load_dataset

        d = load_dataset(folder).depot
    except Exception:  # noqa: BLE001 - a folder that no longer loads: no hall recorded
        return {}
    return {"id": d.id, "name": d.name, "lat": d.lat, "lon": d.lon, "coord_quality": d.coord_quality}


def _services_table() -> sa.Table:
    """`services` with its new key, for SQLite's batch rebuild."""
    return sa.Table(
        "services",
        sa.MetaData(),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("materials_zh", sa.String(500), nullable=False),
        sa.Column("materials_en", sa.String(500), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("district_id", "code", name="pk_services"),
    )


def _bookings_table() -> sa.Table:
    """`bookings` as it stands (with the notices' `lang` and the disruptions' cancellation
    columns), without its key on services.code, for SQLite's rebuild."""
    m = sa.MetaData()
    sa.Table("visits", m, sa.Column("id", sa.Integer(), primary_key=True))
    t = sa.Table(
        "bookings",
        m,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(40), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("taxpayer_id", sa.String(18), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("lang", sa.String(5), nullable=False, server_default="zh"),
        sa.Column("cancel_reason", sa.String(20), nullable=True),
        sa.Column("cancel_note", sa.String(200), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"]),
        sa.UniqueConstraint("code"),
    )
    sa.Index("ix_bookings_taxpayer_id", t.c.taxpayer_id)
    sa.Index("ix_bookings_visit_id", t.c.visit_id)
    return t


def _published_weeks_table() -> sa.Table:
    """`published_weeks` as it stands, without its unique week, for SQLite's rebuild."""
    return sa.Table(
        "published_weeks",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("map_html", sa.Text(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def upgrade():
    bind = op.get_bind()
    for table in OWNED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("district_id", sa.Integer(), nullable=True))

    # 1. streets, stops, services from the last imports' ids
    districts = bind.execute(sa.text("SELECT id, rows FROM districts ORDER BY id")).all()
    extra_services: list[tuple[int, str]] = []
    for d in districts:
        rows = _json(d.rows)
        for table, key in KEY.items():
            for ident in rows.get(table, []):
                done = bind.execute(
                    sa.text(
                        f"UPDATE {table} SET district_id = :d"
                        f" WHERE {key} = :i AND district_id IS NULL"
                    ),
                    {"d": d.id, "i": ident},
                ).rowcount
                if table == "services" and not done:
                    extra_services.append((d.id, ident))

    # 2. a published week: the district owning most of its visits' stops
    weeks = bind.execute(
        sa.text(
            "SELECT v.published_id, s.district_id, COUNT(*) FROM visits v"
            " JOIN stops s ON s.id = v.stop_id WHERE s.district_id IS NOT NULL"
            " GROUP BY v.published_id, s.district_id"
        )
    ).all()
    votes: dict[int, Counter] = {}
    for week_id, district_id, n in weeks:
        votes.setdefault(week_id, Counter())[district_id] += n
    for week_id, counter in votes.items():
        bind.execute(
            sa.text("UPDATE published_weeks SET district_id = :d WHERE id = :w"),
            {"d": counter.most_common(1)[0][0], "w": week_id},
        )

    # 3. what no district owns: the fallback district
    orphans = any(
        bind.execute(sa.text(f"SELECT 1 FROM {t} WHERE district_id IS NULL LIMIT 1")).first()
        for t in ("streets", "stops", "services", "published_weeks")
    )
    if orphans:
        fallback = _fallback_district(bind)
        for table in ("streets", "stops", "services", "published_weeks"):
            bind.execute(
                sa.text(f"UPDATE {table} SET district_id = :d WHERE district_id IS NULL"),
                {"d": fallback},
            )

    # 4. bookings: their visit's week's district
    bind.execute(
        sa.text(
            "UPDATE bookings SET district_id = (SELECT w.district_id FROM visits v"
            " JOIN published_weeks w ON w.id = v.published_id WHERE v.id = bookings.visit_id)"
        )
    )

    sqlite = bind.dialect.name == "sqlite"
    # The old keys go before the new: bookings' FK to services.code, services' key on code,
    # published_weeks' unique week.
    # (SQLite rebuilds a table from the description given, without the old unnamed key)
    if sqlite:
        with op.batch_alter_table("bookings", copy_from=_bookings_table(), recreate="always"):
            pass
    else:
        op.drop_constraint("bookings_service_code_fkey", "bookings", type_="foreignkey")
    # SQLite rebuilds the table: from a description with the new key (no PK to drop)
    with op.batch_alter_table(
        "services", copy_from=_services_table() if sqlite else None
    ) as batch_op:
        batch_op.alter_column("district_id", existing_type=sa.Integer(), nullable=False)
        if not sqlite:
            batch_op.drop_constraint("services_pkey", type_="primary")
            batch_op.create_primary_key("pk_services", ["district_id", "code"])
        batch_op.create_foreign_key(
            "fk_services_district_id_districts", "districts", ["district_id"], ["id"]
        )

    # services several districts listed, and services bookings need in their district
    missing = bind.execute(
        sa.text(
            "SELECT DISTINCT b.district_id, b.service_code FROM bookings b WHERE NOT EXISTS"
            " (SELECT 1 FROM services s WHERE s.district_id = b.district_id"
            " AND s.code = b.service_code)"
        )
    ).all()
    for district_id, code in {*extra_services, *((m[0], m[1]) for m in missing)}:
        bind.execute(
            sa.text(
                "INSERT INTO services (district_id, code, name_zh, name_en, minutes,"
                " materials_zh, materials_en) SELECT :d, code, name_zh, name_en, minutes,"
                " materials_zh, materials_en FROM services WHERE code = :c"
                " AND district_id = (SELECT MIN(district_id) FROM services WHERE code = :c)"
                " AND NOT EXISTS (SELECT 1 FROM services WHERE district_id = :d AND code = :c)"
            ),
            {"d": district_id, "c": code},
        )

    with op.batch_alter_table("bookings") as batch_op:
        batch_op.alter_column("district_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("ix_bookings_district_id", ["district_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_bookings_service",
            "services",
            ["district_id", "service_code"],
            ["district_id", "code"],
        )
    if not sqlite:
        op.drop_constraint("published_weeks_week_key", "published_weeks", type_="unique")
    with op.batch_alter_table(
        "published_weeks", copy_from=_published_weeks_table() if sqlite else None
    ) as batch_op:
        batch_op.alter_column("district_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_published_week", ["district_id", "week"])
        batch_op.create_index("ix_published_weeks_district_id", ["district_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_published_weeks_district_id_districts", "districts", ["district_id"], ["id"]
        )
    for table in ("streets", "stops"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("district_id", existing_type=sa.Integer(), nullable=False)
            batch_op.create_index(f"ix_{table}_district_id", ["district_id"], unique=False)
            batch_op.create_foreign_key(
                f"fk_{table}_district_id_districts", "districts", ["district_id"], ["id"]
            )
    with op.batch_alter_table("districts") as batch_op:
        batch_op.drop_column("rows")


def downgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    with op.batch_alter_table("districts") as batch_op:
        batch_op.add_column(sa.Column("rows", sa.JSON(), nullable=True))
    for (district_id,) in bind.execute(sa.text("SELECT id FROM districts")).all():
        rows = {
            table: sorted(
                r[0]
                for r in bind.execute(
                    sa.text(f"SELECT {key} FROM {table} WHERE district_id = :d"),
                    {"d": district_id},
                )
            )
            for table, key in KEY.items()
        }
        bind.execute(
            sa.text("UPDATE districts SET rows = :r WHERE id = :d"),
            {"r": json.dumps(rows, ensure_ascii=False), "d": district_id},
        )
    with op.batch_alter_table("districts") as batch_op:
        batch_op.alter_column("rows", existing_type=sa.JSON(), nullable=False)

    for table in ("streets", "stops"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_district_id_districts", type_="foreignkey")
            batch_op.drop_index(f"ix_{table}_district_id")
            batch_op.drop_column("district_id")
    # one week per label: the lowest district's
    bind.execute(
        sa.text(
            "DELETE FROM slot_claims WHERE visit_id IN (SELECT v.id FROM visits v"
            " JOIN published_weeks w ON w.id = v.published_id WHERE w.id NOT IN"
            " (SELECT MIN(id) FROM published_weeks GROUP BY week))"
        )
    )
    bind.execute(
        sa.text(
            "DELETE FROM bookings WHERE visit_id IN (SELECT v.id FROM visits v"
            " JOIN published_weeks w ON w.id = v.published_id WHERE w.id NOT IN"
            " (SELECT MIN(id) FROM published_weeks GROUP BY week))"
        )
    )
    bind.execute(
        sa.text(
            "DELETE FROM visits WHERE published_id NOT IN"
            " (SELECT MIN(id) FROM published_weeks GROUP BY week)"
        )
    )
    bind.execute(
        sa.text(
            "DELETE FROM published_weeks WHERE id NOT IN"
            " (SELECT MIN(id) FROM published_weeks GROUP BY week)"
        )
    )
    with op.batch_alter_table("published_weeks") as batch_op:
        batch_op.drop_constraint("fk_published_weeks_district_id_districts", type_="foreignkey")
        batch_op.drop_index("ix_published_weeks_district_id")
        batch_op.drop_constraint("uq_published_week", type_="unique")
        batch_op.create_unique_constraint(
            "uq_published_weeks_week" if sqlite else "published_weeks_week_key", ["week"]
        )
        batch_op.drop_column("district_id")
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_constraint("fk_bookings_service", type_="foreignkey")
        batch_op.drop_index("ix_bookings_district_id")
        batch_op.drop_column("district_id")
    # one service per code: the lowest district's
    bind.execute(
        sa.text(
            "DELETE FROM services WHERE district_id <> (SELECT MIN(s.district_id)"
            " FROM services s WHERE s.code = services.code)"
        )
    )
    with op.batch_alter_table("services") as batch_op:
        batch_op.drop_constraint("fk_services_district_id_districts", type_="foreignkey")
        batch_op.drop_constraint("pk_services", type_="primary")
        batch_op.create_primary_key("services_pkey", ["code"])
        batch_op.drop_column("district_id")
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.create_foreign_key(
            "bookings_service_code_fkey", "services", ["service_code"], ["code"]
        )
