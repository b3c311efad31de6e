# The company becomes required once 0006 has filled it in; numbers are unique per company, and the
# prefixes now live on the company.

import billing.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0006_companies_fill'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='invoice',
            name='invoice_number_unique_per_kind',
        ),
        migrations.RemoveField(
            model_name='documentsequence',
            name='prefix',
        ),
        migrations.AlterField(
            model_name='documentsequence',
            name='kind',
            field=models.CharField(choices=[('invoice', 'Invoice'), ('credit_note', 'Credit note')], max_length=20),
        ),
        migrations.AlterField(
            model_name='taxrate',
            name='name',
            field=models.CharField(max_length=100),
        ),
        migrations.AlterField(
            model_name='documentsequence',
            name='company',
            field=models.ForeignKey(default=billing.models.default_company_id, on_delete=django.db.models.deletion.CASCADE, related_name='sequences', to='billing.company'),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='company',
            field=models.ForeignKey(help_text='The company that issues it, in its own accounting organisation.', on_delete=django.db.models.deletion.PROTECT, related_name='invoices', to='billing.company'),
        ),
        migrations.AlterField(
            model_name='taxrate',
            name='company',
            field=models.ForeignKey(default=billing.models.default_company_id, on_delete=django.db.models.deletion.PROTECT, related_name='tax_rates', to='billing.company'),
        ),
        migrations.AddConstraint(
            model_name='documentsequence',
            constraint=models.UniqueConstraint(fields=('company', 'kind'), name='document_sequence_per_company'),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.UniqueConstraint(fields=('company', 'kind', 'number'), name='invoice_number_unique_per_company'),
        ),
        migrations.AddConstraint(
            model_name='taxrate',
            constraint=models.UniqueConstraint(fields=('company', 'name'), name='tax_rate_name_unique_per_company', violation_error_message='The company already has a tax rate of this name.'),
        ),
    ]
