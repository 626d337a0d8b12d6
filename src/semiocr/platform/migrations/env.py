"""Alembic environment of the platform database (run through ``semiocr.platform.db.migrate``)."""

from alembic import context
from sqlalchemy import create_engine

from semiocr.platform.tables import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
connectable = create_engine(url)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
