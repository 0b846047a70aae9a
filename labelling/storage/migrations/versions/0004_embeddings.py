"""Sentence embeddings: one stored vector per item, text column and model, and the claims that let several
workers split their computation.

Revision ID: 0004_embeddings
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_embeddings'
down_revision = '0003'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _item_key_table(name: str, *columns: sa.Column) -> None:
    """A table keyed by (item, feature, model) that belongs to a project; both cascade on delete."""
    op.create_table(name,
    sa.Column('item_id', _ID, nullable=False),
    sa.Column('feature', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    *columns,
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f(f'fk_{name}_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f(f'fk_{name}_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'feature', 'model', name=op.f(f'pk_{name}'))
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_project_id_feature_model'), ['project_id', 'feature', 'model'], unique=False)


def upgrade() -> None:
    _item_key_table('embeddings',
        sa.Column('dim', sa.Integer(), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False))
    _item_key_table('embedding_claims',
        sa.Column('holder', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.Double(), nullable=False))


def downgrade() -> None:
    for name in ('embedding_claims', 'embeddings'):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{name}_project_id_feature_model'))
        op.drop_table(name)
