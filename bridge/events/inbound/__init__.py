"""Inbound ledger webhooks: verify each ledger's signature, record the changed ids once per connection,
and wake the connection's job on the `events` queue, which reads every waiting row in batches through
`bridge.events.changes.apply_notices`.

One module per ledger (`quickbooks`, `xero`, `freshbooks`) parses and verifies; `common` records and
wakes; `jobs` applies, sweeps up lost work and prunes; `callbacks` keeps FreshBooks' callbacks
registered and verified. The route is `bridge.api.webhooks` (`POST /webhooks/<provider>`).
"""
