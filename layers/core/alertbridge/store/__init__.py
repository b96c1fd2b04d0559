"""AWS adapters: the only modules that talk to DynamoDB, S3 and EventBridge.

One DynamoDB table holds everything (see docs/data-model.md for keys and access patterns):

| item              | PK                  | SK          | GSI1 (PK / SK)                    | GSI2 (PK / SK)          |
|-------------------|---------------------|-------------|-----------------------------------|-------------------------|
| service           | SVC#<id>            | SVC         | SVCS / <name>#<id>                |                         |
| alert source      | SRC#<id>            | SRC         | SVC#<sid>#SRC / <created>#<id>    | TOKEN#<sha256> / SRC    |
| delivery          | DLV#<id>            | DLV         | SRC#<src>#DLV / <received>#<id>   |                         |
| incident episode  | <key id>            | EP#<seq>    | SVC#<sid>#INC / <opened>#<id>     | SVC#<sid>#OPEN (open)   |
"""
