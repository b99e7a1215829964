from django.conf import settings
from django.http import HttpRequest


def chain(request: HttpRequest) -> dict[str, object]:
    """Every page says which chain it pays on, and loudly when it is not NEAR."""
    return {
        "near_is_localnet": settings.NEAR_IS_LOCALNET,
        "near_platform_account": settings.NEAR_ACCOUNT_ID,
    }
