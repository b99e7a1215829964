from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Ledger and NEAR payouts"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from payouts.fields import sqlite_register_functions

        connection_created.connect(sqlite_register_functions, dispatch_uid="yocto-sqlite")
