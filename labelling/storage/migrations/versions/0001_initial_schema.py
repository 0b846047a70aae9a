"""Initial schema: projects, labellers, items, the task queue, annotations and skips.

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('labellers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), server_default='labeller', nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('revoked_at', sa.Double(), nullable=True),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labellers')),
    sa.UniqueConstraint('name', name=op.f('uq_labellers_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_labellers_token_hash'))
    )
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('labels', sa.Text(), nullable=False),
    sa.Column('multi_label', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('overlap', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('instructions', sa.Text(), server_default='', nullable=False),
    sa.Column('settings', sa.Text(), server_default='{}', nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('name', name=op.f('uq_projects_name'))
    )
    op.create_table('items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_items_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_items_project_id_id'), ['project_id', 'id'], unique=False)

    op.create_table('annotations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('labeller_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=True),
    sa.Column('is_current', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('source', sa.String(length=20), server_default='label', nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_annotations_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['labeller_id'], ['labellers.id'], name=op.f('fk_annotations_labeller_id_labellers')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_annotations_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotations'))
    )
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annotations_project_id_created_at'), ['project_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_project_id_labeller_id_id'), ['project_id', 'labeller_id', 'id'], unique=False)
        batch_op.create_index('uq_annotations_current', ['item_id', 'labeller_id'], unique=True, postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current = 1'))

    op.create_table('skips',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('labeller_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_skips_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['labeller_id'], ['labellers.id'], name=op.f('fk_skips_labeller_id_labellers')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_skips_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skips'))
    )
    with op.batch_alter_table('skips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skips_item_id_labeller_id'), ['item_id', 'labeller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skips_project_id_labeller_id'), ['project_id', 'labeller_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('priority', sa.Double(), server_default=sa.text('0'), nullable=False),
    sa.Column('started', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('done', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('labeller_id', sa.Integer(), nullable=True),
    sa.Column('leased_at', sa.Double(), nullable=True),
    sa.Column('lease_expires_at', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_tasks_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['labeller_id'], ['labellers.id'], name=op.f('fk_tasks_labeller_id_labellers')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_tasks_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_claim', ['project_id', sa.literal_column('started DESC'), sa.literal_column('priority DESC'), 'id', 'item_id'], unique=False, postgresql_where=sa.text('NOT done'), sqlite_where=sa.text('done = 0'))
        batch_op.create_index(batch_op.f('ix_tasks_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_tasks_lease', ['project_id', 'labeller_id'], unique=False, postgresql_where=sa.text('lease_expires_at IS NOT NULL'), sqlite_where=sa.text('lease_expires_at IS NOT NULL'))
        batch_op.create_index('uq_tasks_labeller_item', ['item_id', 'labeller_id'], unique=True, postgresql_where=sa.text('labeller_id IS NOT NULL'), sqlite_where=sa.text('labeller_id IS NOT NULL'))



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_tasks_labeller_item', postgresql_where=sa.text('labeller_id IS NOT NULL'), sqlite_where=sa.text('labeller_id IS NOT NULL'))
        batch_op.drop_index('ix_tasks_lease', postgresql_where=sa.text('lease_expires_at IS NOT NULL'), sqlite_where=sa.text('lease_expires_at IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_tasks_item_id'))
        batch_op.drop_index('ix_tasks_claim', postgresql_where=sa.text('NOT done'), sqlite_where=sa.text('done = 0'))

    op.drop_table('tasks')
    with op.batch_alter_table('skips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skips_project_id_labeller_id'))
        batch_op.drop_index(batch_op.f('ix_skips_item_id_labeller_id'))

    op.drop_table('skips')
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index('uq_annotations_current', postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current = 1'))
        batch_op.drop_index(batch_op.f('ix_annotations_project_id_labeller_id_id'))
        batch_op.drop_index(batch_op.f('ix_annotations_project_id_created_at'))

    op.drop_table('annotations')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_items_project_id_id'))

    op.drop_table('items')
    op.drop_table('projects')
    op.drop_table('labellers')
