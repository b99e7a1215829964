"""``python -m payouts.near.localnet``: serve the local chain in the foreground."""

from payouts.near.localnet.server import main

main()
