from django.db import migrations, models
from django.db.models import Q
from django.utils import timezone


def due_now_where_scheduled(apps, schema_editor):
    """An ``email_scheduled`` flag may be one whose task was lost (a killed worker, a
    Redis restart): make it due now, and the first sweep sends it (or finds nothing
    unread and clears it)."""
    Participant = apps.get_model("chats", "Participant")
    Participant.objects.filter(email_scheduled=True).update(email_due_at=timezone.now())


def scheduled_where_due(apps, schema_editor):
    Participant = apps.get_model("chats", "Participant")
    Participant.objects.filter(email_due_at__isnull=False).update(email_scheduled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0004_marketing_consent"),
    ]

    operations = [
        migrations.AddField(
            model_name="participant",
            name="email_due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="participant",
            name="email_attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunPython(due_now_where_scheduled, scheduled_where_due),
        migrations.RemoveField(
            model_name="participant",
            name="email_scheduled",
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(
                condition=Q(email_due_at__isnull=False),
                fields=["email_due_at"],
                name="participant_email_due",
            ),
        ),
    ]
