"""nearcore's JSON-RPC error objects, as the local chain answers them.

nearcore serialises an ``RpcError`` as ``{"name", "cause": {"name", "info"}, "code", "message",
"data"}`` (chain/jsonrpc-primitives/src/errors.rs, ``RpcError::new_internal_or_handler_error``
and ``RpcError::parse_error``): ``name`` is the kind (REQUEST_VALIDATION_ERROR, HANDLER_ERROR,
INTERNAL_ERROR), ``cause`` the variant of the method's own error enum with its fields as
``info``, ``data`` the legacy free-form detail. The HTTP status follows the kind, as in the
error table of NEAR's RPC documentation: request validation 400, TIMEOUT_ERROR 408, internal
500, every other handler error 200.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

HTTP_OK = 200
HTTP_BAD_REQUEST = 400
HTTP_NOT_FOUND = 404
HTTP_REQUEST_TIMEOUT = 408
HTTP_LENGTH_REQUIRED = 411
HTTP_INTERNAL_ERROR = 500


class ErrorCause(TypedDict):
    name: str
    info: NotRequired[dict[str, Any]]


class ErrorObject(TypedDict):
    """The ``error`` member of a JSON-RPC answer, in nearcore's structured form."""

    name: str
    cause: ErrorCause
    code: int
    message: str
    data: Any


class RpcFailure(Exception):
    """An RPC answered with a JSON-RPC error object (nearcore's shape)."""

    def __init__(self, error: ErrorObject, *, http_status: int = HTTP_OK) -> None:
        super().__init__(error["cause"]["name"])
        self.error = error
        self.http_status = http_status


def handler_error(cause_name: str, info: dict[str, Any] | None, data: Any) -> RpcFailure:
    """A HANDLER_ERROR: the method ran and refused (unknown account, block, ...)."""
    cause: ErrorCause = {"name": cause_name}
    if info is not None:
        cause["info"] = info
    return RpcFailure(
        {
            "name": "HANDLER_ERROR",
            "cause": cause,
            "code": -32000,
            "message": "Server error",
            "data": data,
        }
    )


def parse_error(message: str) -> RpcFailure:
    """REQUEST_VALIDATION_ERROR / PARSE_ERROR: the params did not parse (``RpcParseError``)."""
    return RpcFailure(
        {
            "name": "REQUEST_VALIDATION_ERROR",
            "cause": {"name": "PARSE_ERROR", "info": {"error_message": message}},
            "code": -32700,
            "message": "Parse error",
            "data": message,
        },
        http_status=HTTP_BAD_REQUEST,
    )


def method_not_found(method: str) -> RpcFailure:
    return RpcFailure(
        {
            "name": "REQUEST_VALIDATION_ERROR",
            "cause": {"name": "METHOD_NOT_FOUND", "info": {"method_name": method}},
            "code": -32601,
            "message": "Method not found",
            "data": method,
        },
        http_status=HTTP_BAD_REQUEST,
    )


def invalid_tx(invalid: Any) -> RpcFailure:
    """INVALID_TRANSACTION: refused by validation; nothing of it was applied.

    chain/jsonrpc-primitives/src/types/transactions.rs: ``RpcTransactionError::
    InvalidTransaction`` skips its ``context`` when serialised, so ``cause.info`` is ``{}``,
    and ``From<RpcTransactionError> for RpcError`` puts the InvalidTxError into ``data`` as
    ``{"TxExecutionError": {"InvalidTxError": ...}}``. Unit variants are bare strings.
    """
    return RpcFailure(
        {
            "name": "HANDLER_ERROR",
            "cause": {"name": "INVALID_TRANSACTION", "info": {}},
            "code": -32000,
            "message": "Server error",
            "data": {"TxExecutionError": {"InvalidTxError": invalid}},
        }
    )


def unknown_transaction(tx_hash: str) -> RpcFailure:
    """UNKNOWN_TRANSACTION: the node has no record of the hash (``TxStatusError::
    MissingTransaction`` in chain/client/src/view_client_actor.rs ``get_tx_status``)."""
    return handler_error(
        "UNKNOWN_TRANSACTION",
        {"requested_transaction_hash": tx_hash},
        f"Transaction {tx_hash} doesn't exist",
    )


def timeout_error() -> RpcFailure:
    """TIMEOUT_ERROR: the node gave up waiting (``RpcTransactionError::TimeoutError``, a unit
    variant: no ``info``). The outcome is unknown to the caller."""
    return RpcFailure(
        {
            "name": "HANDLER_ERROR",
            "cause": {"name": "TIMEOUT_ERROR"},
            "code": -32000,
            "message": "Server error",
            "data": "Timeout",
        },
        http_status=HTTP_REQUEST_TIMEOUT,
    )


def internal_error(message: str) -> RpcFailure:
    return RpcFailure(
        {
            "name": "INTERNAL_ERROR",
            "cause": {"name": "INTERNAL_ERROR", "info": {"error_message": message}},
            "code": -32000,
            "message": "Server error",
            "data": message,
        },
        http_status=HTTP_INTERNAL_ERROR,
    )


def unknown_block(reference: int | str) -> RpcFailure:
    """UNKNOWN_BLOCK with the legacy ``data`` text of chain/jsonrpc/src/lib.rs
    ``process_query_response`` (by height or by hash)."""
    if isinstance(reference, int):
        data = f"DB Not Found Error: BLOCK HEIGHT: {reference} \n Cause: Unknown"
    else:
        data = f"DB Not Found Error: BLOCK HEADER: {reference}"
    return handler_error("UNKNOWN_BLOCK", {}, data)


def unknown_account(account_id: str, *, block_height: int, block_hash: str) -> RpcFailure:
    """UNKNOWN_ACCOUNT of a query (chain/jsonrpc-primitives/src/types/query.rs
    ``RpcQueryError::UnknownAccount``)."""
    return handler_error(
        "UNKNOWN_ACCOUNT",
        {
            "requested_account_id": account_id,
            "block_height": block_height,
            "block_hash": block_hash,
        },
        f"account {account_id} does not exist while viewing",
    )
