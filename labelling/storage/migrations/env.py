"""Alembic environment: runs on the connection `labelling.storage.engine.migrate` passes in, or on $DATABASE_URL."""

from alembic import context

from labelling.storage.engine import make_engine
from labelling.storage.schema import metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with make_engine().begin() as own_connection:
        _run(own_connection)
