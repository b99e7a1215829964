from django.db import migrations


class Migration(migrations.Migration):
    """Project and Item now belong to labeling (see marketplace 0002, labeling 0003)."""

    dependencies = [
        ('marketplace', '0002_tables_to_labeling'),
        ('labeling', '0003_project_item_from_marketplace'),
    ]

    state_operations = [
        migrations.RemoveField(
            model_name='project',
            name='owner',
        ),
        migrations.DeleteModel(
            name='Item',
        ),
        migrations.DeleteModel(
            name='Project',
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
