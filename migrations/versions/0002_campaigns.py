"""campaigns: forms, scales, campaigns, subjects, categories, rules, ballot tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:48:19.606473

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # people(tenant_id, id) must be unique before subjects can reference it
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_people_tenant_id_id'), ['tenant_id', 'id'])

    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=50), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('weighting', sa.Boolean(), nullable=False),
    sa.Column('publication_scope', sa.String(length=12), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_campaigns_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_campaigns_tenant_id_id'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaigns_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('forms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('subject_kind', sa.String(length=10), nullable=False),
    sa.Column('template_key', sa.String(length=50), nullable=True),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_forms_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forms')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_forms_tenant_id_id'))
    )
    with op.batch_alter_table('forms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forms_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_forms_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('evaluator_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('weight', sa.String(length=20), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('group_unit_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_evaluator_categories_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'group_unit_id'], ['units.tenant_id', 'units.id'], name=op.f('fk_evaluator_categories_tenant_id_group_unit_id_units')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_evaluator_categories_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluator_categories')),
    sa.UniqueConstraint('campaign_id', 'name', name=op.f('uq_evaluator_categories_campaign_id_name')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_evaluator_categories_tenant_id_id'))
    )
    with op.batch_alter_table('evaluator_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluator_categories_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluator_categories_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('form_sections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'form_id'], ['forms.tenant_id', 'forms.id'], name=op.f('fk_form_sections_tenant_id_form_id_forms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_form_sections_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_sections')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_form_sections_tenant_id_id'))
    )
    with op.batch_alter_table('form_sections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_sections_form_id'), ['form_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_sections_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=30), nullable=False),
    sa.Column('op', sa.String(length=2), nullable=False),
    sa.Column('threshold', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=100), nullable=False),
    sa.Column('applies_to', sa.String(length=10), nullable=False),
    sa.Column('group', sa.String(length=30), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_rules_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rules_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rules')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_rules_tenant_id_id'))
    )
    with op.batch_alter_table('rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rules_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rules_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('scales',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'form_id'], ['forms.tenant_id', 'forms.id'], name=op.f('fk_scales_tenant_id_form_id_forms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scales_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scales')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_scales_tenant_id_id'))
    )
    with op.batch_alter_table('scales', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scales_form_id'), ['form_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scales_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ballot_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_ballot_tokens_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'category_id'], ['evaluator_categories.tenant_id', 'evaluator_categories.id'], name=op.f('fk_ballot_tokens_tenant_id_category_id_evaluator_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['units.tenant_id', 'units.id'], name=op.f('fk_ballot_tokens_tenant_id_unit_id_units')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ballot_tokens_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_tokens')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_ballot_tokens_secret_hash')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_ballot_tokens_tenant_id_id'))
    )
    with op.batch_alter_table('ballot_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_tokens_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_tokens_campaign_unit', ['campaign_id', 'unit_id'], unique=False)

    op.create_table('form_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('scale_id', sa.Integer(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('max_length', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'form_id'], ['forms.tenant_id', 'forms.id'], name=op.f('fk_form_items_tenant_id_form_id_forms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'scale_id'], ['scales.tenant_id', 'scales.id'], name=op.f('fk_form_items_tenant_id_scale_id_scales')),
    sa.ForeignKeyConstraint(['tenant_id', 'section_id'], ['form_sections.tenant_id', 'form_sections.id'], name=op.f('fk_form_items_tenant_id_section_id_form_sections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_form_items_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_items')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_form_items_tenant_id_id'))
    )
    with op.batch_alter_table('form_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_items_form_id'), ['form_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_items_section_id'), ['section_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_items_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('scale_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scale_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=30), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('counts_as_satisfied', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'scale_id'], ['scales.tenant_id', 'scales.id'], name=op.f('fk_scale_choices_tenant_id_scale_id_scales'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scale_choices_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scale_choices')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_scale_choices_tenant_id_id'))
    )
    with op.batch_alter_table('scale_choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scale_choices_scale_id'), ['scale_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scale_choices_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'campaign_id'], ['campaigns.tenant_id', 'campaigns.id'], name=op.f('fk_subjects_tenant_id_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'form_id'], ['forms.tenant_id', 'forms.id'], name=op.f('fk_subjects_tenant_id_form_id_forms')),
    sa.ForeignKeyConstraint(['tenant_id', 'person_id'], ['people.tenant_id', 'people.id'], name=op.f('fk_subjects_tenant_id_person_id_people')),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['units.tenant_id', 'units.id'], name=op.f('fk_subjects_tenant_id_unit_id_units')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_subjects_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subjects')),
    sa.UniqueConstraint('campaign_id', 'kind', 'unit_id', 'person_id', name=op.f('uq_subjects_campaign_id_kind_unit_id_person_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_subjects_tenant_id_id'))
    )
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.create_index('ix_subjects_campaign_unit', ['campaign_id', 'unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subjects_tenant_id'), ['tenant_id'], unique=False)


    # ### end Alembic commands ###


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_people_tenant_id_id'), type_='unique')

    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subjects_tenant_id'))
        batch_op.drop_index('ix_subjects_campaign_unit')

    op.drop_table('subjects')
    with op.batch_alter_table('scale_choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scale_choices_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_scale_choices_scale_id'))

    op.drop_table('scale_choices')
    with op.batch_alter_table('form_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_items_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_form_items_section_id'))
        batch_op.drop_index(batch_op.f('ix_form_items_form_id'))

    op.drop_table('form_items')
    with op.batch_alter_table('ballot_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_tokens_campaign_unit')
        batch_op.drop_index(batch_op.f('ix_ballot_tokens_tenant_id'))

    op.drop_table('ballot_tokens')
    with op.batch_alter_table('scales', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scales_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_scales_form_id'))

    op.drop_table('scales')
    with op.batch_alter_table('rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rules_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_rules_campaign_id'))

    op.drop_table('rules')
    with op.batch_alter_table('form_sections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_sections_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_form_sections_form_id'))

    op.drop_table('form_sections')
    with op.batch_alter_table('evaluator_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluator_categories_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_evaluator_categories_campaign_id'))

    op.drop_table('evaluator_categories')
    with op.batch_alter_table('forms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forms_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_forms_family_id'))

    op.drop_table('forms')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_campaigns_state'))

    op.drop_table('campaigns')
    # ### end Alembic commands ###
