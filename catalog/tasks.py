from celery import shared_task

from catalog import services


@shared_task
def run_product_import(import_id: int) -> str:
    """Import a large product feed stored in ``ProductImport`` ``import_id``.
    Idempotent (see :func:`catalog.services.run_product_import`): safe to redeliver.
    An unexpected error marks the import failed (nothing was saved) and is re-raised,
    so it is logged as the bug it is."""
    try:
        job = services.run_product_import(import_id=import_id)
    except Exception:
        services.fail_product_import(import_id=import_id)
        raise
    return job.status if job else "missing"
