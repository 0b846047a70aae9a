"""Project members, archived projects and label renames/merges with their history; item_id indexes that
make deleting a project fast.

Revision ID: 0008_project_access
Revises: 0007_label_versions

No rows are written: a project without members stays open to every labeller, and no project is archived,
so a database upgraded from 0007 works exactly as before.
"""

from alembic import op
import sqlalchemy as sa


revision = '0008_project_access'
down_revision = '0007_label_versions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Deleting a project deletes its items, and each item's labels and reviews by ON DELETE CASCADE: one
    # lookup by item_id per item, a scan of the whole table without these (75 s for 30,000 items).
    for table in ('annotations', 'reviews'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_item_id'), ['item_id'], unique=False)
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', sa.Double(), nullable=True))
    op.create_table('project_members',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('labeller_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['labeller_id'], ['labellers.id'], name=op.f('fk_project_members_labeller_id_labellers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_members_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'labeller_id', name=op.f('pk_project_members'))
    )
    with op.batch_alter_table('project_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_members_labeller_id'), ['labeller_id'], unique=False)
    op.create_table('label_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('old_label', sa.Text(), nullable=False),
    sa.Column('new_label', sa.Text(), nullable=False),
    sa.Column('changed_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_label_changes_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_changes'))
    )
    with op.batch_alter_table('label_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_changes_project_id_id'), ['project_id', 'id'], unique=False)
    op.create_table('label_change_rows',
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('annotation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('previous', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_label_change_rows_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['change_id'], ['label_changes.id'], name=op.f('fk_label_change_rows_change_id_label_changes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('change_id', 'annotation_id', name=op.f('pk_label_change_rows'))
    )
    with op.batch_alter_table('label_change_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_change_rows_annotation_id'), ['annotation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('label_change_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_change_rows_annotation_id'))
    op.drop_table('label_change_rows')
    with op.batch_alter_table('label_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_changes_project_id_id'))
    op.drop_table('label_changes')
    with op.batch_alter_table('project_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_members_labeller_id'))
    op.drop_table('project_members')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
    for table in ('reviews', 'annotations'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_item_id'))
