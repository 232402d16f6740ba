"""Reading and writing vectors in the database, for both dialects."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from bookctl.search.schema import PREBUILT_DIMS, hnsw_index_sql

HNSW_MAX_DIM = 2000  # pgvector's limit for an HNSW index on `vector`


def to_blob(vector: Sequence[float]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4")


def to_db(vector: Sequence[float] | np.ndarray, dialect: str):
    """The value the `chunks.embedding` column takes on this dialect."""
    if dialect == "postgresql":
        return np.asarray(vector, dtype=np.float32)
    return to_blob(vector)


def ensure_vector_index(session: Session, dim: int) -> bool:
    """On PostgreSQL, make sure the HNSW index for this dimension exists (prebuilt: 384, 1536)."""
    if session.get_bind().dialect.name != "postgresql" or dim in PREBUILT_DIMS or dim > HNSW_MAX_DIM:
        return False
    session.execute(text(hnsw_index_sql(dim)))
    return True
