"""Label versions: a named, frozen set of final labels, stored as rows valid from one version until another.

Revision ID: 0007_label_versions
Revises: 0006_item_problems
"""

from alembic import op
import sqlalchemy as sa


revision = '0007_label_versions'
down_revision = '0006_item_problems'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('label_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.Column('n_items', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['labellers.id'], name=op.f('fk_label_versions_created_by_labellers')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_label_versions_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_versions'))
    )
    with op.batch_alter_table('label_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_versions_project_id_name'), ['project_id', 'name'], unique=True)

    op.create_table('version_labels',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=True),
    sa.Column('from_version', sa.Integer(), nullable=False),
    sa.Column('until_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['from_version'], ['label_versions.id'], name=op.f('fk_version_labels_from_version_label_versions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_version_labels_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_version_labels_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_version_labels'))
    )
    with op.batch_alter_table('version_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_version_labels_from_version'), ['from_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_version_labels_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_version_labels_project_id_until_version'), ['project_id', 'until_version'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('version_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_version_labels_project_id_until_version'))
        batch_op.drop_index(batch_op.f('ix_version_labels_item_id'))
        batch_op.drop_index(batch_op.f('ix_version_labels_from_version'))

    op.drop_table('version_labels')
    with op.batch_alter_table('label_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_versions_project_id_name'))

    op.drop_table('label_versions')
