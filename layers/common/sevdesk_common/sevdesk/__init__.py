"""The typed sevDesk client: errors, wire models, request bodies, the HTTP core and the calls.

Import from the submodules (`sevdesk_common.sevdesk.client`, `.errors`, `.models`, ...): a route
that only needs an error class must not import httpx and tenacity with the client. The client
is put together (token, budget, pooling) in `sevdesk_common.clients`.
"""
