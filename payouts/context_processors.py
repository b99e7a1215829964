from django.conf import settings
from django.http import HttpRequest


def chain(request: HttpRequest) -> dict[str, object]:
    """Every page says which chain it pays on, and loudly when it is not NEAR; the
    in-browser wallet reads the network and the RPC it talks to from the page."""
    return {
        "near_is_localnet": settings.NEAR_IS_LOCALNET,
        "near_platform_account": settings.NEAR_ACCOUNT_ID,
        "near_network_id": settings.NEAR_NETWORK_ID,
        "near_rpc_url": settings.NEAR_RPC_URL,
    }
