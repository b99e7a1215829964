"""Nearlabel's own local NEAR-like chain: a JSON-RPC node speaking nearcore's wire format.

It is NOT NEAR and runs no NEAR code: it is a small state machine (accounts, access keys,
nonces, transfers, gas) that answers the JSON-RPC methods a payout system uses with nearcore's
request/response and error shapes, so code written against it works against a real node.
Its chain id is ``nearlabel-localnet`` and it says so when it starts. A test passing against
it proves only that the code and this model agree; each module names the nearcore source of
what it models.

Modules, each readable top to bottom:

- ``state``: accounts, applied transactions, blocks, the snapshot and journal;
- ``execution``: validation in nearcore's order, applying a transfer, outcome records,
  status levels;
- ``errors``: nearcore's JSON-RPC error objects; ``params``: parsing a method's params;
- ``views``: the read-only answers (status, block, query, sandbox inspection);
- ``faults``: the injectable faults;
- ``node``: ``LocalNet``, the dispatch, ``send_tx`` and ``tx_status_fetch``'s waiting;
- ``server``: HTTP, ``LocalNetServer``, ``localnet_serve``, ``localnet_run``, ``main``.

As nearcore: ``tx``/``EXPERIMENTAL_tx_status`` and the waiting sends poll until the
transaction meets ``wait_until`` and answer TIMEOUT_ERROR after the polling timeout (10 s by
default), also for a hash never seen; only ``wait_until`` NONE answers UNKNOWN_TRANSACTION
at once; every answer carries ``final_execution_status``, the level actually reached.

Unlike nearcore:

- One node, one shard, no consensus. The head moves with each change (a transaction, a
  faucet grant, a key, ``sandbox_fast_forward``) and, while a call waits for a known
  transaction to reach a higher level, by one empty block every ``block_interval`` seconds;
  nearcore produces a block about every 600 ms whatever happens. The final block is
  ``sandbox_set_finality``'s ``blocks`` behind the head (0 by default: final at once; NEAR's
  is about 2 behind); ``produce_empty_blocks: false`` holds the head still.
- A valid transaction is included at once, and its receipt executes in the same block, so
  it is EXECUTED_OPTIMISTIC until that block is final and FINAL after; INCLUDED,
  INCLUDED_FINAL and EXECUTED never occur. There is no mempool: a transaction is included
  or, under the ``lost_broadcast`` fault, never.
- A waiting call wakes at every new block rather than polling every 500 ms. TIMEOUT_ERROR
  has no ``info`` (the newest nearcore adds ``info.cause``: NOT_OBSERVED, PENDING, ...).
- ``tx`` finds a transaction by hash (this node tracks the one shard); the
  ``shard_not_tracked`` fault plays a node that does not. Transactions are never garbage
  collected: an old hash stays findable, as on an archival node.
- Fixed gas price (10**8 yocto per gas) with nearcore's transfer fees; only Transfer
  actions (others are a request error); a query answers with the head's state whatever
  block it names; blocks older than the last 1000 are UNKNOWN_BLOCK; no JSON-RPC batches.

State lives in a JSON snapshot plus an fsynced journal (``state``). Admin (``sandbox_*``)
methods fund accounts, add keys, fast-forward the head, set finality and inject faults
(``faults``) to exercise a payout system's recovery.
"""

from payouts.near.localnet.errors import RpcFailure
from payouts.near.localnet.execution import GAS_PRICE
from payouts.near.localnet.faults import FAULTS, SEND_METHODS
from payouts.near.localnet.node import (
    DEFAULT_BLOCK_INTERVAL,
    DEFAULT_POLLING_TIMEOUT,
    LocalNet,
    RpcReply,
)
from payouts.near.localnet.server import LocalNetServer, localnet_run, localnet_serve, main
from payouts.near.localnet.state import (
    CHAIN_ID,
    DEFAULT_VALIDITY_PERIOD,
    LocalNetStateError,
)

__all__ = [
    "CHAIN_ID",
    "DEFAULT_BLOCK_INTERVAL",
    "DEFAULT_POLLING_TIMEOUT",
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
