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

On PostgreSQL autovacuum vacuums the tasks table after every AUTOVACUUM_AFTER dead row versions (about two per
label, the claim's and the submit's; a re-ordering makes one per open task and vacuums itself), whatever the
table's size, and always with its indexes: each label leaves dead entries at the top of the claim index that
every claim steps over until a VACUUM removes them, and the default (a fifth of the table) waits 100,000
labels at 1,000,000 items; a VACUUM that finds few pages with dead rows may otherwise skip the indexes, which
is where they cost. The downgrade resets the three parameters.

The new index is built inside the migration's transaction, which holds the table: labelling waits for it
(0.25 s for 1,000,000 tasks on the machine of the README's figures).
"""

from alembic import op
import sqlalchemy as sa


revision = '0009_task_item_index'
down_revision = '0008_project_access'
branch_labels = None
depends_on = None


AUTOVACUUM_AFTER = 20_000


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_tasks_labeller_item')
        batch_op.drop_index('ix_tasks_item_id')
        batch_op.create_index('uq_tasks_labeller_item', ['item_id', 'labeller_id'], unique=True)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'ALTER TABLE tasks SET (autovacuum_vacuum_scale_factor = 0, '
            f'autovacuum_vacuum_threshold = {AUTOVACUUM_AFTER}, vacuum_index_cleanup = on)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE tasks RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, vacuum_index_cleanup)')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_tasks_labeller_item')
        batch_op.create_index('ix_tasks_item_id', ['item_id'], unique=False)
        batch_op.create_index('uq_tasks_labeller_item', ['item_id', 'labeller_id'], unique=True, postgresql_where=sa.text('labeller_id IS NOT NULL'), sqlite_where=sa.text('labeller_id IS NOT NULL'))
