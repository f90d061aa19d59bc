"""Pydantic models: `api` for what routes accept and return, `records` for DynamoDB items."""
