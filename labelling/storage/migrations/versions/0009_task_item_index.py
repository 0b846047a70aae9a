"""One index over a task's item and labeller instead of two: the unique (item_id, labeller_id) covers every
task, and the plain item_id index goes.

Revision ID: 0009_task_item_index
Revises: 0008_project_access

Two reasons, both measured on the labelling path (labelling.storage.schema, next to `tasks`). A claim and a
submit each rewrite the task row and so add an entry to every index over it; one index fewer is one entry
fewer each time. And the partial unique index held only the tasks someone had taken, so it looked small
to the planner right after an import: the lease refresh, planned once per connection, then read it whole
for the labeller's id, longer with every label they gave. Over every task the index is as big as the
queue, and the small lease index wins. NULL labeller ids never collide in a unique index (PostgreSQL and
SQLite), so the rule it keeps is the same: one task per item and labeller.
"""

from alembic import op
import sqlalchemy as sa


revision = '0009_task_item_index'
down_revision = '0008_project_access'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_tasks_labeller_item')
        batch_op.drop_index('ix_tasks_item_id')
        batch_op.create_index('uq_tasks_labeller_item', ['item_id', 'labeller_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_tasks_labeller_item')
        batch_op.create_index('ix_tasks_item_id', ['item_id'], unique=False)
        batch_op.create_index('uq_tasks_labeller_item', ['item_id', 'labeller_id'], unique=True, postgresql_where=sa.text('labeller_id IS NOT NULL'), sqlite_where=sa.text('labeller_id IS NOT NULL'))
