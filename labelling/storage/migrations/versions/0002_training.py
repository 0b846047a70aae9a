"""Active learning: training runs, trainer leases (one training per project) and the latest predictions.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trainer_leases',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_trainer_leases_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_trainer_leases'))
    )
    op.create_table('training_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='queued', nullable=False),
    sa.Column('trigger', sa.String(length=20), server_default='request', nullable=False),
    sa.Column('requested_at', sa.Double(), nullable=False),
    sa.Column('started_at', sa.Double(), nullable=True),
    sa.Column('finished_at', sa.Double(), nullable=True),
    sa.Column('progress', sa.Double(), server_default=sa.text('0'), nullable=False),
    sa.Column('n_labels', sa.Integer(), nullable=True),
    sa.Column('strategy', sa.String(length=40), nullable=True),
    sa.Column('model', sa.Text(), nullable=True),
    sa.Column('scores', sa.Text(), nullable=True),
    sa.Column('label_counts', sa.Text(), nullable=True),
    sa.Column('duration', sa.Double(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_training_runs_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_runs'))
    )
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_runs_project_id_id'), ['project_id', 'id'], unique=False)
        batch_op.create_index('uq_training_runs_queued', ['project_id'], unique=True, postgresql_where=sa.text("status = 'queued'"), sqlite_where=sa.text("status = 'queued'"))

    op.create_table('predictions',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('probability', sa.Double(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_predictions_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_predictions_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_predictions'))
    )
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_predictions_project_id_item_id'), ['project_id', 'item_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_predictions_project_id_item_id'))

    op.drop_table('predictions')
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_training_runs_queued', postgresql_where=sa.text("status = 'queued'"), sqlite_where=sa.text("status = 'queued'"))
        batch_op.drop_index(batch_op.f('ix_training_runs_project_id_id'))

    op.drop_table('training_runs')
    op.drop_table('trainer_leases')
