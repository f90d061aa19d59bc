"""Shared layer package of the sevDesk integration: settings, observability, API plumbing,
the DynamoDB repository, the sevDesk client and the services the Lambda handlers call."""
