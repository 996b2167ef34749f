"""A failed query leaves nothing behind: the next query on the same engine gets its own rows."""
import pytest

from segc.engines import EngineError


def test_query_after_a_failed_query(engine):
    engine.create_table("t", [("a", "string")], [("x",), (None,)])
    with pytest.raises(EngineError):
        engine.query('SELECT CAST("a" AS no_such_type_at_all) FROM "t"')
    assert engine.query("SELECT 1 AS one") == [(1,)]
    assert engine.query('SELECT COUNT(*) FROM "t"') == [(2,)]


def test_chdb_partial_output_of_a_failed_query_is_not_prepended(clickhouse_engine):
    # a query that fails after starting its output (NULL into a non-Nullable cast)
    clickhouse_engine.create_table("t", [("a", "string")], [("x",), (None,)])
    with pytest.raises(EngineError):
        clickhouse_engine.query("SELECT CAST(a AS DateTime64(6, 'UTC')) FROM t")
    assert clickhouse_engine.query("SELECT 1 AS one") == [(1,)]
