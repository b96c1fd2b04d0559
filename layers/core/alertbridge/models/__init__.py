"""Data contracts: the canonical alert (published on the bus, ``models.alert``) and its shared parts
(``models.parts``), and the records kept in DynamoDB. Nothing is imported here: a function loads
the models it uses, no more."""
