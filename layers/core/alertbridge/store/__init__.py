"""AWS adapters: the only modules that talk to DynamoDB, S3 and EventBridge.

- ``table``       the item codec, pagination and cursors every table adapter shares
- ``sources``     services and alert sources (webhook tokens: hashed, cached per warm Lambda)
- ``deliveries``  raw deliveries with their outcomes (zlib bodies; S3 past the item budget)
- ``incidents``   incident episodes, written with optimistic concurrency
- ``bus``         publishing canonical alerts to EventBridge

One DynamoDB table holds everything. Its keys, indexes and access patterns are written down once,
in docs/data-model.md (a test keeps that table and the code's key builders in agreement).
"""
