"""How the lake's parts are encoded (codecs, statistics) and how a file's batches become parts."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from mrf_assets.tic.lake import Lake


def test_unique_ids_skip_the_codec_and_every_other_column_keeps_it(tmp_path):
    """Codecs are set per leaf column: a list column named without its leaf path would silently be
    written uncompressed."""
    from mrf_assets.tic.ids import stable_uuid
    from mrf_assets.tic.tables import RATES

    rows = 1000
    ids = pa.ExtensionArray.from_storage(pa.uuid(), pa.array([stable_uuid(str(i)) for i in range(rows)], pa.binary(16)))
    table = pa.table({name: pa.nulls(rows, field.type) for name, field in zip(RATES.names, RATES)}, schema=RATES)
    table = table.set_column(RATES.get_field_index("rate_uuid"), "rate_uuid", ids)
    table = table.set_column(RATES.get_field_index("provider_set_uuid"), "provider_set_uuid", ids)
    writer = Lake(str(tmp_path)).writer("rates", "2026-11", "p", "run-000", RATES)
    writer.write_table(table, key="a")
    part = writer.commit(sources=["u"])["parts"][0]["path"]
    meta = pq.ParquetFile(tmp_path / "rates" / "month=2026-11" / "payer=p" / part).metadata.row_group(0)
    codecs = {meta.column(i).path_in_schema: meta.column(i).compression for i in range(meta.num_columns)}
    assert codecs.pop("rate_uuid") == "UNCOMPRESSED"
    assert codecs["service_code.list.element"] == codecs["provider_set_uuid"] == "ZSTD"
    assert set(codecs.values()) == {"ZSTD"}


def test_a_groups_ids_repeated_on_its_npis_shrink_past_their_dictionary(tmp_path):
    """A provider group's id and its organization's repeat on each of its NPIs. A row group of a
    reference-heavy file has more distinct groups than the dictionary holds, and the rest is written
    plainly: 16 bytes a row each, unless zstd takes the runs (4x smaller on such a file)."""
    from mrf_assets.tic.ids import stable_uuid
    from mrf_assets.tic.tables import PROVIDERS

    groups, npis = 40_000, 10

    def ids(kind: str) -> pa.Array:  # one per group, on each of its NPIs' rows
        values = pa.array([stable_uuid(kind, str(g)) for g in range(groups) for _ in range(npis)], pa.binary(16))
        return pa.ExtensionArray.from_storage(pa.uuid(), values)

    rows = groups * npis
    table = pa.table({"provider_group_uuid": ids("group"), "npi": pa.array(range(10**9, 10**9 + rows), pa.int64()),
                      "organization_uuid": ids("org"), "network_name": pa.nulls(rows, PROVIDERS.field("network_name").type)},
                     schema=PROVIDERS)
    writer = Lake(str(tmp_path)).writer("providers", "2026-11", "p", "run-000", PROVIDERS)
    writer.write_table(table, key="a")
    part = writer.commit(sources=["u"])["parts"][0]["path"]
    meta = pq.ParquetFile(tmp_path / "providers" / "month=2026-11" / "payer=p" / part).metadata
    stored = {}
    for g in range(meta.num_row_groups):
        for i in range(meta.num_columns):
            column = meta.row_group(g).column(i)
            stored[column.path_in_schema] = stored.get(column.path_in_schema, 0) + column.total_compressed_size
    plain = 16 * rows
    assert stored["provider_group_uuid"] < plain / 4 and stored["organization_uuid"] < plain / 4


def test_every_column_but_the_unique_ids_keeps_a_dictionary_lists_included(tmp_path):
    """Dictionaries are also set per leaf column: a list column named without its leaf path was written
    plainly (service_code: 30% more bytes and 25% more time)."""
    from mrf_assets.tic.tables import RATES

    row = {"rate_uuid": b"\x01" * 16, "provider_set_uuid": b"\x02" * 16, "billing_code": "27447", "name": "knee",
           "negotiated_rate": 12.5, "service_code": ["11", "22"], "billing_code_modifier": ["26"], "payer": "p"}
    rows = [{**row, "rate_uuid": i.to_bytes(16, "big")} for i in range(100)]
    writer = Lake(str(tmp_path)).writer("rates", "2026-11", "p", "run-000", RATES)
    writer.write_table(pa.Table.from_pylist(rows, schema=RATES), key="a")
    part = writer.commit(sources=["u"])["parts"][0]["path"]
    meta = pq.ParquetFile(tmp_path / "rates" / "month=2026-11" / "payer=p" / part).metadata.row_group(0)
    encoded = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert "RLE_DICTIONARY" not in encoded.pop("rate_uuid")
    assert {c for c, encodings in encoded.items() if "RLE_DICTIONARY" not in encodings} == set()
    assert "service_code.list.element" in encoded and "billing_code_modifier.list.element" in encoded


def test_an_items_texts_keep_their_dictionary_past_the_other_columns_limit(tmp_path):
    """A row group of rates holds thousands of items, and each item's name and description repeat on all
    of its prices: their dictionary (here ~1 MB) stays, where other columns give up at DICTIONARY_BYTES."""
    from mrf_assets.tic.parts import DICTIONARY_BYTES
    from mrf_assets.tic.tables import PROVIDER_SETS, RATES

    rows = [{"rate_uuid": i.to_bytes(16, "big"), "name": f"{i // 4:06d} " + "n" * 100,
             "description": f"{i // 4:06d} " + "d" * 200} for i in range(20_000)]
    assert len({r["description"] for r in rows}) * 200 > 3 * DICTIONARY_BYTES
    members = [{"provider_set_uuid": b"\x01" * 16, "provider_group_id": f"{i // 2:06d} " + "g" * 100}
               for i in range(20_000)]
    lake = Lake(str(tmp_path))
    sizes = {}  # bytes before compression: with a dictionary, each distinct text once plus small indices
    for table, schema, data in (("rates", RATES, rows), ("provider_sets", PROVIDER_SETS, members)):
        writer = lake.writer(table, "2026-11", "p", "run-000", schema)
        writer.write_table(pa.Table.from_pylist(data, schema=schema), key="a")
        part = writer.commit(sources=["u"])["parts"][0]["path"]
        meta = pq.ParquetFile(tmp_path / table / "month=2026-11" / "payer=p" / part).metadata.row_group(0)
        sizes |= {meta.column(i).path_in_schema: meta.column(i).total_uncompressed_size
                  for i in range(meta.num_columns)}
    assert sizes["name"] < 5_000 * 111 + 20_000 * 4 and sizes["description"] < 5_000 * 211 + 20_000 * 4
    assert sizes["provider_group_id"] > 15_000 * 100  # gave up on its dictionary: most rows' text in full


def test_statistics_only_where_a_reader_can_skip_row_groups(tmp_path):
    from mrf_assets.tic.tables import RATES

    row = {"rate_uuid": b"\x01" * 16, "provider_set_uuid": b"\x02" * 16, "billing_code": "27447", "name": "knee",
           "negotiated_rate": 12.5, "service_code": ["11"], "payer": "p"}
    table = pa.Table.from_pylist([row, {**row, "billing_code": "99213", "negotiated_rate": 80.0}], schema=RATES)
    writer = Lake(str(tmp_path)).writer("rates", "2026-11", "p", "run-000", RATES)
    writer.write_table(table, key="a")
    part = writer.commit(sources=["u"])["parts"][0]["path"]
    meta = pq.ParquetFile(tmp_path / "rates" / "month=2026-11" / "payer=p" / part).metadata.row_group(0)
    stats = {meta.column(i).path_in_schema: meta.column(i).statistics for i in range(meta.num_columns)}
    assert (stats["billing_code"].min, stats["billing_code"].max) == ("27447", "99213")
    assert (stats["negotiated_rate"].min, stats["negotiated_rate"].max) == (12.5, 80.0)
    assert not any(stats[c] is not None and stats[c].has_min_max
                   for c in ("name", "payer", "service_code.list.element", "rate_uuid", "provider_set_uuid"))


def test_a_part_stream_gathers_batches_into_full_row_groups_and_rolls_parts(tmp_path, monkeypatch):
    from mrf_assets.tic import parts as parts_module

    monkeypatch.setattr(parts_module, "ROW_GROUP_ROWS", 1000)
    monkeypatch.setattr(parts_module, "ROWS_PER_PART", 2500)
    writer = Lake(str(tmp_path)).writer("rates", "2026-11", "p", "run-000")
    part = writer.open_part("f")
    for start in range(0, 3000, 300):  # ten batches of 300 rows
        part.write(pa.table({"x": list(range(start, start + 300))}))
    part.close()
    parts = writer.commit()["parts"]
    files = [pq.ParquetFile(tmp_path / "rates" / "month=2026-11" / "payer=p" / p["path"]) for p in parts]
    groups = [[f.metadata.row_group(g).num_rows for g in range(f.metadata.num_row_groups)] for f in files]
    assert groups == [[1200, 1200, 300], [300]]  # full groups; the part rolls at its row limit
    assert [p["rows"] for p in parts] == [2700, 300]
    assert pa.concat_tables(f.read() for f in files)["x"].to_pylist() == list(range(3000))
