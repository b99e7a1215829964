# near-api-py 0.1.0 ships no types: these cover what payouts.near.keys uses of it.

from near_api.signer import Signer

class Action: ...

def create_transfer_action(amount: int) -> Action: ...  # amount in yoctoNEAR
def sign_and_serialize_transaction(
    receiverId: str,
    nonce: int,
    actions: list[Action],
    blockHash: bytes,
    signer: Signer,
) -> bytes: ...  # the Borsh-serialized SignedTransaction
