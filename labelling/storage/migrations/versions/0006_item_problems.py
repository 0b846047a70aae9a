"""Item problems: labellers' reports and the worker's unreadable images, for reviewers and admins to resolve.

Revision ID: 0006_item_problems
Revises: 0005_run_evaluation
"""

from alembic import op
import sqlalchemy as sa


revision = '0006_item_problems'
down_revision = '0005_run_evaluation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('item_problems',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), server_default='', nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.Column('resolution', sa.String(length=20), nullable=True),
    sa.Column('resolver_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_problems_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_item_problems_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reporter_id'], ['labellers.id'], name=op.f('fk_item_problems_reporter_id_labellers')),
    sa.ForeignKeyConstraint(['resolver_id'], ['labellers.id'], name=op.f('fk_item_problems_resolver_id_labellers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_problems'))
    )
    with op.batch_alter_table('item_problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_problems_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_problems_project_id_item_id'), ['project_id', 'item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('item_problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_problems_project_id_item_id'))
        batch_op.drop_index(batch_op.f('ix_item_problems_item_id'))

    op.drop_table('item_problems')
