from django.db import migrations


class Migration(migrations.Migration):
    """Project and Item move to labeling: rename their tables, keep every row.

    Only the database changes here; labeling 0003 takes the models into its state and
    marketplace 0003 drops them from this app's state.
    """

    dependencies = [
        ('marketplace', '0001_initial'),
        ('labeling', '0002_assignment_frontier_idx'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name='project', table='labeling_project'),
                migrations.AlterModelTable(name='item', table='labeling_item'),
            ],
        ),
    ]
