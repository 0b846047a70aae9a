"""How far to trust the model: the honest score's random picks, calibration and stopping figures per run,
the stop set's latest predictions, and likely label errors.

Revision ID: 0005_run_evaluation
Revises: 0004_embeddings
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_run_evaluation'
down_revision = '0004_embeddings'
branch_labels = None
depends_on = None

ITEM_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
RUN_FIGURES = [
    ('honest_accuracy', sa.Double()),
    ('honest_low', sa.Double()),
    ('honest_high', sa.Double()),
    ('honest_n', sa.Integer()),
    ('progressive_accuracy', sa.Double()),
    ('progressive_low', sa.Double()),
    ('progressive_high', sa.Double()),
    ('progressive_n', sa.Integer()),
    ('ece', sa.Double()),
    ('ece_uncalibrated', sa.Double()),
    ('temperature', sa.Double()),
    ('stability_kappa', sa.Double()),
]


def _item_table(name: str, *columns: sa.Column) -> None:
    """A table keyed by item, with its project, and an index on (project_id, `index`)."""
    op.create_table(name,
    sa.Column('item_id', ITEM_ID, nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    *columns,
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f(f'fk_{name}_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f(f'fk_{name}_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', name=op.f(f'pk_{name}'))
    )


def upgrade() -> None:
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        for name, kind in RUN_FIGURES:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('random_pick', sa.Boolean(), server_default=sa.text('false'), nullable=False))

    _item_table('random_picks',
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('probability', sa.Double(), nullable=True))
    _item_table('stop_predictions',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False))
    _item_table('label_issues',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('given', sa.Text(), nullable=False),
    sa.Column('alternative', sa.Text(), nullable=False),
    sa.Column('given_probability', sa.Double(), nullable=False),
    sa.Column('alternative_probability', sa.Double(), nullable=False))
    for name in ('random_picks', 'stop_predictions'):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{name}_project_id_item_id'), ['project_id', 'item_id'], unique=False)
    with op.batch_alter_table('label_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_issues_project_id_rank'), ['project_id', 'rank'], unique=False)


def downgrade() -> None:
    for name in ('label_issues', 'stop_predictions', 'random_picks'):
        op.drop_table(name)
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_column('random_pick')
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        for name, _ in reversed(RUN_FIGURES):
            batch_op.drop_column(name)
