"""Nearlabel's own local NEAR-like chain: a JSON-RPC node speaking nearcore's wire format.

It is NOT NEAR and runs no NEAR code: it is a small state machine (accounts, access keys,
nonces, transfers, gas) that answers the JSON-RPC methods a payout system uses with nearcore's
request/response and error shapes, so code written against it works against a real node.
Its chain id is ``nearlabel-localnet`` and it says so when it starts.

Model:

- Every applied change (transaction, faucet, key, fast-forward) produces one block; ``block``
  returns the latest. Block hashes are ``base58(sha256(chain seed || height))``.
- A transaction's ``block_hash`` must name one of the last ``transaction_validity_period``
  blocks, else InvalidTxError ``Expired`` (an unknown hash is ``Expired`` too, as in nearcore).
- Transfers are applied at once (transaction and receipt in the same block) and reported as
  FINAL. Gas is charged with nearcore's fees at a fixed gas price of 10**8 yocto per gas.
- State lives in a JSON snapshot (written atomically: temp file + fsync + os.replace) plus an
  append-only journal (one JSON line per applied change, fsynced) that is folded into the
  snapshot every ``compact_every`` changes and at start/close. A restart replays the journal.
- Only Transfer actions are executed; other actions are refused as a request error.

Admin (``sandbox_*``) methods fund accounts, add keys, fast-forward the head height and inject
faults (lost responses, timeouts, HTTP 500, refusals) to exercise a payout system's recovery.

Modules, each readable top to bottom:

- ``state``: accounts, applied transactions, blocks, the snapshot and journal;
- ``execution``: validation in nearcore's order, applying a transfer, outcome records, status;
- ``errors``: nearcore's JSON-RPC error objects; ``params``: parsing a method's params;
- ``views``: the read-only answers (status, block, query, sandbox inspection);
- ``faults``: the injectable faults; ``node``: ``LocalNet``, the JSON-RPC dispatch;
- ``server``: HTTP, ``LocalNetServer``, ``localnet_serve``, ``localnet_run``, ``main``.
"""

from payouts.near.localnet.errors import RpcFailure
from payouts.near.localnet.execution import GAS_PRICE
from payouts.near.localnet.faults import FAULTS, SEND_METHODS
from payouts.near.localnet.node import LocalNet, RpcReply
from payouts.near.localnet.server import LocalNetServer, localnet_run, localnet_serve, main
from payouts.near.localnet.state import (
    CHAIN_ID,
    DEFAULT_VALIDITY_PERIOD,
    LocalNetStateError,
)

__all__ = [
    "CHAIN_ID",
    "DEFAULT_VALIDITY_PERIOD",
    "FAULTS",
    "GAS_PRICE",
    "SEND_METHODS",
    "LocalNet",
    "LocalNetServer",
    "LocalNetStateError",
    "RpcFailure",
    "RpcReply",
    "localnet_run",
    "localnet_serve",
    "main",
]
