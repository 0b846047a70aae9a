"""The upload limit: a file over Streamlit's `server.maxUploadSize` is refused, saying where the limit is set."""

from __future__ import annotations

import streamlit as st

from labelling import InvalidInput

__all__ = ["check_upload_size"]

BYTES_PER_MB = 1024 * 1024


def check_upload_size(size_bytes: int, limit_mb: float | None = None) -> None:
    """Refuse a file over the upload limit (server.maxUploadSize in .streamlit/config.toml, in MB)."""
    limit_mb = st.get_option("server.maxUploadSize") if limit_mb is None else limit_mb
    if size_bytes > limit_mb * BYTES_PER_MB:
        raise InvalidInput(
            f"the file is {size_bytes / BYTES_PER_MB:,.1f} MB, over the {limit_mb:,} MB limit "
            "(server.maxUploadSize in .streamlit/config.toml)"
        )
