"""The offline model's rules, one module per concern; `engine.decide` applies them in order.

Kept apart from `asdrp.models.offline` (the SDK `Model` adapter) so each rule can be read and
tested as plain functions over plain data.
"""
