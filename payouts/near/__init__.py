"""NEAR plumbing for payouts: keys and signing, borsh decoding, a JSON-RPC client, a localnet.

Nothing here touches Django; the modules can be used (and are tested) without settings.
"""
