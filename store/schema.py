"""The DuckDB schema, as numbered migrations applied in order and recorded in ``schema_version``.

Never edit a migration that has shipped; add the next one. Each runs in one transaction,
so a crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

import duckdb

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "series, tag index, step data and rollups; spans; logs",
        """
        CREATE TABLE series (
            series_id BIGINT PRIMARY KEY,
            name VARCHAR NOT NULL,
            tags_key VARCHAR NOT NULL UNIQUE,   -- canonical sorted k=v text, the identity
            tags JSON NOT NULL
        );
        -- The tag index: one row per (series, tag); selection never scans JSON.
        CREATE TABLE series_tags (
            series_id BIGINT NOT NULL,
            key VARCHAR NOT NULL,
            value VARCHAR NOT NULL
        );
        CREATE INDEX series_tags_kv ON series_tags (key, value);
        -- Step data at the ingest step; ts is the end of the interval, epoch ms.
        CREATE TABLE points (series_id BIGINT NOT NULL, ts BIGINT NOT NULL, value DOUBLE);
        -- Rollups keep sum/count/min/max so averages, totals and extremes stay exact.
        CREATE TABLE points_1m (
            series_id BIGINT NOT NULL, ts BIGINT NOT NULL,
            sum DOUBLE, count BIGINT, min DOUBLE, max DOUBLE
        );
        CREATE TABLE points_1h (
            series_id BIGINT NOT NULL, ts BIGINT NOT NULL,
            sum DOUBLE, count BIGINT, min DOUBLE, max DOUBLE
        );
        CREATE TABLE spans (
            trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, parent_span_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL, kind TINYINT NOT NULL,
            start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, duration_ns BIGINT NOT NULL,
            service VARCHAR NOT NULL, status_code TINYINT NOT NULL, status_message VARCHAR NOT NULL,
            attributes JSON, resource JSON, events JSON, links JSON, scope VARCHAR
        );
        CREATE INDEX spans_trace ON spans (trace_id);
        CREATE TABLE logs (
            timestamp_ns BIGINT NOT NULL, level VARCHAR NOT NULL, message VARCHAR NOT NULL,
            service VARCHAR NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL,
            index_name VARCHAR NOT NULL, document JSON NOT NULL
        );
        CREATE INDEX logs_trace ON logs (trace_id);
        -- Watermarks and checkpoints (rollups done up to, puller positions).
        CREATE TABLE checkpoints (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        """,
    ),
    (
        2,
        "logs get a store-assigned sequence: a stable tiebreak for paging through equal timestamps",
        """
        CREATE SEQUENCE logs_seq;
        ALTER TABLE logs ADD COLUMN seq BIGINT DEFAULT nextval('logs_seq');
        """,
    ),
    (
        3,
        "definitions written through the API (SLOs first), one text per kind and name",
        """
        CREATE TABLE documents (
            kind VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            body VARCHAR NOT NULL,
            updated_ms BIGINT NOT NULL,
            PRIMARY KEY (kind, name)
        );
        """,
    ),
    (
        4,
        "the notification outbox: every page and webhook written before it is sent",
        """
        CREATE SEQUENCE notifications_seq;
        CREATE TABLE notifications (
            id BIGINT PRIMARY KEY DEFAULT nextval('notifications_seq'),
            channel VARCHAR NOT NULL,          -- which sender delivers it (pagerduty, …)
            dedup_key VARCHAR,                 -- the alert it acts on, when it has one
            payload VARCHAR NOT NULL,          -- the JSON body, without credentials
            status VARCHAR NOT NULL,           -- pending, sent, failed
            attempts INTEGER NOT NULL,
            next_attempt_ms BIGINT NOT NULL,
            last_status INTEGER,               -- the last HTTP status answered, if any
            last_error VARCHAR,
            created_ms BIGINT NOT NULL,
            sent_ms BIGINT
        );
        CREATE INDEX notifications_due ON notifications (status, next_attempt_ms);
        """,
    ),
    (
        5,
        "alert history: every state change of every alert",
        """
        CREATE TABLE alert_history (
            ts_ms BIGINT NOT NULL,
            fingerprint VARCHAR NOT NULL,
            transition VARCHAR NOT NULL,       -- pending, firing, resolved, inactive, acknowledged
            value DOUBLE,
            labels VARCHAR NOT NULL            -- JSON, as the alert had them
        );
        CREATE INDEX alert_history_by_alert ON alert_history (fingerprint, ts_ms);
        """,
    ),
)


def current_version(connection: duckdb.DuckDBPyConnection) -> int:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, description VARCHAR, "
        "applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(connection: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the file's version; answers the version reached."""
    version = current_version(connection)
    for number, description, ddl in MIGRATIONS:
        if number <= version:
            continue
        connection.execute("BEGIN TRANSACTION")
        try:
            connection.execute(ddl)
            connection.execute(
                "INSERT INTO schema_version (version, description) VALUES (?, ?)", [number, description]
            )
            connection.execute("COMMIT")
        except Exception:
            connection.execute("ROLLBACK")
            raise
        version = number
    return version
