"""job metrics deleted with their job by a trigger instead of a foreign key

PostgreSQL checks a foreign key with one lookup per inserted row, which cost as much again as
storing the row; a job's metrics are only written under its lease, in a transaction that holds
the job's row, so the check found nothing the lease had not. The trigger keeps the cascade.

SQLite drops a table's triggers with the table: a batch migration of jobs (which rebuilds it)
must create JOBS_DELETE_TRIGGER_SQLITE again; tests/models/test_migrations.py checks it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:20:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = 'fk_job_metrics_job_id_jobs'

JOBS_DELETE_TRIGGER_SQLITE = (
    "CREATE TRIGGER jobs_delete_metrics AFTER DELETE ON jobs FOR EACH ROW"
    " BEGIN DELETE FROM job_metrics WHERE job_id = OLD.id; END"
)
JOBS_DELETE_FUNCTION_POSTGRESQL = (
    "CREATE FUNCTION delete_job_metrics() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN DELETE FROM job_metrics WHERE job_id IN (SELECT id FROM deleted_jobs);"
    " RETURN NULL; END $$"
)
JOBS_DELETE_TRIGGER_POSTGRESQL = (
    "CREATE TRIGGER jobs_delete_metrics AFTER DELETE ON jobs"
    " REFERENCING OLD TABLE AS deleted_jobs FOR EACH STATEMENT"
    " EXECUTE FUNCTION delete_job_metrics()"
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def upgrade() -> None:
    with op.batch_alter_table('job_metrics', schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_='foreignkey')
    if _postgresql():
        op.execute(JOBS_DELETE_FUNCTION_POSTGRESQL)
        op.execute(JOBS_DELETE_TRIGGER_POSTGRESQL)
    else:
        op.execute(JOBS_DELETE_TRIGGER_SQLITE)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS jobs_delete_metrics" + (" ON jobs" if _postgresql() else ""))
    if _postgresql():
        op.execute("DROP FUNCTION IF EXISTS delete_job_metrics()")
    # the metrics of a job deleted meanwhile would fail the key
    op.execute("DELETE FROM job_metrics WHERE job_id NOT IN (SELECT id FROM jobs)")
    with op.batch_alter_table('job_metrics', schema=None) as batch_op:
        batch_op.create_foreign_key(
            FOREIGN_KEY, 'jobs', ['job_id'], ['id'], ondelete='CASCADE'
        )
