"""Sentence embeddings: one stored vector per item, text column and model, claimed first by the worker
computing it so that several workers split the work.

Revision ID: 0004_embeddings
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_embeddings'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('embeddings',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feature', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=True),
    sa.Column('vector', sa.LargeBinary(), nullable=True),
    sa.Column('holder', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_embeddings_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_embeddings_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'feature', 'model', name=op.f('pk_embeddings'))
    )
    with op.batch_alter_table('embeddings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_embeddings_project_id_feature_model'), ['project_id', 'feature', 'model'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('embeddings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_embeddings_project_id_feature_model'))

    op.drop_table('embeddings')
