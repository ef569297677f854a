"""Inbound ledger webhooks: verify each ledger's signature, record the changed ids once per connection,
and hand them to a job on the `events` queue that calls `bridge.events.changes.apply_notices`.

One module per ledger (`quickbooks`, `xero`, `freshbooks`) parses and verifies; `common` records and
enqueues; `jobs` applies, sweeps up lost work and prunes; `callbacks` keeps FreshBooks' callbacks
registered and verified. The route is `bridge.api.webhooks` (`POST /webhooks/<provider>`).
"""
