"""alertbridge runtime: the code every Lambda loads from the core layer.

- ``models``     the canonical alert (the bus contract) and the stored records
- ``sources``    one mapping module per vendor: raw delivery -> canonical alert drafts
- ``ingest``     the webhook path: token, raw delivery, mapping, publish
- ``incidents``  pure incident decisions (dedup, open, append, resolve, ordering)
- ``store``      the AWS adapters: DynamoDB table, raw bodies, EventBridge
"""
