"""Persistent store: SQLAlchemy models, Alembic migrations, the single-writer Store, blobs.

``Store(url, data_dir=...)`` opens and migrates the database and serializes all database work
on one writer thread with group commit; ``BlobStore`` keeps task files content-addressed. What
the store reads comes back as typed records (:mod:`app.engine.store.rows`).
"""

from __future__ import annotations

from app.engine.store.blobs import BlobRef, BlobStore
from app.engine.store.migrate import VERSION_TABLE, head_revision
from app.engine.store.rows import (
    DatasetSources,
    DecisionRecord,
    ExampleRecord,
    FeedbackRecord,
    FileRecord,
    GoldenRunRecord,
    ProposalRecord,
    RoutingFeedbackRecord,
    TaskRecord,
    VariantOutcomeRecord,
    VariantRecord,
)
from app.engine.store.series import NICE_BUCKETS, Point, auto_bucket
from app.engine.store.store import Store

__all__ = [
    "NICE_BUCKETS",
    "VERSION_TABLE",
    "BlobRef",
    "BlobStore",
    "DatasetSources",
    "DecisionRecord",
    "ExampleRecord",
    "FeedbackRecord",
    "FileRecord",
    "GoldenRunRecord",
    "Point",
    "ProposalRecord",
    "RoutingFeedbackRecord",
    "Store",
    "TaskRecord",
    "VariantOutcomeRecord",
    "VariantRecord",
    "auto_bucket",
    "head_revision",
]
